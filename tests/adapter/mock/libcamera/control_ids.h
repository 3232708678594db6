/* SPDX-License-Identifier: BSD-2-Clause */
/* Test stand-in for <libcamera/control_ids.h> (see controls.h). */
#pragma once

#include <libcamera/controls.h>

namespace libcamera {
namespace controls {

extern const ControlIdMap controls;

} /* namespace controls */
} /* namespace libcamera */
