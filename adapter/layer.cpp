/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * camsync: libcamera layer ABI (v6) adapter.
 *
 * Translates libcamera's ControlList / ControlInfoMap / Request into the plain
 * structs of the camsync C API (include/camsync.h) and back. All the sync
 * logic is in Rust; this file only converts.
 *
 * - The sync controls are resolved by name at run time from
 *   controls::controls: SyncAdjustment and SyncInterface have no stable
 *   numeric id across libcamera builds, and by-name lookup lets this file
 *   compile against any libcamera.
 * - Public libcamera headers only, with one exception: built inside
 *   libcamera's tree (where LIBCAMERA_BASE_PRIVATE is defined, as for
 *   libcamera's own layers), the layer logs through libcamera's logger
 *   (<libcamera/base/log.h>, category SyncLayer), so its lines are libcamera's
 *   own: format, thread ids, LIBCAMERA_LOG_FILE or syslog, LIBCAMERA_LOG_LEVELS.
 *   Elsewhere the Rust library writes libcamera's format itself. When
 *   <libcamera/layer.h> is missing, the v6 LayerInfo/LayerInterface are
 *   declared here.
 * - Requests that did not complete are passed as cancelled (ignored).
 * - Exported: the data objects layerInfo and layerInterface (default
 *   visibility); everything else is hidden. In the cargo cdylib build
 *   (CAMSYNC_RUST_EXPORTS) rustc's version script would hide C symbols, so
 *   src/ffi/abi.rs defines the two objects from the hooks below instead.
 */

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <libcamera/control_ids.h>
#include <libcamera/controls.h>
#include <libcamera/request.h>

#if defined(LIBCAMERA_BASE_PRIVATE) && __has_include(<libcamera/base/log.h>)
#include <libcamera/base/log.h>
#define CAMSYNC_LIBCAMERA_LOG 1
#endif

#if __has_include(<libcamera/layer.h>)
#include <libcamera/layer.h>
#else
namespace libcamera {

class CameraConfiguration;
class FrameBuffer;

/* The layer ABI v6 (libcamera "Layers" series, v6). */
struct LayerInfo {
	const char *name;
	int layerAPIVersion;
};

struct LayerInterface {
	void *(*init)(const std::string &id);
	void (*terminate)(void *closure);
	void (*bufferCompleted)(void *closure, Request *request, FrameBuffer *buffer);
	ControlList (*requestCompleted)(void *closure, Request *request);
	void (*disconnected)(void *closure);
	void (*acquire)(void *closure);
	void (*release)(void *closure);
	ControlInfoMap::Map (*controls)(void *closure, ControlInfoMap &controls);
	ControlList (*properties)(void *closure, ControlList &properties);
	void (*configure)(void *closure, const CameraConfiguration *config);
	void (*createRequest)(void *closure, uint64_t cookie, const Request *request);
	void (*queueRequest)(void *closure, Request *request);
	void (*start)(void *closure, ControlList &controls);
	void (*stop)(void *closure);
};

} /* namespace libcamera */
#endif

#include "camsync.h"

using namespace libcamera;

#ifdef CAMSYNC_LIBCAMERA_LOG
LOG_DEFINE_CATEGORY(SyncLayer)
#endif

namespace {

#ifdef CAMSYNC_LIBCAMERA_LOG
/* The layer's log records, as libcamera's own lines. */
void logToLibcamera([[maybe_unused]] void *userData, camsync_log_level level,
		    [[maybe_unused]] const char *target, const char *message)
{
	switch (level) {
	case CAMSYNC_LOG_DEBUG:
		LOG(SyncLayer, Debug) << message;
		break;
	case CAMSYNC_LOG_INFO:
		LOG(SyncLayer, Info) << message;
		break;
	case CAMSYNC_LOG_WARN:
		LOG(SyncLayer, Warning) << message;
		break;
	default:
		LOG(SyncLayer, Error) << message;
		break;
	}
}

/* The least severe level libcamera shows for SyncLayer (nothing below is formatted). */
camsync_log_level syncLayerLevel()
{
	switch (_LOG_CATEGORY(SyncLayer)().severity()) {
	case LogDebug:
		return CAMSYNC_LOG_DEBUG;
	case LogInfo:
		return CAMSYNC_LOG_INFO;
	case LogWarning:
		return CAMSYNC_LOG_WARN;
	default:
		return CAMSYNC_LOG_ERROR;
	}
}
#endif

/* Route the Rust library's log to libcamera's logger, once per process. */
void logThroughLibcamera()
{
#ifdef CAMSYNC_LIBCAMERA_LOG
	static std::once_flag once;
	std::call_once(once, [] { camsync_set_log_sink(logToLibcamera, nullptr, syncLayerLevel()); });
#endif
}

/* The controls the layer uses, resolved by name once per process. */
struct Ids {
	const ControlId *syncAdjustment;
	const ControlId *syncInterface;
	const ControlId *syncMode;
	const ControlId *syncFrames;
	const ControlId *syncReady;
	const ControlId *syncTimer;
	const ControlId *frameWallClock;
	const ControlId *frameDurationLimits;
	const ControlId *sensorTimestamp;
};

/*
 * "rpi::SyncMode" -> vendor "rpi", name "SyncMode"; "SyncInterface" -> any
 * vendor, preferring core ("libcamera") controls.
 */
const ControlId *findControl(std::string_view qualified)
{
	std::string_view vendor;
	std::string_view name = qualified;
	size_t sep = qualified.find("::");
	if (sep != std::string_view::npos) {
		vendor = qualified.substr(0, sep);
		name = qualified.substr(sep + 2);
	}

	const ControlId *fallback = nullptr;
	for (const auto &entry : controls::controls) {
		const ControlId *id = entry.second;
		if (id->name() != name)
			continue;
		if (!vendor.empty()) {
			if (id->vendor() == vendor)
				return id;
			continue;
		}
		if (id->vendor() == "libcamera")
			return id;
		if (!fallback)
			fallback = id;
	}
	return fallback;
}

const Ids &ids()
{
	static const Ids ids = {
		findControl("SyncAdjustment"),
		findControl("SyncInterface"),
		findControl("rpi::SyncMode"),
		findControl("rpi::SyncFrames"),
		findControl("rpi::SyncReady"),
		findControl("rpi::SyncTimer"),
		findControl("FrameWallClock"),
		findControl("FrameDurationLimits"),
		findControl("SensorTimestamp"),
	};
	return ids;
}

struct Closure {
	camsync_layer *layer;
};

camsync_layer *layerOf(void *closure)
{
	return closure ? static_cast<Closure *>(closure)->layer : nullptr;
}

/* A scalar control of type T from a list, if present with that type. */
template<typename T>
bool getScalar(const ControlList &list, const ControlId *id, ControlType type, T *out)
{
	if (!id || !list.contains(id->id()))
		return false;
	const ControlValue &v = list.get(id->id());
	if (v.type() != type || v.isArray())
		return false;
	*out = v.get<T>();
	return true;
}

/* The sync controls of a request (or of start()). */
camsync_request_controls requestControls(const ControlList &list)
{
	const Ids &c = ids();
	camsync_request_controls rc{};

	rc.has_sync_mode = getScalar(list, c.syncMode, ControlTypeInteger32, &rc.sync_mode);
	rc.has_sync_frames = getScalar(list, c.syncFrames, ControlTypeInteger32, &rc.sync_frames);

	if (c.frameDurationLimits && list.contains(c.frameDurationLimits->id())) {
		const ControlValue &v = list.get(c.frameDurationLimits->id());
		if (v.type() == ControlTypeInteger64 && v.isArray() && v.numElements() == 2) {
			Span<const int64_t> limits = v.get<Span<const int64_t>>();
			rc.has_frame_duration_limits = true;
			rc.frame_duration_limits_us[0] = limits[0];
			rc.frame_duration_limits_us[1] = limits[1];
		}
	}

	if (c.syncInterface && list.contains(c.syncInterface->id())) {
		const ControlValue &v = list.get(c.syncInterface->id());
		if (v.type() == ControlTypeString) {
			/* Points into the list, which outlives the C call. */
			std::string_view s = v.get<std::string_view>();
			rc.has_sync_interface = true;
			rc.sync_interface = s.data();
			rc.sync_interface_len = s.size();
		}
	}

	return rc;
}

/* A ControlInfo for one of the controls the layer adds, typed as its id. */
ControlInfo controlInfo(const ControlId *id, const camsync_control_info &info)
{
	if (info.num_values > 0) {
		std::vector<ControlValue> values;
		for (uint32_t i = 0; i < info.num_values && i < CAMSYNC_MAX_CONTROL_VALUES; i++)
			values.emplace_back(static_cast<int32_t>(info.values[i]));
		ControlValue def = info.has_def ? ControlValue(static_cast<int32_t>(info.def))
						: ControlValue();
		return ControlInfo(Span<const ControlValue>(values), def);
	}

	if (id->type() == ControlTypeInteger64) {
		return ControlInfo(static_cast<int64_t>(info.min), static_cast<int64_t>(info.max),
				   info.has_def ? ControlValue(static_cast<int64_t>(info.def))
						: ControlValue());
	}

	/* Integer32 controls, and string controls whose limits bound the length. */
	return ControlInfo(static_cast<int32_t>(info.min), static_cast<int32_t>(info.max),
			   info.has_def ? ControlValue(static_cast<int32_t>(info.def))
					: ControlValue());
}

} /* namespace */

/*
 * The hooks, declared before they are defined (libcamera builds in-tree with
 * -Wmissing-declarations -Werror). They have C linkage so that src/ffi/abi.rs
 * can name them; two return C++ types, which clang warns about.
 */
#ifdef __clang__
#pragma clang diagnostic ignored "-Wreturn-type-c-linkage"
#endif
extern "C" {
void *camsync_adapter_init(const std::string &id);
void camsync_adapter_terminate(void *closure);
ControlInfoMap::Map camsync_adapter_controls(void *closure, ControlInfoMap &map);
void camsync_adapter_start(void *closure, ControlList &controls);
void camsync_adapter_queue_request(void *closure, Request *request);
ControlList camsync_adapter_request_completed(void *closure, Request *request);
void camsync_adapter_stop(void *closure);
} /* extern "C" */

extern "C" {

[[gnu::visibility("hidden")]] void *camsync_adapter_init(const std::string &id)
{
	logThroughLibcamera();
	camsync_layer *layer = nullptr;
	if (camsync_layer_create(id.c_str(), &layer) != CAMSYNC_RESULT_OK)
		return nullptr;
	return new Closure{ layer };
}

[[gnu::visibility("hidden")]] void camsync_adapter_terminate(void *closure)
{
	Closure *c = static_cast<Closure *>(closure);
	if (!c)
		return;
	camsync_layer_destroy(c->layer);
	delete c;
}

[[gnu::visibility("hidden")]] ControlInfoMap::Map
camsync_adapter_controls(void *closure, ControlInfoMap &map)
{
	const Ids &c = ids();
	camsync_layer *layer = layerOf(closure);
	ControlInfoMap::Map added;
	if (!layer)
		return added;

	camsync_camera_controls cc{};
	if (c.syncAdjustment) {
		auto it = map.find(c.syncAdjustment->id());
		if (it != map.end() && it->second.min().type() == ControlTypeInteger32 &&
		    it->second.max().type() == ControlTypeInteger32) {
			cc.has_sync_adjustment = true;
			cc.sync_adjustment_min_us = it->second.min().get<int32_t>();
			cc.sync_adjustment_max_us = it->second.max().get<int32_t>();
		}
	}
	if (c.frameDurationLimits) {
		auto it = map.find(c.frameDurationLimits->id());
		if (it != map.end() && it->second.min().type() == ControlTypeInteger64 &&
		    it->second.max().type() == ControlTypeInteger64) {
			cc.has_frame_duration_limits = true;
			cc.frame_duration_min_us = it->second.min().get<int64_t>();
			cc.frame_duration_max_us = it->second.max().get<int64_t>();
		}
	}

	camsync_added_controls out{};
	if (camsync_layer_controls(layer, &cc, &out) != CAMSYNC_RESULT_OK || !out.supported)
		return added;

	for (uint32_t i = 0; i < out.count && i < CAMSYNC_MAX_ADDED_CONTROLS; i++) {
		const ControlId *id = findControl(out.controls[i].name);
		/* This libcamera lacks the control: the layer cannot offer it. */
		if (!id)
			continue;
		added.emplace(id, controlInfo(id, out.controls[i]));
	}
	return added;
}

[[gnu::visibility("hidden")]] void camsync_adapter_start(void *closure, ControlList &controls)
{
	camsync_layer *layer = layerOf(closure);
	if (!layer)
		return;
	camsync_request_controls rc = requestControls(controls);
	camsync_layer_start(layer, &rc);
}

[[gnu::visibility("hidden")]] void camsync_adapter_queue_request(void *closure, Request *request)
{
	camsync_layer *layer = layerOf(closure);
	if (!layer || !request)
		return;

	ControlList &controls = request->controls();
	camsync_request_controls rc = requestControls(controls);
	camsync_request_out out{};
	if (camsync_layer_queue_request(layer, &rc, &out) != CAMSYNC_RESULT_OK)
		return;

	const ControlId *adjust = ids().syncAdjustment;
	if (out.has_sync_adjustment && adjust)
		controls.set(adjust->id(), ControlValue(static_cast<int32_t>(out.sync_adjustment_us)));
}

[[gnu::visibility("hidden")]] ControlList camsync_adapter_request_completed(void *closure,
									   Request *request)
{
	const Ids &c = ids();
	ControlList ret(controls::controls);
	camsync_layer *layer = layerOf(closure);
	if (!layer || !request)
		return ret;

	camsync_completion comp{};
	comp.cancelled = request->status() != Request::RequestComplete;
	comp.has_sensor_timestamp = getScalar(request->metadata(), c.sensorTimestamp,
					      ControlTypeInteger64, &comp.sensor_timestamp_ns);

	camsync_metadata md{};
	if (camsync_layer_request_completed(layer, &comp, &md) != CAMSYNC_RESULT_OK)
		return ret;

	if (md.has_frame_wall_clock && c.frameWallClock)
		ret.set(c.frameWallClock->id(), ControlValue(static_cast<int64_t>(md.frame_wall_clock_ns)));
	if (md.has_sync_ready && c.syncReady)
		ret.set(c.syncReady->id(), ControlValue(static_cast<bool>(md.sync_ready)));
	if (md.has_sync_timer && c.syncTimer)
		ret.set(c.syncTimer->id(), ControlValue(static_cast<int64_t>(md.sync_timer_us)));
	return ret;
}

[[gnu::visibility("hidden")]] void camsync_adapter_stop(void *closure)
{
	camsync_layer *layer = layerOf(closure);
	if (layer)
		camsync_layer_stop(layer);
}

} /* extern "C" */

#ifdef CAMSYNC_RUST_EXPORTS
/*
 * src/ffi/abi.rs exports layerInfo and layerInterface with these hooks; this
 * checks that they have the types the v6 LayerInterface wants.
 */
[[maybe_unused]] static const LayerInterface camsync_adapter_typecheck = {
	camsync_adapter_init,
	camsync_adapter_terminate,
	nullptr,
	camsync_adapter_request_completed,
	nullptr,
	nullptr,
	nullptr,
	camsync_adapter_controls,
	nullptr,
	nullptr,
	nullptr,
	camsync_adapter_queue_request,
	camsync_adapter_start,
	camsync_adapter_stop,
};
static_assert(sizeof(LayerInterface) == 14 * sizeof(void *),
	      "src/ffi/abi.rs assumes 14 hook pointers");
static_assert(sizeof(LayerInfo) == 2 * sizeof(void *),
	      "src/ffi/abi.rs assumes { const char *, int } plus padding");
#else
extern "C" {

[[gnu::visibility("default")]] LayerInfo layerInfo = {
	"sync",
	1,
};

[[gnu::visibility("default")]] LayerInterface layerInterface = {
	camsync_adapter_init,		   /* init */
	camsync_adapter_terminate,	   /* terminate */
	nullptr,			   /* bufferCompleted */
	camsync_adapter_request_completed, /* requestCompleted */
	nullptr,			   /* disconnected */
	nullptr,			   /* acquire */
	nullptr,			   /* release */
	camsync_adapter_controls,	   /* controls */
	nullptr,			   /* properties */
	nullptr,			   /* configure */
	nullptr,			   /* createRequest */
	camsync_adapter_queue_request,	   /* queueRequest */
	camsync_adapter_start,		   /* start */
	camsync_adapter_stop,		   /* stop */
};

} /* extern "C" */
#endif
