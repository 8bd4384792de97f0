// Binds a validated spec struct as a value: read-only fields, a keyword constructor,
// replace(**kw) (like dataclasses.replace), to_dict() / from_dict(d), equality and hashing by
// value, pickling and copying, and a repr that omits the fields at their defaults.
//
// One field table per spec (SpecFields<S>, filled by .field() and .nested()) serves all of
// them, so a field added to a binding is at once in the dict, the comparison, the hash, the
// pickle and the repr. Unknown keywords or keys, positional arguments and values of the wrong
// type raise TypeError naming the field's path ("TileSpec.adc.bits"); bad values raise
// ValueError from validate(), with the path of the nested spec they were read into.
//
// Data form: to_dict() holds every field; numbers as int or float, names as str, lists of
// numbers as lists, a nested spec as its own full dict (a TileSpec's cell as all of its
// CellSpec fields, never as a preset name, so a saved design means the same cell after a
// preset is revised). from_dict() and the constructor take, for a nested spec, its object, a
// dict of its fields (missing fields at that spec's defaults) or, where the field has
// presets, a preset name. Equality compares the dicts (floats exactly; -0.0 == 0.0 as in
// Python), the hash is that of the same values frozen into tuples.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

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
  } else if constexpr (std::is_same_v<F, std::vector<int>>) {
    return to_int_list(h, what);
  } else {
    return to_object<F>(h, what);
  }
}

// The field table of one spec type, in declaration order.
template <typename S>
struct SpecFields {
  struct Field {
    std::string name;
    std::function<py::object(const S&)> get;   // the Python value (a nested spec as its object)
    std::function<py::object(const S&)> data;  // plain data (a nested spec as its dict)
    std::function<void(S&, py::handle, const std::string& path)> set;
    std::function<std::string(const S&)> repr;  // Python source of the value
  };
  static std::vector<Field>& all() {
    static std::vector<Field> fields;
    return fields;
  }
  static std::string& name() {
    static std::string n;
    return n;
  }
  static std::string names() {
    std::string out;
    for (const auto& f : all()) out += (out.empty() ? "" : ", ") + f.name;
    return out;
  }
  static const Field* find(const std::string& key) {
    for (const auto& f : all())
      if (f.name == key) return &f;
    return nullptr;
  }
};

template <typename S>
py::dict spec_to_dict(const S& s) {
  py::dict d;
  for (const auto& f : SpecFields<S>::all()) d[py::str(f.name)] = f.data(s);
  return d;
}

// s.validate(), its message re-rooted at `path` when s was read as a nested spec
// ("AdcSpec.bits = 99: ..." read into TileSpec.adc -> "TileSpec.adc.bits = 99: ...").
template <typename S>
void validate_at(const S& s, const std::string& path) {
  try {
    s.validate();
  } catch (const std::invalid_argument& e) {
    const std::string& type = SpecFields<S>::name();
    std::string msg = e.what();
    if (path != type && msg.compare(0, type.size() + 1, type + ".") == 0) msg = path + msg.substr(type.size());
    throw py::value_error(msg);
  }
}

template <typename S>
S spec_from_dict(py::handle h, const std::string& path) {
  using T = SpecFields<S>;
  if (!py::isinstance<py::dict>(h))
    throw py::type_error(path + ": expected a dict of " + T::name() + " fields, got " + describe(h));
  S s;
  for (auto item : py::reinterpret_borrow<py::dict>(h)) {
    if (!py::isinstance<py::str>(item.first))
      throw py::type_error(path + ": keys must be field names (str), got " + describe(item.first));
    const std::string key = py::str(item.first);
    const auto* f = T::find(key);
    if (!f) throw py::type_error(path + "." + key + ": unknown key; " + T::name() + " fields: " + T::names());
    f->set(s, item.second, path + "." + key);
  }
  validate_at(s, path);
  return s;
}

// "rows=128, adc=AdcSpec(bits=6)": the fields of s that differ from base.
template <typename S>
std::string fields_repr(const S& s, const S& base) {
  std::string out;
  for (const auto& f : SpecFields<S>::all())
    if (!f.data(s).equal(f.data(base))) out += (out.empty() ? "" : ", ") + f.name + "=" + f.repr(s);
  return out;
}

template <typename S>
std::string spec_repr(const S& s) {
  return SpecFields<S>::name() + "(" + fields_repr(s, S{}) + ")";
}

// Nested dicts and lists as tuples, so that equal data hashes equally.
inline py::object frozen(py::handle v) {
  if (py::isinstance<py::dict>(v)) {
    py::list items;
    for (auto item : py::reinterpret_borrow<py::dict>(v)) items.append(py::make_tuple(item.first, frozen(item.second)));
    return py::tuple(items);
  }
  if (py::isinstance<py::list>(v)) {
    py::list items;
    for (py::handle e : v) items.append(frozen(e));
    return py::tuple(items);
  }
  return py::reinterpret_borrow<py::object>(v);
}

// A nested spec field's presets: a lookup by name (throws std::invalid_argument for an unknown
// name), the field of the nested spec holding that name, and the Python name of the lookup
// (for the repr: cell_preset('pcm_joshi2020').replace(bits=2)).
template <typename F>
struct Presets {
  F (*lookup)(const std::string&) = nullptr;
  std::string F::*key = nullptr;
  const char* python_name = nullptr;
};

template <typename S>
class SpecBinder {
 public:
  using Field = typename SpecFields<S>::Field;

  SpecBinder(py::module_& m, const char* name, const char* doc) : cls_(m, name, doc) {
    SpecFields<S>::name() = name;
    SpecFields<S>::all().clear();
  }

  template <typename F>
  SpecBinder& field(const char* fname, F S::*pm, const char* doc) {
    auto get = [pm](const S& s) { return py::cast(s.*pm); };
    add(fname, doc, get, get, [pm](S& s, py::handle h, const std::string& path) { s.*pm = convert<F>(h, path); },
        [pm](const S& s) { return std::string(py::repr(py::cast(s.*pm))); });
    return *this;
  }

  // A field holding another bound spec F (bound before S).
  template <typename F>
  SpecBinder& nested(const char* fname, F S::*pm, const char* doc, Presets<F> presets = {}) {
    auto set = [pm, presets](S& s, py::handle h, const std::string& path) {
      if (presets.lookup && py::isinstance<py::str>(h)) {
        try {
          s.*pm = presets.lookup(h.cast<std::string>());
        } catch (const std::invalid_argument& e) {
          throw py::value_error(path + ": " + e.what());
        }
      } else if (py::isinstance<py::dict>(h)) {
        s.*pm = spec_from_dict<F>(h, path);
      } else if (py::isinstance<F>(h)) {
        s.*pm = h.cast<const F&>();
      } else {
        throw py::type_error(path + ": expected " + SpecFields<F>::name() + ", got " + describe(h) + " (or a dict of " +
                             SpecFields<F>::name() + " fields" + (presets.lookup ? ", or a preset name)" : ")"));
      }
    };
    // A preset, or a preset with changes, is written as one: 'pcm_joshi2020' or
    // cell_preset('pcm_joshi2020').replace(bits=2).
    auto repr = [pm, presets](const S& s) -> std::string {
      const F& v = s.*pm;
      if (presets.lookup) {
        try {
          const F p = presets.lookup(v.*presets.key);
          const std::string changes = fields_repr(v, p);
          const std::string name = py::repr(py::str(v.*presets.key));
          if (changes.empty()) return name;
          return std::string(presets.python_name) + "(" + name + ").replace(" + changes + ")";
        } catch (const std::invalid_argument&) {
          // not a preset's name: the full repr below
        }
      }
      return spec_repr(v);
    };
    add(fname, doc, [pm](const S& s) { return py::cast(s.*pm); },
        [pm](const S& s) { return py::object(spec_to_dict(s.*pm)); }, set, repr);
    return *this;
  }

  py::class_<S>& finish() {
    using T = SpecFields<S>;
    const std::string name = T::name();
    auto apply = [name](S& s, const py::kwargs& kw) {
      for (auto item : kw) {
        const std::string key = py::str(item.first);
        const auto* f = T::find(key);
        if (!f) throw py::type_error(name + "() got an unexpected keyword '" + key + "'; fields: " + T::names());
        f->set(s, item.second, name + "." + key);
      }
      validate_at(s, name);
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
    cls_.def("to_dict", &spec_to_dict<S>,
             "Every field as plain data (int, float, str, bool, lists; nested specs as dicts).");
    cls_.def_static("from_dict", [name](py::handle d) { return spec_from_dict<S>(d, name); }, py::arg("d"),
                    "The spec a dict of fields describes (to_dict()'s form; missing fields at their "
                    "defaults), validated like the constructor.");
    cls_.def("__repr__", &spec_repr<S>);
    cls_.def("__eq__", [](const S& a, const S& b) { return spec_to_dict(a).equal(spec_to_dict(b)); }, py::is_operator());
    cls_.def("__hash__", [](const S& s) { return py::hash(frozen(spec_to_dict(s))); });
    cls_.def("__copy__", [](const S& s) { return S(s); });
    cls_.def("__deepcopy__", [](const S& s, py::handle) { return S(s); }, py::arg("memo"));
    // Pickled as the state to_dict(), rebuilt by from_dict (validated). __reduce_ex__ is
    // what object's gives for protocol 2 (cls.__new__, then __setstate__), for every protocol:
    // protocols 0 and 1 would otherwise make the instance with object.__new__, which aborts
    // the process for a pybind11 class.
    cls_.def(py::pickle([](const S& s) { return spec_to_dict(s); },
                        [](const py::dict& d) { return spec_from_dict<S>(d, SpecFields<S>::name()); }));
    cls_.def("__reduce_ex__", [](py::handle self, py::handle) {
      return py::make_tuple(py::module_::import("copyreg").attr("__newobj__"), py::make_tuple(py::type::of(self)),
                            spec_to_dict(self.cast<const S&>()));
    }, py::arg("protocol"));
    cls_.def("fields", [](const S&) {
      std::vector<std::string> f;
      for (const auto& x : T::all()) f.push_back(x.name);
      return f;
    }, "Names of the keyword fields, in declaration order.");
    return cls_;
  }

 private:
  template <typename Get, typename Data, typename Set, typename Repr>
  void add(const char* fname, const char* doc, Get get, Data data, Set set, Repr repr) {
    cls_.def_property_readonly(fname, get, doc);
    SpecFields<S>::all().push_back(Field{fname, get, data, set, repr});
  }

  py::class_<S> cls_;
};

}  // namespace mho::bindings
