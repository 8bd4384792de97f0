#include <pybind11/eigen.h>

#include "bindings/bindings.h"
#include "bindings/convert.h"
#include "bindings/spec_binder.h"
#include "devices/cell_model.h"
#include "devices/presets.h"

namespace mho::bindings {

void bind_devices(py::module_& m) {
  SpecBinder<CellSpec>(m, "CellSpec", "A memory-cell technology (SI units). See devices/cell_spec.h.")
      .field("name", &CellSpec::name, "preset or user name")
      .field("source", &CellSpec::source, "citation of the numbers")
      .field("g_min_S", &CellSpec::g_min_S, "lowest conductance, S")
      .field("g_max_S", &CellSpec::g_max_S, "highest conductance, S")
      .field("bits", &CellSpec::bits, "programmable bits per cell (2^bits levels)")
      .field("prog_error", &CellSpec::prog_error, "'none' | 'constant' | 'proportional' | 'polynomial'")
      .field("prog_sigma", &CellSpec::prog_sigma, "parameters of prog_error")
      .field("prog_clip", &CellSpec::prog_clip, "'range' (clip to [g_min, g_max]) | 'zero' (clip at 0 only)")
      .field("read_noise", &CellSpec::read_noise, "'none' | 'constant' | 'proportional' | 'polynomial' | 'pcm_1f'")
      .field("read_sigma", &CellSpec::read_sigma, "parameters of read_noise")
      .field("read_noise_state", &CellSpec::read_noise_state, "noise level from the 'drifted' | 'programmed' conductance")
      .field("read_noise_draw", &CellSpec::read_noise_draw, "'per_read' | 'frozen' (once per set_time campaign)")
      .field("drift", &CellSpec::drift, "'none' | 'constant' | 'pcm'")
      .field("drift_params", &CellSpec::drift_params, "constant: [nu_mean, nu_std]")
      .field("drift_t0_s", &CellSpec::drift_t0_s, "drift reference time t0, s")
      .field("iv", &CellSpec::iv, "'linear' | 'sinh'")
      .field("iv_v0_V", &CellSpec::iv_v0_V, "sinh I-V characteristic voltage, V")
      .field("stuck_at_min_prob", &CellSpec::stuck_at_min_prob, "probability a cell is stuck at g_min")
      .field("stuck_at_max_prob", &CellSpec::stuck_at_max_prob, "probability a cell is stuck at g_max")
      .field("area_F2", &CellSpec::area_F2, "cell area in F^2")
      .field("feature_size_m", &CellSpec::feature_size_m, "feature size F, m")
      .field("v_read_V", &CellSpec::v_read_V, "full-scale read voltage, V")
      .field("t_read_s", &CellSpec::t_read_s, "read pulse, s")
      .field("wl_cell_cap_F", &CellSpec::wl_cell_cap_F, "word-line load each cell adds beyond the wire, F")
      .field("wl_driver_cap_F", &CellSpec::wl_driver_cap_F, "word-line driver's own capacitance, F")
      .field("wl_v_low_V", &CellSpec::wl_v_low_V, "word line's low level, V (0 with wl_v_high_V 0: ground)")
      .field("wl_v_high_V", &CellSpec::wl_v_high_V, "word line's high level, V (0: the tech table's vdd)")
      .finish();

  py::class_<CellModel> cellModel_cls(m, "CellModel", "Behaviour of a CellSpec: sigma and drift functions.");
  cellModel_cls
      .def(py::init<CellSpec>(), py::arg("spec"))
      .def_property_readonly("spec", &CellModel::spec)
      .def("prog_sigma", &CellModel::prog_sigma, py::arg("g_S"), "programming-error sigma at g, S")
      .def("read_sigma", py::overload_cast<double, double>(&CellModel::read_sigma, py::const_),
           py::arg("g_S"), py::arg("t_s"), "read-noise sigma, S, of a cell at g (drifted = programmed)")
      .def("drift_moments", [](const CellModel& c, double g) {
        double mu, sd;
        c.drift_moments(g, &mu, &sd);
        return py::make_tuple(mu, sd);
      }, py::arg("g_S"), "(mean, std) of the drift exponent nu at g")
      .def("iv_voltage", &CellModel::iv_voltage, py::arg("v_V"), "f(V) with I = G f(V)");
  reject_other_inits(cellModel_cls, "CellModel(spec: CellSpec)");
  reject_other_calls(cellModel_cls, "prog_sigma", "CellModel.prog_sigma(g_S: float)");
  reject_other_calls(cellModel_cls, "read_sigma", "CellModel.read_sigma(g_S: float, t_s: float)");
  reject_other_calls(cellModel_cls, "drift_moments", "CellModel.drift_moments(g_S: float)");
  reject_other_calls(cellModel_cls, "iv_voltage", "CellModel.iv_voltage(v_V: float)");

  m.def("cell_preset", [](py::handle name) { return cell_preset(to_string(name, "cell_preset(name)")); },
        py::arg("name"), "A CellSpec preset by name.");
  m.def("cell_preset_names", &cell_preset_names, "Names of the cell presets.");
}

}  // namespace mho::bindings
