/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The C API driven from C: a server and a client layer in one process, with
 * scripted sensor timestamps, over real multicast on the interface the
 * environment configures (tests/c_api.rs sets LIBCAMERA_SYNC_INTERFACE=127.0.0.1
 * and a port of its own).
 *
 *   api_test sync    server + client: SyncReady on the same frame, the
 *                    client's SyncAdjustment equals its scripted offset
 *   api_test panic   CAMSYNC_DEBUG_PANIC=request_completed: the panic is
 *                    caught, reported, and this process carries on
 *   api_test args    null and out-of-range arguments are rejected
 *   api_test log     a log sink gets every record (naming its camera), never
 *                    while a layer is locked (it calls back into both layers)
 *   api_test disabled  (run with a bad configuration) the controls are still
 *                    advertised; every other hook does nothing
 *   api_test stats   camsync_layer_stats is one instant: read on one thread
 *                    while another flips the mode, its mode and socket agree
 *   api_test threads one client layer, two threads as libcamera has them:
 *                    start/queue_request/stop on one, request_completed on
 *                    the other, while a server layer sends to it; every call
 *                    succeeds, every SyncAdjustment is within the camera's
 *                    limits, and both threads finish (no deadlock)
 *
 * Prints "PASS <mode>" and exits 0, or prints what failed and exits 1.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "camsync.h"

static int failures;

#define CHECK(cond, ...)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__,     \
				__LINE__, #cond);                         \
			fprintf(stderr, __VA_ARGS__);                     \
			fprintf(stderr, "\n");                            \
			failures++;                                       \
		}                                                         \
	} while (0)

#define CHECK_OK(call)                                                    \
	do {                                                              \
		camsync_result r_ = (call);                               \
		CHECK(r_ == CAMSYNC_RESULT_OK, "%s -> %u (%s)", #call,    \
		      (unsigned)r_, camsync_result_name(r_));             \
	} while (0)

static const int64_t FRAME_US = 33333;
static const int32_t READY_FRAME = 10;
/* The client's frames start this much after the server's. */
static const int64_t CLIENT_OFFSET_US = 5000;

static int64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A camera with SyncAdjustment (±half a frame) at a fixed rate. */
static const camsync_camera_controls CAMERA = {
	.has_sync_adjustment = true,
	.sync_adjustment_min_us = -16666,
	.sync_adjustment_max_us = 16666,
	.has_frame_duration_limits = true,
	.frame_duration_min_us = 33333,
	.frame_duration_max_us = 33333,
};

static camsync_layer *make_layer(const char *id, int32_t mode)
{
	camsync_layer *layer = NULL;
	CHECK_OK(camsync_layer_create(id, &layer));
	if (!layer)
		return NULL;

	camsync_added_controls added;
	CHECK_OK(camsync_layer_controls(layer, &CAMERA, &added));
	CHECK(added.supported, "camera with SyncAdjustment is supported");
	CHECK(added.count == 3, "3 controls added, got %u", added.count);
	CHECK(added.count > 0 && strcmp(added.controls[0].name, "rpi::SyncMode") == 0,
	      "first added control is rpi::SyncMode");
	CHECK(added.controls[0].num_values == 3, "SyncMode has 3 values");

	camsync_request_controls start = {
		.has_sync_mode = true,
		.sync_mode = mode,
		.has_sync_frames = mode == 1,
		.sync_frames = READY_FRAME,
		.has_frame_duration_limits = true,
		.frame_duration_limits_us = { FRAME_US, FRAME_US },
	};
	CHECK_OK(camsync_layer_start(layer, &start));

	camsync_stats st;
	CHECK_OK(camsync_layer_stats(layer, &st));
	CHECK(st.enabled, "layer enabled");
	CHECK(st.mode == mode, "mode %d", st.mode);
	CHECK(st.socket == (mode == 1 ? CAMSYNC_SOCKET_SENDER : CAMSYNC_SOCKET_RECEIVER),
	      "socket %u for mode %d", (unsigned)st.socket, mode);
	return layer;
}

static int mode_sync(void)
{
	camsync_layer *server = make_layer("server-cam", 1);
	camsync_layer *client = make_layer("client-cam", 2);
	if (!server || !client)
		return 1;

	const camsync_request_controls none = { 0 };
	const int64_t base = boottime_ns();
	int server_ready_at = -1, client_ready_at = -1;
	int32_t first_adjustment = 0;
	int adjustments = 0;

	for (int frame = 0; frame < 3 * READY_FRAME; frame++) {
		camsync_request_out q;
		CHECK_OK(camsync_layer_queue_request(server, &none, &q));
		CHECK(!q.has_sync_adjustment, "a server sets no SyncAdjustment");
		CHECK_OK(camsync_layer_queue_request(client, &none, &q));
		CHECK(q.has_sync_adjustment, "a client always sets SyncAdjustment");
		if (q.sync_adjustment_us != 0) {
			if (!adjustments)
				first_adjustment = q.sync_adjustment_us;
			adjustments++;
		}

		camsync_completion c = {
			.has_sensor_timestamp = true,
			.sensor_timestamp_ns = base + frame * FRAME_US * 1000,
		};
		camsync_metadata m;
		CHECK_OK(camsync_layer_request_completed(server, &c, &m));
		CHECK(m.has_frame_wall_clock && m.has_sync_ready && m.has_sync_timer,
		      "server metadata complete at frame %d", frame);
		if (m.sync_ready && server_ready_at < 0)
			server_ready_at = frame;

		/* Loopback delivery is immediate in practice; leave it a moment. */
		usleep(3000);

		c.sensor_timestamp_ns += CLIENT_OFFSET_US * 1000;
		CHECK_OK(camsync_layer_request_completed(client, &c, &m));
		CHECK(m.has_frame_wall_clock && m.has_sync_ready, "client metadata at frame %d",
		      frame);
		if (m.sync_ready && client_ready_at < 0)
			client_ready_at = frame;
	}

	/* A cancelled request is ignored: no metadata. */
	camsync_completion cancelled = { .cancelled = true, .has_sensor_timestamp = true,
					 .sensor_timestamp_ns = base };
	camsync_metadata m;
	CHECK_OK(camsync_layer_request_completed(server, &cancelled, &m));
	CHECK(!m.has_frame_wall_clock && !m.has_sync_ready, "cancelled request ignored");

	camsync_stats ss, cs;
	CHECK_OK(camsync_layer_stats(server, &ss));
	CHECK_OK(camsync_layer_stats(client, &cs));
	printf("server: frames %llu sent %llu ready at %d\n", (unsigned long long)ss.frames,
	       (unsigned long long)ss.packets_sent, server_ready_at);
	printf("client: frames %llu accepted %llu ready at %d first SyncAdjustment %d us (%d)\n",
	       (unsigned long long)cs.frames, (unsigned long long)cs.rx_accepted, client_ready_at,
	       first_adjustment, adjustments);

	CHECK(ss.packets_sent >= 3, "server sent %llu packets", (unsigned long long)ss.packets_sent);
	CHECK(cs.rx_rejected == cs.rx_wrong_length + cs.rx_truncated + cs.rx_frame_duration +
					cs.rx_timestamp + cs.rx_other_rate + cs.rx_clock_offset +
					cs.rx_ready_time + cs.rx_not_group + cs.rx_not_allowed +
					cs.rx_other_server + cs.rx_bad_magic + cs.rx_bad_mac +
					cs.rx_replayed + cs.rx_unauthenticated + cs.rx_no_key,
	      "rejected = the sum of its reasons");
	CHECK(cs.servers_followed == 1, "one server followed (%llu)",
	      (unsigned long long)cs.servers_followed);
	CHECK(cs.rx_accepted == ss.packets_sent, "client got every packet (%llu of %llu)",
	      (unsigned long long)cs.rx_accepted, (unsigned long long)ss.packets_sent);
	CHECK(server_ready_at == READY_FRAME, "server ready at frame %d", server_ready_at);
	/* This host's clock was read on the first frame with sync on. */
	printf("server: host clock state %u, estimated error %lld us, bound %.1f us, %llu warnings\n",
	       (unsigned)ss.clock_state, (long long)ss.clock_est_error_us, ss.clock_error_bound_us,
	       (unsigned long long)ss.clock_warnings);
	CHECK(ss.clock_state != CAMSYNC_CLOCK_STATE_UNKNOWN && ss.clock_est_error_us >= 0 &&
		      ss.clock_max_error_us >= 0 && ss.clock_error_bound_us > 0,
	      "the host clock's state in the stats");
	CHECK(ss.clock_warnings == (ss.clock_state == CAMSYNC_CLOCK_STATE_UNSYNCHRONISED ||
				    ss.clock_est_error_us > ss.clock_error_bound_us),
	      "one warning exactly when the clock is unfit");
	CHECK(client_ready_at == server_ready_at, "client ready at %d, server at %d",
	      client_ready_at, server_ready_at);
	/* The clocks are fitted separately per layer: allow a few µs. */
	CHECK(adjustments > 0 && llabs(first_adjustment - CLIENT_OFFSET_US) <= 10,
	      "SyncAdjustment %d us, expected %lld us", first_adjustment,
	      (long long)CLIENT_OFFSET_US);

	CHECK_OK(camsync_layer_stop(server));
	CHECK_OK(camsync_layer_stop(client));
	CHECK_OK(camsync_layer_stats(client, &cs));
	CHECK(cs.socket == CAMSYNC_SOCKET_NONE, "no socket after stop");

	camsync_layer_destroy(server);
	camsync_layer_destroy(client);
	return 0;
}

static int mode_panic(void)
{
	camsync_layer *a = make_layer("panicking-cam", 1);
	if (!a)
		return 1;
	camsync_completion c = { .has_sensor_timestamp = true, .sensor_timestamp_ns = boottime_ns() };
	camsync_metadata m;
	camsync_result r = camsync_layer_request_completed(a, &c, &m);
	CHECK(r == CAMSYNC_RESULT_PANIC, "injected panic reported, got %u", (unsigned)r);
	CHECK(!m.has_frame_wall_clock, "no metadata from a panicked call");
	r = camsync_layer_request_completed(a, &c, &m);
	CHECK(r == CAMSYNC_RESULT_DISABLED, "layer disabled after the panic, got %u", (unsigned)r);
	camsync_stats st;
	CHECK_OK(camsync_layer_stats(a, &st));
	CHECK(!st.enabled && st.socket == CAMSYNC_SOCKET_NONE, "disabled, socket closed");
	camsync_layer_destroy(a);
	printf("host survived: %s\n", camsync_result_name(r));
	return 0;
}

/* The layers the log sink calls back into. */
static camsync_layer *log_layers[2];
static int log_records, log_named, log_achieved;
static char log_last[512];

static void log_sink(void *user_data, camsync_log_level level, const char *target,
		     const char *message)
{
	CHECK(user_data == &log_records, "user data passed through");
	CHECK(level <= CAMSYNC_LOG_ERROR, "level %u", level);
	CHECK(strncmp(target, "camsync", 7) == 0, "target %s", target);
	log_records++;
	if (!strncmp(message, "server-cam: ", 12) || !strncmp(message, "client-cam: ", 12))
		log_named++;
	if (strstr(message, "client-cam: Sync achieved (client)"))
		log_achieved++;
	snprintf(log_last, sizeof(log_last), "%s", message);
	/* Were a layer's lock held here, this would deadlock (alarm() ends it). */
	camsync_stats st;
	for (int i = 0; i < 2; i++) {
		if (log_layers[i])
			camsync_layer_stats(log_layers[i], &st);
	}
}

static void other_sink(void *user_data, camsync_log_level level, const char *target,
		       const char *message)
{
	(void)user_data, (void)level, (void)target, (void)message;
}

static int mode_log(void)
{
	alarm(20);
	CHECK(camsync_set_log_sink(NULL, NULL, CAMSYNC_LOG_INFO) == CAMSYNC_RESULT_NULL_PARAMETER,
	      "null sink");
	CHECK(camsync_set_log_sink(log_sink, &log_records, 4) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "level 4");
	CHECK_OK(camsync_set_log_sink(log_sink, &log_records, CAMSYNC_LOG_DEBUG));
	CHECK_OK(camsync_set_log_sink(log_sink, &log_records, CAMSYNC_LOG_INFO));
	CHECK(camsync_set_log_sink(other_sink, NULL, CAMSYNC_LOG_INFO) ==
		      CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "once per process");

	log_layers[0] = make_layer("server-cam", 1);
	log_layers[1] = make_layer("client-cam", 2);
	if (!log_layers[0] || !log_layers[1])
		return 1;
	const camsync_request_controls none = { 0 };
	const int64_t base = boottime_ns();
	for (int frame = 0; frame < 3 * READY_FRAME; frame++) {
		for (int i = 0; i < 2; i++) {
			camsync_request_out q;
			CHECK_OK(camsync_layer_queue_request(log_layers[i], &none, &q));
			camsync_completion c = {
				.has_sensor_timestamp = true,
				.sensor_timestamp_ns = base + frame * FRAME_US * 1000 +
						       i * CLIENT_OFFSET_US * 1000,
			};
			camsync_metadata m;
			CHECK_OK(camsync_layer_request_completed(log_layers[i], &c, &m));
			usleep(1000);
		}
	}
	printf("log: %d records, %d naming a camera, last: %s\n", log_records, log_named,
	       log_last);
	CHECK(log_records > 0 && log_named == log_records, "every record names its camera");
	CHECK(log_achieved == 1, "the client's sync achieved, once (%d)", log_achieved);
	for (int i = 0; i < 2; i++) {
		camsync_layer_destroy(log_layers[i]);
		log_layers[i] = NULL;
	}
	return 0;
}

static int mode_disabled(void)
{
	camsync_layer *layer = NULL;
	CHECK_OK(camsync_layer_create("bad-config-cam", &layer));
	if (!layer)
		return 1;
	camsync_added_controls added;
	CHECK_OK(camsync_layer_controls(layer, &CAMERA, &added));
	CHECK(added.supported && added.count == 3, "the controls stay (%u)", added.count);
	camsync_request_controls start = { .has_sync_mode = true, .sync_mode = 1 };
	CHECK(camsync_layer_start(layer, &start) == CAMSYNC_RESULT_DISABLED, "start");
	camsync_request_out q;
	CHECK(camsync_layer_queue_request(layer, &start, &q) == CAMSYNC_RESULT_DISABLED &&
		      !q.has_sync_adjustment,
	      "queue");
	camsync_completion c = { .has_sensor_timestamp = true, .sensor_timestamp_ns = boottime_ns() };
	camsync_metadata m;
	CHECK(camsync_layer_request_completed(layer, &c, &m) == CAMSYNC_RESULT_DISABLED &&
		      !m.has_sync_ready && !m.has_frame_wall_clock,
	      "no metadata, so never SyncReady");
	camsync_stats st;
	CHECK_OK(camsync_layer_stats(layer, &st));
	CHECK(!st.enabled && st.socket == CAMSYNC_SOCKET_NONE, "disabled, no socket");
	camsync_layer_destroy(layer);
	return 0;
}

static int mode_args(void)
{
	camsync_layer *layer = NULL;
	CHECK(camsync_layer_create(NULL, &layer) == CAMSYNC_RESULT_NULL_PARAMETER, "null id");
	CHECK(camsync_layer_create("x", NULL) == CAMSYNC_RESULT_NULL_PARAMETER, "null out");
	/* A camera id that is not UTF-8 still gets a layer (and a warning). */
	CHECK_OK(camsync_layer_create("cam-\xff\xfe", &layer));
	CHECK(layer != NULL, "a layer for a non-UTF-8 id");
	camsync_layer_destroy(layer);
	layer = (camsync_layer *)&failures;
	CHECK(camsync_layer_create(NULL, &layer) == CAMSYNC_RESULT_NULL_PARAMETER, "null id");
	CHECK(layer == NULL, "no layer on error");
	camsync_layer_destroy(NULL);

	/* Any integer has a name: C may pass one that is no camsync_result. */
	CHECK(!strcmp(camsync_result_name(CAMSYNC_RESULT_OK), "ok"), "ok");
	CHECK(!strcmp(camsync_result_name(CAMSYNC_RESULT_DISABLED), "layer disabled for this camera"),
	      "disabled");
	const uint32_t strays[] = { 1, 42, 7962000, 7962005, UINT32_MAX };
	for (size_t i = 0; i < sizeof(strays) / sizeof(strays[0]); i++)
		CHECK(!strcmp(camsync_result_name((camsync_result)strays[i]), "unknown result"),
		      "%u: %s", strays[i], camsync_result_name((camsync_result)strays[i]));

	CHECK_OK(camsync_layer_create("args-cam", &layer));
	camsync_request_controls bad = { .has_sync_mode = true, .sync_mode = 3 };
	camsync_request_out q;
	CHECK(camsync_layer_queue_request(layer, &bad, &q) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "SyncMode 3");
	bad = (camsync_request_controls){ .has_sync_interface = true,
					  .sync_interface = "0123456789012345678901234567890123456789x",
					  .sync_interface_len = 41 };
	CHECK(camsync_layer_queue_request(layer, &bad, &q) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "SyncInterface too long");
	bad = (camsync_request_controls){ .has_sync_interface = true, .sync_interface_len = 3 };
	CHECK(camsync_layer_queue_request(layer, &bad, &q) == CAMSYNC_RESULT_NULL_PARAMETER,
	      "SyncInterface null");
	/* As the `interface` key: no whitespace, NUL or control character. */
	const char *ifaces[] = { "eth 0", "eth0\0x", "eth0\n", "\teth0" };
	const size_t iface_lens[] = { 5, 6, 5, 5 };
	for (size_t i = 0; i < 4; i++) {
		bad = (camsync_request_controls){ .has_sync_interface = true,
						  .sync_interface = ifaces[i],
						  .sync_interface_len = iface_lens[i] };
		CHECK(camsync_layer_queue_request(layer, &bad, &q) ==
			      CAMSYNC_RESULT_INVALID_ARGUMENT,
		      "SyncInterface %zu with whitespace or a control character", i);
	}
	/* SyncFrames within the advertised 1..=10^6. */
	const int32_t frames[] = { 0, -1, CAMSYNC_MAX_SYNC_FRAMES + 1, INT32_MAX };
	for (size_t i = 0; i < 4; i++) {
		bad = (camsync_request_controls){ .has_sync_frames = true, .sync_frames = frames[i] };
		CHECK(camsync_layer_queue_request(layer, &bad, &q) ==
			      CAMSYNC_RESULT_INVALID_ARGUMENT,
		      "SyncFrames %d", frames[i]);
	}
	camsync_request_controls good = { .has_sync_frames = true,
					   .sync_frames = CAMSYNC_MAX_SYNC_FRAMES };
	CHECK_OK(camsync_layer_queue_request(layer, &good, &q));
	bad = (camsync_request_controls){ .has_frame_duration_limits = true,
					  .frame_duration_limits_us = { 40000, 30000 } };
	CHECK(camsync_layer_queue_request(layer, &bad, &q) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "FrameDurationLimits min > max");
	/* An out-parameter is written whole, whatever it held: on error too. */
	memset(&q, 0xA5, sizeof(q));
	CHECK(camsync_layer_queue_request(NULL, &good, &q) == CAMSYNC_RESULT_NULL_PARAMETER,
	      "null layer");
	CHECK(!q.has_sync_adjustment && q.sync_adjustment_us == 0 && !q.clamped,
	      "zeroed on error");
	camsync_completion c = { .has_sensor_timestamp = true, .sensor_timestamp_ns = -1 };
	camsync_metadata m;
	CHECK(camsync_layer_request_completed(layer, &c, &m) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "negative SensorTimestamp");
	camsync_camera_controls cam = { .has_sync_adjustment = true,
					.sync_adjustment_min_us = 10,
					.sync_adjustment_max_us = -10 };
	camsync_added_controls added;
	CHECK(camsync_layer_controls(layer, &cam, &added) == CAMSYNC_RESULT_INVALID_ARGUMENT,
	      "inverted limits");
	CHECK(camsync_layer_controls(layer, NULL, &added) == CAMSYNC_RESULT_NULL_PARAMETER,
	      "null camera");
	CHECK(camsync_layer_stop(NULL) == CAMSYNC_RESULT_NULL_PARAMETER, "null layer");
	CHECK(strlen(camsync_version()) > 0, "version");
	camsync_layer_destroy(layer);
	return 0;
}

/* Flips the mode of a layer between server and client until told to stop. */
static volatile int flipping;

static void *flip(void *arg)
{
	camsync_layer *layer = arg;
	camsync_request_out q;
	for (int i = 0; i < 20000; i++) {
		camsync_request_controls c = { .has_sync_mode = true, .sync_mode = 1 + (i & 1) };
		CHECK_OK(camsync_layer_queue_request(layer, &c, &q));
	}
	__atomic_store_n(&flipping, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static int mode_stats(void)
{
	camsync_layer *layer = make_layer("stats-cam", 1);
	if (!layer)
		return 1;
	pthread_t t;
	flipping = 1;
	if (pthread_create(&t, NULL, flip, layer))
		return 1;
	long reads = 0, torn = 0;
	while (__atomic_load_n(&flipping, __ATOMIC_SEQ_CST)) {
		camsync_stats st;
		CHECK_OK(camsync_layer_stats(layer, &st));
		camsync_socket want = st.mode == 1 ? CAMSYNC_SOCKET_SENDER : CAMSYNC_SOCKET_RECEIVER;
		if (st.socket != want)
			torn++;
		reads++;
	}
	pthread_join(t, NULL);
	printf("stats: %ld reads while the mode flipped 20000 times, %ld torn\n", reads, torn);
	CHECK(torn == 0, "%ld of %ld snapshots had the mode of one instant and the socket of "
	      "another", torn, reads);
	camsync_layer_destroy(layer);
	return 0;
}

/*
 * The threads mode: the application's thread (start, queue_request, stop)
 * and libcamera's (request_completed) on one client layer at once.
 */
enum { THREAD_ROUNDS = 200, REQUESTS_PER_ROUND = 50 };
static volatile int app_running;

static void *app_thread(void *arg)
{
	camsync_layer *layer = arg;
	camsync_request_controls client = {
		.has_sync_mode = true,
		.sync_mode = 2,
		.has_frame_duration_limits = true,
		.frame_duration_limits_us = { FRAME_US, FRAME_US },
	};
	for (int round = 0; round < THREAD_ROUNDS; round++) {
		CHECK_OK(camsync_layer_start(layer, &client));
		for (int i = 0; i < REQUESTS_PER_ROUND; i++) {
			camsync_request_controls none = { 0 };
			camsync_request_out q;
			/* Now and then the application changes the mode or the interface. */
			camsync_request_controls *c = &none;
			camsync_request_controls other = client;
			if (i % 17 == 16) {
				other.sync_mode = i % 2 ? 0 : 2;
				c = &other;
			} else if (i % 23 == 22) {
				other = (camsync_request_controls){ .has_sync_interface = true,
								    .sync_interface = "127.0.0.1",
								    .sync_interface_len = 9 };
				c = &other;
			}
			CHECK_OK(camsync_layer_queue_request(layer, c, &q));
			if (q.has_sync_adjustment)
				CHECK(q.sync_adjustment_us >= CAMERA.sync_adjustment_min_us &&
					      q.sync_adjustment_us <= CAMERA.sync_adjustment_max_us,
				      "SyncAdjustment %d outside the camera's limits",
				      q.sync_adjustment_us);
		}
		CHECK_OK(camsync_layer_stop(layer));
	}
	__atomic_store_n(&app_running, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

static int mode_threads(void)
{
	camsync_layer *server = make_layer("threads-server", 1);
	camsync_layer *client = make_layer("threads-client", 2);
	if (!server || !client)
		return 1;
	pthread_t app;
	app_running = 1;
	if (pthread_create(&app, NULL, app_thread, client))
		return 1;
	/* libcamera's thread: completions for both cameras, in step. */
	int64_t t0 = boottime_ns();
	long frames = 0;
	while (__atomic_load_n(&app_running, __ATOMIC_SEQ_CST)) {
		int64_t ts = t0 + frames * FRAME_US * 1000;
		camsync_completion sc = { .has_sensor_timestamp = true, .sensor_timestamp_ns = ts };
		camsync_completion cc = { .has_sensor_timestamp = true,
					  .sensor_timestamp_ns = ts + CLIENT_OFFSET_US * 1000,
					  .cancelled = frames % 97 == 96 };
		camsync_metadata m;
		CHECK_OK(camsync_layer_request_completed(server, &sc, &m));
		CHECK_OK(camsync_layer_request_completed(client, &cc, &m));
		frames++;
	}
	pthread_join(app, NULL);
	camsync_stats st;
	CHECK_OK(camsync_layer_stats(client, &st));
	CHECK(st.enabled, "the client layer is still enabled");
	printf("threads: %ld completions against %d starts and %d requests; the client read %llu "
	       "packets\n",
	       frames, THREAD_ROUNDS, THREAD_ROUNDS * REQUESTS_PER_ROUND,
	       (unsigned long long)st.rx_accepted);
	CHECK(frames > 0, "request_completed ran");
	camsync_layer_destroy(client);
	camsync_layer_destroy(server);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sync";
	int r;
	if (!strcmp(mode, "sync"))
		r = mode_sync();
	else if (!strcmp(mode, "panic"))
		r = mode_panic();
	else if (!strcmp(mode, "args"))
		r = mode_args();
	else if (!strcmp(mode, "log"))
		r = mode_log();
	else if (!strcmp(mode, "disabled"))
		r = mode_disabled();
	else if (!strcmp(mode, "stats"))
		r = mode_stats();
	else if (!strcmp(mode, "threads"))
		r = mode_threads();
	else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	if (r || failures) {
		fprintf(stderr, "FAILED %s: %d check(s)\n", mode, failures);
		return 1;
	}
	printf("PASS %s\n", mode);
	return 0;
}
