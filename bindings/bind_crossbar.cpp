#include <pybind11/eigen.h>
#include <pybind11/numpy.h>

#include "bindings/bindings.h"
#include "bindings/convert.h"
#include "bindings/spec_binder.h"
#include "crossbar/blas_runtime.h"
#include "crossbar/gemm.h"
#include "crossbar/resistive_array.h"
#include "crossbar/tile.h"
#include "devices/presets.h"

namespace mho::bindings {

py::dict counters_dict(const TileCounters& c) {
  py::dict d;
  d["cell_reads"] = c.cell_reads;
  d["dac_conversions"] = c.dac_conversions;
  d["driven_rows"] = c.driven_rows;
  d["adc_conversions"] = c.adc_conversions;
  d["shift_adds"] = c.shift_adds;
  d["cell_energy_J"] = c.cell_energy_J();
  d["samples"] = c.samples;
  d["forward_calls"] = c.forward_calls;
  return d;
}

namespace {

// numpy (float32 or float64, 2-D, any memory order) -> the tile's call in that precision.
template <typename Fn>
py::object with_matrix(const std::string& what, py::handle obj, Fn&& fn) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + ": expected a 2-D float32 or float64 numpy array, got " + describe(obj));
  auto arr = py::reinterpret_borrow<py::array>(obj);
  if (arr.ndim() != 2)
    throw py::value_error(what + ": expected a 2-D array (batch x inputs), got " + std::to_string(arr.ndim()) +
                          "-D");
  auto run = [&](auto tag) {
    using T = decltype(tag);
    // Rows with unit column stride (a column block of a C-contiguous batch, as mho.torch
    // passes a layer's row blocks) are read in place: Eigen::Ref takes any row stride.
    const auto item = py::ssize_t(sizeof(T));
    if (arr.dtype().is(py::dtype::of<T>()) && (arr.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) &&
        arr.shape(0) > 1 && arr.shape(1) > 0 && arr.strides(1) == item && arr.strides(0) % item == 0 &&
        arr.strides(0) >= arr.shape(1) * item) {
      Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>> x(static_cast<const T*>(arr.data()), arr.shape(0),
                                                             arr.shape(1), Eigen::OuterStride<>(arr.strides(0) / item));
      return fn(Eigen::Ref<const RowMat<T>>(x));
    }
    auto c = contiguous<T>(arr, what);
    Eigen::Map<const RowMat<T>> x(c.data(), c.shape(0), c.shape(1));
    return fn(Eigen::Ref<const RowMat<T>>(x));
  };
  if (arr.dtype().is(py::dtype::of<float>())) return run(float{});
  if (arr.dtype().is(py::dtype::of<double>())) return run(double{});
  throw py::type_error(what + ": dtype " + std::string(py::str(arr.dtype())) +
                       " is not supported; use float32 or float64");
}

// Samples are numbered by int64 stream counters; an offset beyond 2^62 (far past any run:
// 4.6e18 samples) would overflow offset + batch.
constexpr std::int64_t kMaxSampleOffset = std::int64_t(1) << 62;

std::int64_t sample_offset(py::handle h, std::int64_t batch) {
  if (h.is_none()) return -1;
  const auto v = to_integer<std::int64_t>(h, "Tile.forward(sample_offset)");
  if (v < -1 || v > kMaxSampleOffset - batch)
    throw py::value_error("Tile.forward(sample_offset) = " + std::to_string(v) +
                          ": must be -1 or None (continue after the samples seen) or in [0, 2**62 - batch]");
  return v;
}

}  // namespace

void bind_crossbar(py::module_& m) {
  SpecBinder<WireSpec>(m, "WireSpec", "Wire parasitics of an array, ohms. See crossbar/wire_spec.h.")
      .field("r_row_ohm", &WireSpec::r_row_ohm, "row (word-line) segment resistance")
      .field("r_col_ohm", &WireSpec::r_col_ohm, "column (bit-line) segment resistance")
      .field("r_driver_ohm", &WireSpec::r_driver_ohm, "driver resistance (-1: one row segment)")
      .field("r_sense_ohm", &WireSpec::r_sense_ohm, "sense resistance (-1: one column segment)")
      .finish();

  SpecBinder<CapSpec>(m, "CapSpec", "Capacitors of a charge-domain array. See crossbar/cap_spec.h.")
      .field("name", &CapSpec::name, "preset name, or 'custom'")
      .field("source", &CapSpec::source, "where the constants come from")
      .field("c_unit_F", &CapSpec::c_unit_F, "unit capacitance, F")
      .field("mismatch_sigma", &CapSpec::mismatch_sigma, "relative sigma of one unit capacitor")
      .field("scheme", &CapSpec::scheme, "'bitline_sharing' | 'binary_weighted' | 'c2c'")
      .field("v_dd_V", &CapSpec::v_dd_V, "voltage a fully charged cell holds, V")
      .field("injection_offset_V", &CapSpec::injection_offset_V, "charge-injection offset of every line, V")
      .field("temperature_K", &CapSpec::temperature_K, "temperature of the kT/C noise, K")
      .field("density_F_per_m2", &CapSpec::density_F_per_m2,
             "capacitance per layout area of the cells' capacitors, F/m^2 (0: above the cell, no area)")
      .finish();

  m.def("cap_preset", [](py::handle name) { return cap_preset(to_string(name, "cap_preset(name)")); },
        py::arg("name"), "The CapSpec of a published charge-domain macro (see crossbar/cap_spec.h).");
  m.def("cap_preset_names", &cap_preset_names, "Names of the capacitor presets.");
  m.def("mom_mismatch_sigma", [](double c_unit_F) { return mom_mismatch_sigma(c_unit_F); }, py::arg("c_unit_F"),
        "Relative sigma of one unit capacitor of c_unit_F (F) by the SKY130 MOM capacitor models: "
        "0.98 % x sqrt(1 fF / C) (crossbar/cap_spec.h).");

  SpecBinder<TileSpec>(m, "TileSpec", "One crossbar array and its periphery. See crossbar/tile_spec.h.")
      .field("rows", &TileSpec::rows, "word lines (inputs)")
      .field("cols", &TileSpec::cols, "bit lines (physical columns)")
      .field("weight_bits", &TileSpec::weight_bits, "weight code bits (0 = analog weights)")
      .field("bits_per_cell", &TileSpec::bits_per_cell, "bits per slice (0 = the cell's bits)")
      .field("weight_scale", &TileSpec::weight_scale, "'per_tensor' | 'per_column'")
      .field("encoding", &TileSpec::encoding, "'differential' | 'offset'")
      .field("subtract", &TileSpec::subtract, "'analog' | 'digital'")
      .field("accumulation", &TileSpec::accumulation, "'current' (summed currents) | 'charge' (shared charge)")
      .nested("cap", &TileSpec::cap, "CapSpec (capacitors, accumulation='charge'), or a preset name",
              Presets<CapSpec>{&cap_preset, &CapSpec::name, "cap_preset"})
      .nested("cell", &TileSpec::cell, "CellSpec, or a preset name",
              Presets<CellSpec>{&cell_preset, &CellSpec::name, "cell_preset"})
      .nested("dac", &TileSpec::dac, "DacSpec")
      .nested("adc", &TileSpec::adc, "AdcSpec")
      .nested("wires", &TileSpec::wires, "WireSpec (wire parasitics)")
      .field("programming_error", &TileSpec::programming_error, "apply programming error")
      .field("read_noise", &TileSpec::read_noise, "apply per-read noise")
      .field("drift", &TileSpec::drift, "apply conductance drift")
      .field("stuck_at", &TileSpec::stuck_at, "apply stuck-at faults")
      .field("nonlinear_iv", &TileSpec::nonlinear_iv, "apply the cell's I-V nonlinearity")
      .field("drift_compensation", &TileSpec::drift_compensation,
             "'none' | 'global' | 'per_column' (from reference reads, see crossbar/tile.h)")
      .field("read_noise_method", &TileSpec::read_noise_method, "'aggregate' | 'per_cell'")
      .field("seed", &TileSpec::seed, "seed of every random stream")
      .finish()
      .def_static("ideal", &TileSpec::ideal, py::arg("rows"), py::arg("cols"),
                  "Every non-ideality off: the tile computes X @ W exactly.")
      .def("max_outputs", &TileSpec::max_outputs, "the most outputs (weight columns) one array holds")
      .def("adcs_per_array", &TileSpec::adcs_per_array, "ADCs of one full array");
  auto tile_spec_cls = py::reinterpret_borrow<py::class_<TileSpec>>(m.attr("TileSpec"));
  reject_other_static_calls(tile_spec_cls, "ideal", "TileSpec.ideal(rows: int, cols: int)");

  py::class_<Tile> tile_cls(m, "Tile", "A crossbar tile holding one weight block. See crossbar/tile.h.");
  tile_cls
      .def(py::init([](py::handle spec, py::handle tile_id) {
             return Tile(to_object<TileSpec>(spec, "Tile(spec)"), to_integer<std::uint64_t>(tile_id, "Tile(tile_id)"));
           }),
           py::arg("spec"), py::arg("tile_id") = 0)
      .def_property_readonly("spec", &Tile::spec)
      .def_property_readonly("tile_id", &Tile::tile_id)
      .def("program", [](Tile& t, py::handle w, py::handle chip) {
             const auto c = to_integer<std::uint64_t>(chip, "Tile.program(chip)");
             const auto a = real_array<double>(w, "Tile.program(weights)", 2, 2);
             t.program(Eigen::Map<const RowMat<double>>(a.data(), a.shape(0), a.shape(1)), c);
           },
           py::arg("weights"), py::arg("chip") = 0,
           "Program a weight block (inputs x outputs) for simulated chip `chip`.")
      .def("set_time", [](Tile& t, py::handle t_s) { t.set_time(to_double(t_s, "Tile.set_time(t_s)")); },
           py::arg("t_s"), "Age the array to t_s seconds after programming (finite, in [0, 1e10]).")
      .def_property_readonly("time", &Tile::time)
      .def("calibrate", [](Tile& t, py::handle x) {
        return with_matrix("Tile.calibrate(x)", x, [&](auto ref) {
          t.calibrate(ref);
          return py::object(py::none());
        });
      }, py::arg("x"), "Set calibrated DAC/ADC ranges from a batch of inputs.")
      .def("forward", [](Tile& t, py::handle x, py::handle offset) {
        return with_matrix("Tile.forward(x)", x, [&](auto ref) {
          auto y = t.forward(ref, sample_offset(offset, ref.rows()));
          return py::object(py::cast(std::move(y)));
        });
      }, py::arg("x"), py::arg("sample_offset") = -1,
         "Batch x inputs -> batch x outputs (weight * input units), same dtype as x.")
      .def_property_readonly("programmed", &Tile::programmed)
      .def_property_readonly("calibrated", &Tile::calibrated)
      .def_property_readonly("num_inputs", &Tile::num_inputs)
      .def_property_readonly("num_outputs", &Tile::num_outputs)
      .def_property_readonly("num_slices", &Tile::num_slices)
      .def_property_readonly("physical_columns", &Tile::physical_columns)
      .def_property_readonly("conductances", &Tile::conductances, "at the current time, S")
      .def_property_readonly("programmed_conductances", &Tile::programmed_conductances, "S")
      .def_property_readonly("target_conductances", &Tile::target_conductances, "S")
      .def_property_readonly("drift_exponents", &Tile::drift_exponents)
      .def_property_readonly("state_bytes", &Tile::state_bytes,
                             "bytes the tile holds (its buffers and object; see crossbar/tile.h)")
      .def_property_readonly("dac_range", &Tile::dac_range)
      .def_property_readonly("wire_factor_seconds", &Tile::wire_factor_seconds)
      .def_property_readonly("drift_scale", &Tile::drift_scale, "drift-compensation factor per output")
      .def_property_readonly("adc_ranges", &Tile::adc_ranges, "[plane][group] full scale, A")
      .def_property_readonly("last_counters", [](const Tile& t) { return counters_dict(t.last_counters()); })
      .def_property_readonly("total_counters", [](const Tile& t) { return counters_dict(t.total_counters()); })
      .def("reset_counters", &Tile::reset_counters);
  reject_other_inits(tile_cls, "Tile(spec: TileSpec, tile_id: int = 0)");
  reject_other_calls(tile_cls, "program", "Tile.program(weights: 2-D array, chip: int = 0)");
  reject_other_calls(tile_cls, "set_time", "Tile.set_time(t_s: float)");
  reject_other_calls(tile_cls, "calibrate", "Tile.calibrate(x: 2-D float32/float64 array)");
  reject_other_calls(tile_cls, "forward", "Tile.forward(x: 2-D float32/float64 array, sample_offset: int | None = -1)");


  m.def("_available_memory_bytes", [] {
    const std::size_t b = available_memory_bytes();
    return b == std::numeric_limits<std::size_t>::max() ? py::object(py::none()) : py::object(py::int_(b));
  }, "Bytes the kernel could give this process now (MemAvailable), or None if unknown.");
  m.def("_ir_drop", [](py::handle g_obj, py::handle v_obj, py::handle w_obj, py::handle nodes_obj) {
        const auto ga = real_array<double>(g_obj, "ir_drop(G)", 2, 2);
        const auto va = real_array<double>(v_obj, "ir_drop(V)", 2, 2);
        const WireSpec& w = to_object<WireSpec>(w_obj, "ir_drop(wires)");
        const bool nodes = to_bool(nodes_obj, "ir_drop(nodes)");
        const Eigen::MatrixXd g = Eigen::Map<const RowMat<double>>(ga.data(), ga.shape(0), ga.shape(1));
        const Eigen::Map<const RowMat<double>> v(va.data(), va.shape(0), va.shape(1));
        ResistiveArray arr(g, w);
        RowMat<double> rn, cn;
        if (nodes) arr.node_voltages(v, &rn, &cn);
        return py::make_tuple(arr.currents(v), rn, cn, arr.factor_seconds(), arr.unknowns());
      }, py::arg("g_S"), py::arg("v_V"), py::arg("wires"), py::arg("nodes") = false,
      "Column currents (batch x cols) of a crossbar with wire resistance; see mho.ir_drop.");
  reject_other_calls(m, "_ir_drop", "_ir_drop(g_S: 2-D array, v_V: 2-D array, wires: WireSpec, nodes: bool = False)");

  m.def("set_num_threads", [](py::handle n) { set_num_threads(to_integer<int>(n, "set_num_threads(n)")); },
        py::arg("n"), "Threads of mho's passes and products (results never depend on it).");
  m.def("get_num_threads", &get_num_threads);
  m.def("blas_config", &blas_config);
  m.def("blas_kernel", &blas_kernel);
  m.def("blas_kernel_is_generic", &blas_kernel_is_generic);
  m.def("preferred_blas_kernel", &preferred_blas_kernel);
  m.def("blas_self_check", [] {
    std::string detail;
    const bool ok = blas_self_check(&detail);
    return py::make_tuple(ok, detail);
  });
  m.def("blas_measure_gflops", [](int m, int n, int k, bool as_mho) {
    py::gil_scoped_release release;
    return blas_measure_gflops(m, n, k, as_mho);
  }, py::arg("m"), py::arg("n"), py::arg("k"), py::arg("as_mho"));

}

}  // namespace mho::bindings
