// Strict conversions of Python arguments, with errors in Python terms.
//
// pybind11's own casters are lenient where mho must not be (None and 1.0 become bools, a
// numpy float32 4.5 becomes the integer 4) and report a wrong argument as an overload dump
// with C++ type names. These helpers name the argument ("Tile.forward(x)") and what it must
// be, and raise TypeError, ValueError or MemoryError as Python code would.
#pragma once

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace mho::bindings {

namespace py = pybind11;

inline std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

// "float 4.5", "str 'abc'": the argument as the user wrote it (long reprs shortened).
inline std::string describe(py::handle h) {
  if (py::isinstance<py::array>(h)) {
    const auto a = py::reinterpret_borrow<py::array>(h);
    std::string shape;
    for (py::ssize_t d = 0; d < a.ndim(); ++d) shape += (d ? ", " : "") + std::to_string(a.shape(d));
    return "ndarray of " + std::string(py::str(a.dtype())) + ", shape (" + shape + (a.ndim() == 1 ? ",)" : ")");
  }
  std::string r = py::repr(h);
  if (r.size() > 60) r = r.substr(0, 57) + "...";
  return type_name(h) + " " + r;
}

inline bool is_numpy(py::handle h, const char* numpy_type) {
  const py::object np = py::module_::import("numpy");
  return py::isinstance(h, np.attr(numpy_type));
}

// True or False (numpy.bool_ too); None, 0, 1.0 are not booleans.
inline bool to_bool(py::handle h, const std::string& what) {
  if (PyBool_Check(h.ptr()) || is_numpy(h, "bool_")) return PyObject_IsTrue(h.ptr()) == 1;
  throw py::type_error(what + ": expected True or False, got " + describe(h));
}

// A Python or numpy integer (not a bool, never a float: a fraction would be truncated).
template <typename I>
I to_integer(py::handle h, const std::string& what) {
  static_assert(std::is_integral_v<I>);
  if (PyBool_Check(h.ptr()) || is_numpy(h, "bool_") || PyFloat_Check(h.ptr()) || !PyIndex_Check(h.ptr()))
    throw py::type_error(what + ": expected an integer, got " + describe(h));
  const py::int_ v = py::reinterpret_steal<py::int_>(PyNumber_Index(h.ptr()));
  if (!v) throw py::error_already_set();
  const py::int_ lo(std::numeric_limits<I>::min()), hi(std::numeric_limits<I>::max());
  if (v < lo || v > hi)
    throw py::value_error(what + " = " + std::string(py::repr(v)) + ": must be in [" + std::string(py::repr(lo)) +
                          ", " + std::string(py::repr(hi)) + "]");
  return v.cast<I>();
}

// A real number: Python or numpy float or integer, not a bool or a string. Range checks are
// the spec's (validate()), which also reject NaN and infinity.
inline double to_double(py::handle h, const std::string& what) {
  const bool number = PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || is_numpy(h, "floating") ||
                      is_numpy(h, "integer");
  if (!number || PyBool_Check(h.ptr()))
    throw py::type_error(what + ": expected a number, got " + describe(h));
  return PyFloat_AsDouble(h.ptr());
}

// A list (any iterable but a string, bytes or dict) of `what`'s elements, each converted by
// element(item, "what[i]").
template <typename T, typename F>
std::vector<T> to_list(py::handle h, const std::string& what, const char* of, F element) {
  if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h) || py::isinstance<py::dict>(h) ||
      !py::isinstance<py::iterable>(h))
    throw py::type_error(what + ": expected a list of " + of + ", got " + describe(h));
  std::vector<T> out;
  std::size_t i = 0;
  for (py::handle e : py::reinterpret_borrow<py::iterable>(h)) out.push_back(element(e, what + "[" + std::to_string(i++) + "]"));
  return out;
}

inline std::vector<double> to_double_list(py::handle h, const std::string& what) {
  return to_list<double>(h, what, "numbers", [](py::handle e, const std::string& w) { return to_double(e, w); });
}

inline std::vector<int> to_int_list(py::handle h, const std::string& what) {
  return to_list<int>(h, what, "integers", [](py::handle e, const std::string& w) { return to_integer<int>(e, w); });
}

inline std::string to_string(py::handle h, const std::string& what) {
  if (!py::isinstance<py::str>(h)) throw py::type_error(what + ": expected a string, got " + describe(h));
  return h.cast<std::string>();
}

// A file path: str or os.PathLike.
inline std::string to_path(py::handle h, const std::string& what) {
  const py::object p = py::module_::import("os").attr("fspath");
  if (!py::isinstance<py::str>(h) && !py::hasattr(h, "__fspath__"))
    throw py::type_error(what + ": expected a path (str or os.PathLike), got " + describe(h));
  const py::object s = p(h);
  if (!py::isinstance<py::str>(s)) throw py::type_error(what + ": expected a str path, got " + describe(s));
  return s.cast<std::string>();
}

// An instance of a bound class (TileSpec, Network, ...), by its Python name.
template <typename T>
const T& to_object(py::handle h, const std::string& what) {
  if (!py::isinstance<T>(h)) {
    const std::string expect = py::str(py::type::of<T>().attr("__name__"));
    throw py::type_error(what + ": expected " + expect + ", got " + describe(h));
  }
  return h.cast<const T&>();
}

// Bytes the kernel could give this process now without swapping (/proc/meminfo MemAvailable);
// the largest size_t where that is unknown.
inline std::size_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return std::numeric_limits<std::size_t>::max();
}

inline std::string gigabytes(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g GB", bytes / 1e9);
  return b;
}

// "(str 'x', chip=float 1.5)": the arguments of a call, for an error message.
inline std::string describe_call(const py::args& a, const py::kwargs& kw, std::size_t skip) {
  std::string out;
  for (std::size_t i = skip; i < a.size(); ++i) out += (out.empty() ? "" : ", ") + describe(a[i]);
  for (auto item : kw) out += (out.empty() ? "" : ", ") + std::string(py::str(item.first)) + "=" + describe(item.second);
  return "(" + out + ")";
}

// Registers, after a function's real overload, one that takes any arguments and raises a
// TypeError in Python terms ("Network.layer(index: int): got (str 'a')"): pybind11 would
// otherwise report a mismatch as an overload dump with C++ type names.
template <typename Scope>
void reject_other_calls(Scope& scope, const char* name, const std::string& signature) {
  constexpr bool method = !std::is_same_v<Scope, py::module_>;
  scope.def(name, [signature](const py::args& a, const py::kwargs& kw) -> py::object {
    throw py::type_error(signature + ": got " + describe_call(a, kw, method ? 1 : 0));
  });
}

template <typename T>
void reject_other_static_calls(py::class_<T>& cls, const char* name, const std::string& signature) {
  cls.def_static(name, [signature](const py::args& a, const py::kwargs& kw) -> py::object {
    throw py::type_error(signature + ": got " + describe_call(a, kw, 0));
  });
}

template <typename T>
void reject_other_inits(py::class_<T>& cls, const std::string& signature) {
  cls.def(py::init([signature](const py::args& a, const py::kwargs& kw) -> T* {
    throw py::type_error(signature + ": got " + describe_call(a, kw, 0));
  }));
}

template <typename T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// A C-contiguous array of T viewing `arr` or, where its layout or dtype differ, a copy of it.
// The copy is refused with MemoryError before it starts when it cannot fit in the memory
// available (a broadcast view of 10^9 rows would otherwise be half copied, or swap), and a
// failed numpy allocation propagates as numpy's MemoryError (pybind11's ensure() returns a
// null array instead, which the caller would then read: SIGSEGV).
template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> contiguous(const py::array& arr, const std::string& what) {
  using A = py::array_t<T, py::array::c_style | py::array::forcecast>;
  if (py::isinstance<A>(arr) && (arr.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    return py::reinterpret_borrow<A>(arr);
  double bytes = double(sizeof(T));
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) bytes *= double(arr.shape(d));
  // Small copies are just made; /proc/meminfo is read only for those that could matter.
  constexpr double kAlwaysFits = 64.0 * (1 << 20);
  const double avail = bytes > kAlwaysFits ? double(available_memory_bytes()) : bytes;
  if (bytes > avail) {
    std::string shape;
    for (py::ssize_t d = 0; d < arr.ndim(); ++d) shape += (d ? "x" : "") + std::to_string(arr.shape(d));
    PyErr_SetString(PyExc_MemoryError, (what + ": a contiguous " + dtype_name<T>() + " copy of the " + shape +
                                        " array needs " + gigabytes(bytes) + ", " + gigabytes(avail) +
                                        " available; pass a smaller batch")
                                           .c_str());
    throw py::error_already_set();
  }
  return A(arr);  // a failed allocation throws numpy's MemoryError
}

// A real-valued array (numpy of a bool, integer or float dtype, or a nested list of numbers)
// of ndim in [min_ndim, max_ndim] as a C-contiguous array of T.
template <typename T>
py::array_t<T, py::array::c_style | py::array::forcecast> real_array(py::handle h, const std::string& what,
                                                                       int min_ndim, int max_ndim) {
  py::object obj = py::reinterpret_borrow<py::object>(h);
  if (!py::isinstance<py::array>(obj)) {
    if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj))
      throw py::type_error(what + ": expected a numpy array, got " + describe(h));
    obj = py::module_::import("numpy").attr("asarray")(obj);
  }
  const py::array arr = py::reinterpret_borrow<py::array>(obj);
  const char kind = arr.dtype().kind();
  if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f')
    throw py::type_error(what + ": expected an array of numbers, got dtype " + std::string(py::str(arr.dtype())));
  if (arr.ndim() < min_ndim || arr.ndim() > max_ndim)
    throw py::value_error(what + ": expected a " +
                          (min_ndim == max_ndim ? std::to_string(min_ndim) : std::to_string(min_ndim) + "- to " +
                                                                                  std::to_string(max_ndim)) +
                          "-D array, got " + std::to_string(arr.ndim()) + "-D");
  return contiguous<T>(arr, what);
}

}  // namespace mho::bindings
