/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal stand-in for the parts of libcamera's public <libcamera/controls.h>
 * that adapter/layer.cpp uses, written for camsync's tests (not libcamera
 * code): enough to compile the adapter and run it in tests/adapter/host.cpp.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace libcamera {

template<typename T>
class Span
{
public:
	Span() = default;
	Span(T *data, size_t size) : data_(data), size_(size) {}
	template<typename C>
	Span(C &c) : data_(c.data()), size_(c.size()) {}
	T &operator[](size_t i) const { return data_[i]; }
	size_t size() const { return size_; }
	T *begin() const { return data_; }
	T *end() const { return data_ + size_; }

private:
	T *data_ = nullptr;
	size_t size_ = 0;
};

enum ControlType {
	ControlTypeNone,
	ControlTypeBool,
	ControlTypeByte,
	ControlTypeUnsigned16,
	ControlTypeUnsigned32,
	ControlTypeInteger32,
	ControlTypeInteger64,
	ControlTypeFloat,
	ControlTypeString,
};

class ControlValue
{
public:
	ControlValue() = default;
	ControlValue(bool v) : type_(ControlTypeBool), ints_{ v } {}
	ControlValue(int32_t v) : type_(ControlTypeInteger32), ints_{ v } {}
	ControlValue(int64_t v) : type_(ControlTypeInteger64), ints_{ v } {}
	ControlValue(std::string_view v) : type_(ControlTypeString), isArray_(true), str_(v) {}
	ControlValue(Span<const int64_t> v)
		: type_(ControlTypeInteger64), isArray_(true), ints_(v.begin(), v.end()) {}

	ControlType type() const { return type_; }
	bool isNone() const { return type_ == ControlTypeNone; }
	bool isArray() const { return isArray_; }
	size_t numElements() const { return type_ == ControlTypeString ? str_.size() : ints_.size(); }

	template<typename T>
	T get() const
	{
		if constexpr (std::is_same_v<T, std::string_view>)
			return str_;
		else if constexpr (std::is_same_v<T, Span<const int64_t>>)
			return Span<const int64_t>(ints_.data(), ints_.size());
		else
			return static_cast<T>(ints_.at(0));
	}

private:
	ControlType type_ = ControlTypeNone;
	bool isArray_ = false;
	std::vector<int64_t> ints_;
	std::string str_;
};

class ControlId
{
public:
	ControlId(unsigned int id, std::string name, std::string vendor, ControlType type)
		: id_(id), name_(std::move(name)), vendor_(std::move(vendor)), type_(type) {}
	unsigned int id() const { return id_; }
	const std::string &name() const { return name_; }
	const std::string &vendor() const { return vendor_; }
	ControlType type() const { return type_; }

private:
	unsigned int id_;
	std::string name_;
	std::string vendor_;
	ControlType type_;
};

using ControlIdMap = std::unordered_map<unsigned int, const ControlId *>;

class ControlInfo
{
public:
	explicit ControlInfo(const ControlValue &min = {}, const ControlValue &max = {},
			     const ControlValue &def = {})
		: min_(min), max_(max), def_(def) {}
	ControlInfo(Span<const ControlValue> values, const ControlValue &def = {})
		: min_(values.size() ? values[0] : ControlValue()),
		  max_(values.size() ? values[values.size() - 1] : ControlValue()), def_(def),
		  values_(values.begin(), values.end()) {}

	const ControlValue &min() const { return min_; }
	const ControlValue &max() const { return max_; }
	const ControlValue &def() const { return def_; }
	const std::vector<ControlValue> &values() const { return values_; }

private:
	ControlValue min_, max_, def_;
	std::vector<ControlValue> values_;
};

class ControlInfoMap
{
public:
	using Map = std::unordered_map<const ControlId *, ControlInfo>;
	using const_iterator = Map::const_iterator;

	ControlInfoMap(Map &&info, const ControlIdMap &idmap) : map_(std::move(info)), idmap_(&idmap) {}
	const_iterator find(unsigned int id) const
	{
		auto it = idmap_->find(id);
		return it == idmap_->end() ? map_.end() : map_.find(it->second);
	}
	const_iterator end() const { return map_.end(); }

private:
	Map map_;
	const ControlIdMap *idmap_;
};

class ControlList
{
public:
	ControlList() = default;
	ControlList(const ControlIdMap &idmap) : idmap_(&idmap) {}
	bool contains(unsigned int id) const { return values_.count(id) != 0; }
	const ControlValue &get(unsigned int id) const
	{
		static const ControlValue none;
		auto it = values_.find(id);
		return it == values_.end() ? none : it->second;
	}
	void set(unsigned int id, const ControlValue &v) { values_[id] = v; }
	size_t size() const { return values_.size(); }
	const ControlIdMap *idMap() const { return idmap_; }

private:
	const ControlIdMap *idmap_ = nullptr;
	std::unordered_map<unsigned int, ControlValue> values_;
};

} /* namespace libcamera */
