/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test stand-in for <libcamera/request.h> (see controls.h). */
#pragma once

#include <libcamera/control_ids.h>
#include <libcamera/controls.h>

namespace libcamera {

class Request
{
public:
	enum Status {
		RequestPending,
		RequestComplete,
		RequestCancelled,
	};

	Request() : controls_(controls::controls), metadata_(controls::controls) {}
	Status status() const { return status_; }
	ControlList &controls() { return controls_; }
	const ControlList &metadata() const { return metadata_; }

	/* Test-only setters. */
	void setStatus(Status s) { status_ = s; }
	ControlList &mutableMetadata() { return metadata_; }

private:
	Status status_ = RequestPending;
	ControlList controls_;
	ControlList metadata_;
};

} /* namespace libcamera */
