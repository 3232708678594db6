/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal stand-in for libcamera's internal <libcamera/base/log.h>, written
 * for camsync's tests (not libcamera code): the API the adapter uses to log
 * through libcamera (categories, LOG(category, severity) << ...), with a
 * logger behind it (tests/adapter/mock/log.cpp) that behaves as libcamera's
 * does where the tests look: LIBCAMERA_LOG_FILE (truncated when opened, or
 * "syslog"), LIBCAMERA_LOG_LEVELS, and lines stamped with the thread id.
 */
#pragma once

/* As libcamera's: only its own components (and layers built in its tree) may use it. */
#ifndef LIBCAMERA_BASE_PRIVATE
#error "Private headers must not be included in the libcamera API"
#endif

#include <sstream>
#include <string>
#include <string_view>

namespace libcamera {

enum LogSeverity {
	LogInvalid = -1,
	LogDebug = 0,
	LogInfo,
	LogWarning,
	LogError,
	LogFatal,
};

class LogCategory
{
public:
	/* The category of this name, created on first use. */
	static LogCategory *create(std::string_view name);

	const std::string &name() const { return name_; }
	LogSeverity severity() const { return severity_; }

private:
	explicit LogCategory(std::string_view name);

	std::string name_;
	LogSeverity severity_;
};

#define _LOG_CATEGORY(name) logCategory##name

#define LOG_DECLARE_CATEGORY(name) extern const LogCategory &_LOG_CATEGORY(name)();

#define LOG_DEFINE_CATEGORY(name)                                        \
	LOG_DECLARE_CATEGORY(name)                                       \
	const LogCategory &_LOG_CATEGORY(name)()                         \
	{                                                                \
		static LogCategory *category = LogCategory::create(#name); \
		return *category;                                        \
	}

/* One line: formatted and written when it goes out of scope. */
class LogMessage
{
public:
	LogMessage(const char *fileName, unsigned int line, const LogCategory &category,
		   LogSeverity severity);
	LogMessage(LogMessage &&) = delete;
	~LogMessage();

	std::ostream &stream() { return msg_; }

private:
	std::ostringstream msg_;
	const LogCategory *category_;
	LogSeverity severity_;
	std::string where_;
};

LogMessage _log(const LogCategory &category, LogSeverity severity,
		const char *fileName = __builtin_FILE(), unsigned int line = __builtin_LINE());

/* Nothing is formatted below the category's level. */
#define LOG(cat, sev)                                                   \
	if (_LOG_CATEGORY(cat)().severity() > Log##sev) {               \
	} else                                                          \
		_log(_LOG_CATEGORY(cat)(), Log##sev).stream()

} /* namespace libcamera */
