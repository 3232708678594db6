/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test stand-in for a layer-enabled libcamera's <libcamera/layer.h> (the v6
 * shape, spec/layer-abi.md 1.1), to compile adapter/layer.cpp through its
 * __has_include branch. Not libcamera code.
 */
#pragma once

#include <cstdint>
#include <string>

#include <libcamera/controls.h>
#include <libcamera/request.h>

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
