/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in libcamera host: dlopens the layer module the way libcamera's
 * LayerManager does, checks layerInfo/layerInterface, and drives a server and
 * a client camera through the v6 hooks with the test stand-in libcamera
 * (tests/adapter/mock). Multicast on the interface the environment sets.
 * As libcamera does, it completes requests on a thread of its own (the
 * CameraManager's) and logs through its logger (category Host, one line per
 * frame), so the layer's lines can be told apart by thread and must not
 * displace the host's.
 *
 * Usage: host <path/to/sync.so>; prints the two threads' ids and PASS, exits 0.
 */
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <dlfcn.h>
#include <unistd.h>

#include <libcamera/base/log.h>

#include <libcamera/control_ids.h>
#include <libcamera/controls.h>
#include <libcamera/request.h>

#if __has_include(<libcamera/layer.h>)
#include <libcamera/layer.h>
#else
#error "host.cpp needs tests/adapter/mock-layer-h on the include path"
#endif

using namespace libcamera;

LOG_DEFINE_CATEGORY(Host)

/* Runs calls on a thread of its own, one at a time, waiting for each. */
class Worker
{
public:
	Worker() : thread_([this] { loop(); }) {}
	~Worker()
	{
		call(nullptr);
		thread_.join();
	}

	/* Run f on the worker and wait for it (nullptr: stop). */
	void call(std::function<void()> f)
	{
		std::unique_lock<std::mutex> lock(mutex_);
		task_ = std::move(f);
		pending_ = true;
		cv_.notify_all();
		cv_.wait(lock, [this] { return !pending_; });
	}

	pid_t tid()
	{
		pid_t t = 0;
		call([&t] { t = gettid(); });
		return t;
	}

private:
	void loop()
	{
		std::unique_lock<std::mutex> lock(mutex_);
		for (;;) {
			cv_.wait(lock, [this] { return pending_; });
			bool stop = !task_;
			if (task_)
				task_();
			pending_ = false;
			cv_.notify_all();
			if (stop)
				return;
		}
	}

	std::mutex mutex_;
	std::condition_variable cv_;
	std::function<void()> task_;
	bool pending_ = false;
	std::thread thread_;
};

static int failures;
#define CHECK(c, ...)                                                        \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #c); \
			fprintf(stderr, __VA_ARGS__);                        \
			fprintf(stderr, "\n");                               \
			failures++;                                          \
		}                                                            \
	} while (0)

enum : unsigned int {
	FDL = 30, TS = 32, FWC = 47, ADJ = 61, IFACE = 62,
	MODE = 20005, READY = 20006, TIMER = 20007, FRAMES = 20008,
};

static int64_t boottime_ns()
{
	timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	auto *info = static_cast<LayerInfo *>(dlsym(h, "layerInfo"));
	auto *vt = static_cast<LayerInterface *>(dlsym(h, "layerInterface"));
	if (!info || !vt) {
		fprintf(stderr, "layerInfo/layerInterface missing\n");
		return 1;
	}
	CHECK(!strcmp(info->name, "sync"), "name %s", info->name);
	CHECK(info->layerAPIVersion == 1, "version %d", info->layerAPIVersion);
	CHECK(vt->init && vt->terminate && vt->controls && vt->start && vt->queueRequest &&
		      vt->requestCompleted && vt->stop,
	      "the sync hooks are set");
	CHECK(!vt->bufferCompleted && !vt->disconnected && !vt->acquire && !vt->release &&
		      !vt->properties && !vt->configure && !vt->createRequest,
	      "the other hooks are null");

	const ControlIdMap &ids = controls::controls;
	auto id = [&](unsigned int n) { return ids.at(n); };

	/* A camera without SyncAdjustment: nothing added. */
	{
		void *c = vt->init("no-sync-cam");
		ControlInfoMap::Map m;
		m.emplace(id(FDL), ControlInfo(int64_t(33333), int64_t(33333)));
		ControlInfoMap cam(std::move(m), ids);
		CHECK(vt->controls(c, cam).empty(), "unsupported camera: no controls added");
		vt->terminate(c);
	}

	ControlInfoMap::Map m;
	m.emplace(id(ADJ), ControlInfo(int32_t(-20000), int32_t(20000)));
	m.emplace(id(FDL), ControlInfo(int64_t(33333), int64_t(33333)));
	ControlInfoMap cam(std::move(m), ids);

	void *srv = vt->init("server-cam");
	void *cli = vt->init("client-cam");
	CHECK(srv && cli, "init");
	ControlInfoMap::Map added = vt->controls(srv, cam);
	CHECK(added.size() == 3, "3 controls added, got %zu", added.size());
	CHECK(added.count(id(MODE)) && added.at(id(MODE)).values().size() == 3,
	      "rpi::SyncMode (not the decoy) with 3 values");
	CHECK(added.count(id(FRAMES)) && added.count(id(IFACE)), "SyncFrames, SyncInterface");
	vt->controls(cli, cam);

	const int64_t fd[2] = { 33333, 33333 };
	ControlList startS(ids);
	startS.set(MODE, ControlValue(int32_t(1)));
	startS.set(FRAMES, ControlValue(int32_t(10)));
	startS.set(FDL, ControlValue(Span<const int64_t>(fd, 2)));
	vt->start(srv, startS);
	ControlList startC(ids);
	startC.set(MODE, ControlValue(int32_t(2)));
	startC.set(IFACE, ControlValue(std::string_view("127.0.0.1")));
	startC.set(FDL, ControlValue(Span<const int64_t>(fd, 2)));
	vt->start(cli, startC);

	/* libcamera's CameraManager thread: requests complete there. */
	Worker cameraManager;
	printf("main thread %d, completion thread %d\n", static_cast<int>(gettid()),
	       static_cast<int>(cameraManager.tid()));

	const int64_t base = boottime_ns();
	int srvReady = -1, cliReady = -1, adjustments = 0;
	int32_t firstAdj = 0;
	for (int f = 0; f < 30; f++) {
		LOG(Host, Info) << "host frame " << f;
		Request rs, rc;
		vt->queueRequest(srv, &rs);
		CHECK(!rs.controls().contains(ADJ), "server sets no SyncAdjustment");
		vt->queueRequest(cli, &rc);
		CHECK(rc.controls().contains(ADJ) &&
			      rc.controls().get(ADJ).type() == ControlTypeInteger32,
		      "client sets SyncAdjustment (int32) at frame %d", f);
		int32_t a = rc.controls().get(ADJ).get<int32_t>();
		if (a) {
			if (!adjustments)
				firstAdj = a;
			adjustments++;
		}

		int64_t ts = base + f * 33333000LL;
		rs.mutableMetadata().set(TS, ControlValue(ts));
		rs.setStatus(Request::RequestComplete);
		ControlList md;
		cameraManager.call([&] { md = vt->requestCompleted(srv, &rs); });
		CHECK(md.contains(FWC) && md.contains(READY) && md.contains(TIMER),
		      "server metadata at frame %d", f);
		CHECK(md.get(READY).type() == ControlTypeBool, "SyncReady is bool");
		if (md.get(READY).get<bool>() && srvReady < 0)
			srvReady = f;
		usleep(3000);

		rc.mutableMetadata().set(TS, ControlValue(ts + 5000000));
		rc.setStatus(Request::RequestComplete);
		cameraManager.call([&] { md = vt->requestCompleted(cli, &rc); });
		CHECK(md.contains(FWC) && md.contains(READY), "client metadata at frame %d", f);
		if (md.get(READY).get<bool>() && cliReady < 0)
			cliReady = f;
	}
	Request cancelled;
	cancelled.mutableMetadata().set(TS, ControlValue(base));
	cancelled.setStatus(Request::RequestCancelled);
	CHECK(vt->requestCompleted(srv, &cancelled).size() == 0, "cancelled request ignored");

	printf("server ready at %d, client ready at %d, first SyncAdjustment %d us\n", srvReady,
	       cliReady, firstAdj);
	CHECK(srvReady == 10 && cliReady == 10, "ready at %d / %d", srvReady, cliReady);
	CHECK(adjustments > 0 && std::abs(firstAdj - 5000) <= 10, "SyncAdjustment %d", firstAdj);

	vt->stop(srv);
	vt->stop(cli);
	vt->terminate(srv);
	vt->terminate(cli);
	vt->terminate(nullptr);
	dlclose(h);
	if (failures) {
		fprintf(stderr, "FAILED: %d\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
