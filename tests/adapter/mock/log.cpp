/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The test stand-in's logger (see libcamera/base/log.h): one writer for every
 * category, as libcamera's Logger is. LIBCAMERA_LOG_FILE names a file, opened
 * once and truncated, as libcamera opens it, or "syslog"; otherwise stderr.
 * LIBCAMERA_LOG_LEVELS sets category levels ("cat:level" pairs, globs, level
 * names or 0-4). Lines: "[sec.nsec] [tid] LEVEL category file:line message".
 */
#define LIBCAMERA_BASE_PRIVATE
#include <libcamera/base/log.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fnmatch.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace libcamera {
namespace {

LogSeverity parseSeverity(const std::string &s)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR", "FATAL" };
	for (int i = 0; i < 5; i++) {
		if (s == names[i] || s == std::to_string(i))
			return static_cast<LogSeverity>(i);
	}
	return LogInvalid;
}

class Logger
{
public:
	static Logger &instance()
	{
		static Logger logger;
		return logger;
	}

	LogSeverity levelOf(const std::string &category) const
	{
		LogSeverity level = LogInfo;
		for (const auto &[pattern, sev] : levels_) {
			if (fnmatch(pattern.c_str(), category.c_str(), 0) == 0)
				level = sev;
		}
		return level;
	}

	void write(const std::string &line, LogSeverity severity)
	{
		std::lock_guard<std::mutex> lock(mutex_);
		if (syslog_)
			::syslog(severity >= LogError ? LOG_ERR : LOG_INFO, "%s", line.c_str());
		else if (file_.is_open())
			file_ << line << std::flush;
		else
			std::cerr << line << std::flush;
	}

private:
	Logger()
	{
		const char *file = getenv("LIBCAMERA_LOG_FILE");
		if (file && !strcmp(file, "syslog")) {
			openlog("libcamera", LOG_PID, 0);
			syslog_ = true;
		} else if (file && *file) {
			file_.open(file, std::ios::out | std::ios::trunc);
		}

		const char *spec = getenv("LIBCAMERA_LOG_LEVELS");
		std::string rest = spec ? spec : "";
		while (!rest.empty()) {
			size_t comma = rest.find(',');
			std::string entry = rest.substr(0, comma);
			rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
			size_t colon = entry.rfind(':');
			std::string cat = colon == std::string::npos ? "*" : entry.substr(0, colon);
			LogSeverity sev = parseSeverity(
				colon == std::string::npos ? entry : entry.substr(colon + 1));
			if (sev != LogInvalid)
				levels_.emplace_back(cat, sev);
		}
	}

	std::mutex mutex_;
	std::ofstream file_;
	bool syslog_ = false;
	std::vector<std::pair<std::string, LogSeverity>> levels_;
};

} /* namespace */

LogCategory::LogCategory(std::string_view name)
	: name_(name), severity_(Logger::instance().levelOf(name_))
{
}

LogCategory *LogCategory::create(std::string_view name)
{
	static std::mutex mutex;
	static std::map<std::string, std::unique_ptr<LogCategory>, std::less<>> categories;
	std::lock_guard<std::mutex> lock(mutex);
	auto it = categories.find(name);
	if (it == categories.end())
		it = categories.emplace(std::string(name),
					std::unique_ptr<LogCategory>(new LogCategory(name)))
			     .first;
	return it->second.get();
}

LogMessage::LogMessage(const char *fileName, unsigned int line, const LogCategory &category,
		       LogSeverity severity)
	: category_(&category), severity_(severity)
{
	const char *base = strrchr(fileName, '/');
	where_ = std::string(base ? base + 1 : fileName) + ":" + std::to_string(line);
}

LogMessage::~LogMessage()
{
	if (severity_ < category_->severity())
		return;
	static const char *const names[] = { "DEBUG", " INFO", " WARN", "ERROR", "FATAL" };
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char stamp[64];
	snprintf(stamp, sizeof(stamp), "[%ld.%09ld] [%d] ", static_cast<long>(ts.tv_sec),
		 ts.tv_nsec, static_cast<int>(gettid()));
	Logger::instance().write(std::string(stamp) + names[severity_] + " " +
					 category_->name() + " " + where_ + " " + msg_.str() +
					 "\n",
				 severity_);
}

LogMessage _log(const LogCategory &category, LogSeverity severity, const char *fileName,
		unsigned int line)
{
	return LogMessage(fileName, line, category, severity);
}

} /* namespace libcamera */
