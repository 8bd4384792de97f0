// Binds a validated spec struct: read-only fields, a keyword constructor, replace(**kw)
// (like dataclasses.replace), __repr__ and equality of reprs. Unknown keywords, positional
// arguments and values of the wrong type raise TypeError naming the field; bad values raise
// ValueError from validate().
#pragma once

#include <functional>
#include <map>
#include <string>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/convert.h"

namespace mho::bindings {

namespace py = pybind11;

// A field's value, strictly: bools only True/False, integers never from floats or bools,
// numbers never from bools (bindings/convert.h).
template <typename F>
F convert(py::handle h, const std::string& what) {
  if constexpr (std::is_same_v<F, bool>) {
    return to_bool(h, what);
  } else if constexpr (std::is_integral_v<F>) {
    return to_integer<F>(h, what);
  } else if constexpr (std::is_same_v<F, double>) {
    return to_double(h, what);
  } else if constexpr (std::is_same_v<F, std::string>) {
    return to_string(h, what);
  } else if constexpr (std::is_same_v<F, std::vector<double>>) {
    return to_double_list(h, what);
  } else {
    return to_object<F>(h, what);
  }
}

template <typename S>
class SpecBinder {
 public:
  using Setter = std::function<void(S&, py::handle)>;
  SpecBinder(py::module_& m, const char* name, const char* doc) : cls_(m, name, doc), name_(name) {}

  template <typename F>
  SpecBinder& field(const char* fname, F S::*pm, const char* doc) {
    cls_.def_property_readonly(fname, [pm](const S& s) { return s.*pm; }, doc);
    const std::string full = name_ + "." + fname;
    (*setters_)[fname] = [pm, full](S& s, py::handle h) { s.*pm = convert<F>(h, full); };
    return *this;
  }

  // A field with a custom conversion (e.g. a preset name for a nested spec).
  SpecBinder& custom(const char* fname, std::function<py::object(const S&)> get, Setter set,
                     const char* doc) {
    cls_.def_property_readonly(fname, get, doc);
    (*setters_)[fname] = std::move(set);
    return *this;
  }

  py::class_<S>& finish() {
    auto setters = setters_;
    const std::string name = name_;
    auto apply = [setters, name](S& s, const py::kwargs& kw) {
      for (auto item : kw) {
        const std::string key = py::str(item.first);
        auto it = setters->find(key);
        if (it == setters->end()) {
          std::string fields;
          for (const auto& kv : *setters) fields += (fields.empty() ? "" : ", ") + kv.first;
          throw py::type_error(name + "() got an unexpected keyword '" + key + "'; fields: " + fields);
        }
        it->second(s, item.second);
      }
      s.validate();
    };
    auto keywords_only = [name](const char* call, const py::args& a) {
      if (a.size() > 0)
        throw py::type_error(name + call + " takes keyword arguments only (" + name + "(field=value, ...)), got " +
                             std::to_string(a.size()) + " positional: " + describe(a[0]));
    };
    cls_.def(py::init([apply, keywords_only](const py::args& a, const py::kwargs& kw) {
      keywords_only("()", a);
      S s;
      apply(s, kw);
      return s;
    }));
    cls_.def("replace", [apply, keywords_only](const S& self, const py::args& a, const py::kwargs& kw) {
      keywords_only(".replace()", a);
      S s = self;
      apply(s, kw);
      return s;
    }, "A copy with the given fields changed (validated).");
    cls_.def("__repr__", [](const S& s) { return s.repr(); });
    cls_.def("__eq__", [](const S& a, const S& b) { return a.repr() == b.repr(); }, py::is_operator());
    cls_.def("fields", [setters](const S&) {
      std::vector<std::string> f;
      for (const auto& kv : *setters) f.push_back(kv.first);
      return f;
    }, "Names of the keyword fields.");
    return cls_;
  }

 private:
  py::class_<S> cls_;
  std::string name_;
  std::shared_ptr<std::map<std::string, Setter>> setters_ = std::make_shared<std::map<std::string, Setter>>();
};

}  // namespace mho::bindings
