// CapSpec: the capacitors of a charge-domain array (TileSpec.accumulation = "charge").
//
// Each cell's capacitor is charged to V_DD x (drive level x stored level) and the caps of a
// column then share their charge on its line, which settles at the average
// V_j = sum_i C_ij V_ij / sum_i C_ij (all `rows` cells of the column are on the line, also
// those the programmed block leaves unused, charged to 0). How a stored level l of L sits in
// the cell (`scheme`, see crossbar/charge_domain.h):
//   "bitline_sharing"  one unit capacitor per cell, charged to V_DD l / L (a 1-bit cell:
//                      V_DD (input bit AND weight bit));
//   "binary_weighted"  one capacitor of 2^k units per bit k of the level, each charged to
//                      V_DD x bit k (Dong et al. ISSCC 2020 style): cell capacitance L units;
//   "c2c"              a C-2C ladder per cell whose output is V_DD l / 2^b behind a Thevenin
//                      capacitance of 2 units (Wang et al. VLSI 2022 style).
// Non-idealities: capacitor mismatch (TileSpec.programming_error; frozen per cell per
// programming, relative sigma `mismatch_sigma` for one unit capacitor and sigma / sqrt(n) for a
// capacitor of n units, Pelgrom's area law with area proportional to capacitance), kT/C noise
// of the shared line per readout (TileSpec.read_noise; variance k_B T / C_line), and a
// charge-injection offset `injection_offset_V` on every line (it cancels where two lines are
// subtracted, as in a differential readout, except through the converter's quantization and
// clipping).
// Energy (TileCounters' cell energy, the cost report's "arrays"): each pass draws from V_DD the
// charge that fills the cells' capacitors, V_DD sum_cells C V_cell = C_u V_DD^2 sum_i |n_i| x
// (sum_j l_ij / L bit-line sharing, sum_j l_ij binary-weighted, the C-2C ladder's charge),
// linear in the drive level n_i; sharing and reset draw nothing, and the line has no wire
// capacitance of its own (crossbar/charge_domain.h, with the C-2C ladder's derivation and
// what it leaves out).
#pragma once

#include <string>
#include <vector>

namespace mho {

struct CapSpec {
  std::string name = "custom";
  std::string source = "";
  // CiMLoop's model of Jia et al., JSSC 2020 (65 nm charge-domain SRAM macro), repository
  // mit-emze/cimloop, workspace/models/arch/1_macro/jia_jssc_2020/arch.yaml:
  // bitcell_capacitor capacitance 2e-15 F (the paper itself was not reachable here).
  double c_unit_F = 2e-15;
  // The default is 0 (no mismatch); the presets take mom_mismatch_sigma(c_unit_F), a foundry's
  // metal-oxide-metal capacitor matching (below); set it from the process's matching data.
  double mismatch_sigma = 0.0;
  std::string scheme = "bitline_sharing";  // "bitline_sharing" | "binary_weighted" | "c2c"
  // The same model's VOLTAGE: 0.85 (jia_jssc_2020/variables_iso.yaml), the paper's low-voltage
  // operating point.
  double v_dd_V = 0.85;
  double injection_offset_V = 0.0;
  double temperature_K = 300.0;  // room temperature, the usual kT/C reference
  // Capacitance per unit of layout area of the cells' capacitors, F/m^2: they add
  // cap_units_per_cell x c_unit_F / density_F_per_m2 to each cell's area. 0: the capacitors sit
  // above the cell in the metal stack and add no area (Jia et al.'s stacked bit-cell capacitor).
  double density_F_per_m2 = 0.0;

  void validate() const;
  std::string repr() const;
};

// Unit capacitors in one cell of `level_bits` stored bits: bit-line sharing 1, binary-weighted
// 2^b - 1 (1 + 2 + ... + 2^(b-1)), a C-2C ladder 3 per bit (a C and a 2C per stage).
double cap_units_per_cell(const CapSpec& cap, int level_bits);

// Relative sigma of one unit capacitor of c_unit_F (F) by a foundry's metal-oxide-metal
// capacitor models (SKY130, 130 nm; cap_spec.cpp has the derivation): 0.98 % x sqrt(1 fF / C).
// The presets' mismatch_sigma; a design that changes a preset's c_unit_F sets mismatch_sigma
// to this again if it wants the same matching law.
double mom_mismatch_sigma(double c_unit_F);

// Capacitor models of published charge-domain SRAM macros, each constant with its `source`
// (cap_spec.cpp). No 28 nm macro's capacitor figures were reachable, so there is none for it.
CapSpec cap_preset(const std::string& name);
std::vector<std::string> cap_preset_names();

}  // namespace mho
