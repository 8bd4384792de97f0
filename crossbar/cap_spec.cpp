#include "crossbar/cap_spec.h"

#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include "common/validate.h"

namespace mho {

void CapSpec::validate() const {
  // A bit-cell capacitor is 0.1-10 fF (CiMLoop's Jia et al. model: 2 fF); 1 nF is far past any on-chip cell,
  // and 1 aF is below any drawn capacitor.
  require_finite_in("CapSpec.c_unit_F", c_unit_F, 1e-18, 1e-9);
  // A relative sigma of 1 would let a capacitor go negative within a sigma.
  require_finite_in("CapSpec.mismatch_sigma", mismatch_sigma, 0.0, 0.5);
  require_one_of("CapSpec.scheme", scheme, {"bitline_sharing", "binary_weighted", "c2c"});
  // Supplies of CMOS nodes from 7 nm (0.5 V) to 130 nm (1.2-3.3 V I/O): 10 V bounds them all.
  require_finite_positive("CapSpec.v_dd_V", v_dd_V, 10.0);
  require_finite_in("CapSpec.injection_offset_V", injection_offset_V, -10.0, 10.0);
  // Cryogenic (4 K) to beyond automotive (450 K): 1000 K bounds every operating point.
  require_finite_positive("CapSpec.temperature_K", temperature_K, 1000.0);
  // MOM/MIM capacitors reach 1-30 fF/um^2 (1e-3 to 3e-2 F/m^2); 1 F/m^2 bounds any of them.
  require_finite_in("CapSpec.density_F_per_m2", density_F_per_m2, 0.0, 1.0);
}

double cap_units_per_cell(const CapSpec& cap, int level_bits) {
  if (cap.scheme == "binary_weighted") return std::ldexp(1.0, level_bits) - 1.0;
  if (cap.scheme == "c2c") return 3.0 * level_bits;
  return 1.0;
}

// SkyWater SKY130 (130 nm) foundry SPICE models, google/skywater-pdk-libs-sky130_fd_pr at
// f62031a, cells/cap_vpp_01p8x01p8_m1m2_noshield: the 0.7833 fF metal-oxide-metal capacitor's
// mismatch block `vary ..._slope dist=gauss std=0.0183` scaled by 0.85105 sqrt(0.50527 / mult)
// in ctot_a, so sigma(C)/C = 1.107 % for one device (mult = 1), i.e. 0.98 % x sqrt(1 fF / C)
// by Pelgrom's area law (the same models' larger MOM cells, 4-94 fF, give 1.2-1.7 % sqrt(fF)).
// A 130 nm process's figure: no capacitor-matching data of the macros' own processes was
// reachable.
double mom_mismatch_sigma(double c_unit_F) {
  if (!(c_unit_F > 0.0) || !std::isfinite(c_unit_F))
    reject("mom_mismatch_sigma(c_unit_F)", to_text(c_unit_F), "a finite capacitance > 0, F");
  constexpr double kModelC_F = 7.833e-16;  // the model's nominal ctot_a
  const double model_sigma = 0.85105 * std::sqrt(0.50527) * 0.0183;
  return model_sigma * std::sqrt(kModelC_F / c_unit_F);
}

namespace {
constexpr const char* kMomMatchingSource =
    " Mismatch: sigma 0.98 % x sqrt(1 fF / C_u) for a unit capacitor, from the SkyWater SKY130 "
    "(130 nm) foundry models of a 0.78 fF MOM capacitor (sky130_fd_pr cap_vpp_01p8x01p8_m1m2_noshield: "
    "1.107 % per device), not the macro's own process.";
// CiMLoop (Andrulis, Sze, Emer, ISPASS 2024) models each macro in the repository
// mit-emze/cimloop, workspace/models/arch/1_macro/<macro>/{arch,variables_iso}.yaml; the
// figures below are that model's (the papers themselves were not reachable from here).
// Capacitor mismatch is in none of them; cap_preset gives each preset's unit capacitor the
// sigma of mom_mismatch_sigma (above), the only capacitor-matching figure reachable from here.
CapSpec jia_65nm() {
  CapSpec c;
  c.name = "sram_65nm_jia2020";
  c.source =
      "Jia et al., JSSC 2020, 65 nm charge-domain SRAM (1-bit cells sharing charge on the bit "
      "line), as modelled by CiMLoop (mit-emze/cimloop 1_macro/jia_jssc_2020): "
      "bitcell_capacitor capacitance 2e-15 F; VOLTAGE 0.85 V.";
  c.scheme = "bitline_sharing";
  c.c_unit_F = 2e-15;
  c.v_dd_V = 0.85;
  return c;
}
CapSpec dong_7nm() {
  CapSpec c;
  c.name = "sram_7nm_dong2020";
  c.source =
      "Dong et al., ISSCC 2020 / Sinangil et al., JSSC 2021, 7 nm 8T SRAM, 4-bit weights on 4 "
      "cells with binary-weighted capacitors, as modelled by CiMLoop (mit-emze/cimloop "
      "1_macro/sinangil_jssc_2021): binary_weighting_capacitors capacitance 1e-15 * 2^4 F for a "
      "4-cell weight (unit 1 fF); VOLTAGE 0.8 V.";
  c.scheme = "binary_weighted";
  c.c_unit_F = 1e-15;
  c.v_dd_V = 0.8;
  return c;
}
CapSpec wang_22nm() {
  CapSpec c;
  c.name = "sram_22nm_wang2022";
  c.source =
      "Wang et al., VLSI 2022, 22 nm SRAM with C-2C ladder multipliers, as modelled by CiMLoop "
      "(mit-emze/cimloop 1_macro/wang_vlsi_2022): c2c multiplier unit_capacitance 2e-15 F; "
      "VOLTAGE 1 V.";
  c.scheme = "c2c";
  c.c_unit_F = 2e-15;
  c.v_dd_V = 1.0;
  return c;
}
const std::map<std::string, std::function<CapSpec()>>& cap_presets() {
  static const std::map<std::string, std::function<CapSpec()>> presets = {
      {"sram_65nm_jia2020", jia_65nm}, {"sram_7nm_dong2020", dong_7nm}, {"sram_22nm_wang2022", wang_22nm}};
  return presets;
}
}  // namespace

CapSpec cap_preset(const std::string& name) {
  const auto& p = cap_presets();
  const auto it = p.find(name);
  if (it == p.end()) {
    std::string names;
    for (const auto& kv : p) names += (names.empty() ? "" : ", ") + kv.first;
    reject("cap_preset(name)", "'" + name + "'", "must be one of " + names + " (or 'custom' fields)");
  }
  // Every preset's capacitors match as the foundry MOM models say (above).
  CapSpec c = it->second();
  c.mismatch_sigma = mom_mismatch_sigma(c.c_unit_F);
  c.source += kMomMatchingSource;
  return c;
}

std::vector<std::string> cap_preset_names() {
  std::vector<std::string> names;
  for (const auto& kv : cap_presets()) names.push_back(kv.first);
  return names;
}

std::string CapSpec::repr() const {
  std::ostringstream os;
  os << "CapSpec(name='" << name << "', c_unit_F=" << c_unit_F << ", mismatch_sigma=" << mismatch_sigma << ", scheme='"
     << scheme << "', v_dd_V=" << v_dd_V << ", injection_offset_V=" << injection_offset_V
     << ", temperature_K=" << temperature_K << ", density_F_per_m2=" << density_F_per_m2 << ")";
  return os.str();
}

}  // namespace mho
