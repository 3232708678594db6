/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test stand-in for <libcamera/control_ids.h> (see controls.h). */
#pragma once

#include <libcamera/controls.h>

namespace libcamera {
namespace controls {

extern const ControlIdMap controls;

} /* namespace controls */
} /* namespace libcamera */
