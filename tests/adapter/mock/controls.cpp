/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test stand-in's control table. The ids of SyncAdjustment and
 * SyncInterface differ from any real build on purpose (the adapter resolves
 * names), and a decoy "SyncMode" of another vendor must not be picked.
 */
#include <libcamera/control_ids.h>

namespace libcamera {
namespace {

const ControlId frameDurationLimits{ 30, "FrameDurationLimits", "libcamera", ControlTypeInteger64 };
const ControlId sensorTimestamp{ 32, "SensorTimestamp", "libcamera", ControlTypeInteger64 };
const ControlId frameWallClock{ 47, "FrameWallClock", "libcamera", ControlTypeInteger64 };
const ControlId syncAdjustment{ 61, "SyncAdjustment", "libcamera", ControlTypeInteger32 };
const ControlId syncInterface{ 62, "SyncInterface", "libcamera", ControlTypeString };
const ControlId syncMode{ 20005, "SyncMode", "rpi", ControlTypeInteger32 };
const ControlId syncReady{ 20006, "SyncReady", "rpi", ControlTypeBool };
const ControlId syncTimer{ 20007, "SyncTimer", "rpi", ControlTypeInteger64 };
const ControlId syncFrames{ 20008, "SyncFrames", "rpi", ControlTypeInteger32 };
const ControlId decoy{ 30005, "SyncMode", "other", ControlTypeInteger32 };

} /* namespace */

namespace controls {

const ControlIdMap controls = {
	{ 30, &frameDurationLimits }, { 32, &sensorTimestamp }, { 47, &frameWallClock },
	{ 61, &syncAdjustment }, { 62, &syncInterface }, { 20005, &syncMode },
	{ 20006, &syncReady }, { 20007, &syncTimer }, { 20008, &syncFrames },
	{ 30005, &decoy },
};

} /* namespace controls */
} /* namespace libcamera */
