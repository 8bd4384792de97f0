#include "devices/presets.h"

#include <functional>
#include <map>

#include "common/validate.h"

namespace mho {

namespace {

CellSpec rram_neurosim_22nm() {
  CellSpec s;
  s.name = "rram_neurosim_22nm";
  s.source =
      "NeuroSim V1.4 default RRAM 1T1R, 22 nm: R_on = 100 kOhm (g_max = 10 uS), on/off = 17 "
      "(g_min = g_max/17), area 4x12 = 48 F^2. Assumptions (not in that table): 6 bits per "
      "cell; programming error sigma = 3% of g_max, read noise sigma = 1% of g. Read "
      "conditions NeuroSim's: 0.55 V at 22 nm (Param.cpp readVoltage, fixed by its sense-amp "
      "fits), and 1 ns, the time its current-mode multilevel sense amplifier reads a column "
      "(MultilevelSenseAmp.cpp ColumnLatency_Table at 22 nm, at most 1.0 ns over 1-20 kOhm; "
      "its readPulseWidth of 10 ns times only the voltage-mode read circuit).";
  s.g_max_S = 1.0 / 100e3;
  s.g_min_S = s.g_max_S / 17.0;
  s.bits = 6;
  s.prog_error = "constant";
  s.prog_sigma = {0.03 * s.g_max_S};
  s.read_noise = "proportional";
  s.read_sigma = {0.01};
  s.area_F2 = 48.0;
  s.feature_size_m = 22e-9;
  s.v_read_V = 0.55;
  s.t_read_s = 1e-9;
  return s;
}

CellSpec rram_intel_22nm() {
  CellSpec s = rram_neurosim_22nm();
  s.name = "rram_intel_22nm";
  s.source =
      "NeuroSim V1.4 parameters, Intel 22 nm RRAM: R_on = 6 kOhm, on/off = 17, area 5x12 = "
      "60 F^2. Assumptions as rram_neurosim_22nm for levels, noise and read pulse.";
  s.g_max_S = 1.0 / 6e3;
  s.g_min_S = s.g_max_S / 17.0;
  s.prog_sigma = {0.03 * s.g_max_S};
  s.area_F2 = 60.0;
  return s;
}

CellSpec pcm_joshi2020() {
  CellSpec s;
  s.name = "pcm_joshi2020";
  s.source =
      "Joshi et al., Nat. Commun. 11, 2473 (2020): doped-GST PCM, g_max = 25 uS, programming "
      "error polynomial c = [0.26348, 1.9650, -1.1731] uS, drift nu(g) and 1/f read noise "
      "(Q_s = min(0.0088/u^0.65, 0.2), t_read = 250 ns) from t0 = 20 s. As in that paper (and "
      "IBM aihwkit's PCMLikeNoiseModel, fitted to the same devices): each device of a "
      "differential pair spans [0, g_max], so g_min = 0; programmed conductances are clipped "
      "at 0 only (the iterative programming's error is a spread around the target, past "
      "g_max too); Q_s is a function of the programmed state (the 1/f amplitude is "
      "g(t) Q_s(g(t0))); the 1/f noise is drawn once per read-out campaign (its fluctuation "
      "is slow against a campaign's reads). NeuroSim V1.4 IBM PCM (90 nm): R_on = 40 kOhm "
      "(= g_max; its on/off of 12.5 is not used, see g_min), area 4x4 = 16 F^2. "
      "Assumptions: 4 bits per cell, read pulse 0.2 V, 100 ns.";
  s.g_max_S = 25e-6;
  s.g_min_S = 0.0;
  s.bits = 4;
  s.prog_error = "polynomial";
  s.prog_sigma = {0.26348e-6, 1.9650e-6, -1.1731e-6};
  s.prog_clip = "zero";
  s.read_noise = "pcm_1f";
  s.read_sigma = {0.0088, 0.65, 0.2, 250e-9};
  s.read_noise_state = "programmed";
  s.read_noise_draw = "frozen";
  s.drift = "pcm";
  s.drift_t0_s = 20.0;
  s.area_F2 = 16.0;
  s.feature_size_m = 90e-9;
  s.v_read_V = 0.2;
  s.t_read_s = 100e-9;
  return s;
}

// An SRAM bit cell as mho's cell: binary, read as a conductance g_on = 1/(20 kOhm), g_off =
// g_on/1000 (an assumption: what a current-summing read port draws), no programming error (a
// digital write), a 1 ns read pulse at the node's supply. Charge-domain arrays (accumulation
// "charge") use only its area; their capacitors are the TileSpec's CapSpec.
CellSpec sram_cell(const char* name, const std::string& source, double area_F2, double feature_m, double v_read) {
  CellSpec s;
  s.name = name;
  s.source = source + " Read port (assumption): g_on = 1/(20 kOhm), g_off = g_on/1000, no programming error, 1 ns read.";
  s.g_max_S = 1.0 / 20e3;
  s.g_min_S = s.g_max_S / 1000.0;
  s.bits = 1;
  s.area_F2 = area_F2;
  s.feature_size_m = feature_m;
  s.v_read_V = v_read;
  s.t_read_s = 1e-9;
  return s;
}

// 8T cells (a decoupled read port, as compute-in-memory macros use): NeuroSim V1.4's SRAM cell
// dimensions per node (Param.cpp heightInFeatureSizeSRAM x widthInFeatureSizeSRAM: 10F x 28F
// above 14 nm, 16F x 34.43F at 7 nm). Supplies: data/tech.yaml's node figures.
const std::string kNeuroSimSram = "NeuroSim V1.4 SRAM cell (Param.cpp heightInFeatureSizeSRAM x widthInFeatureSizeSRAM): ";
CellSpec sram_8t_7nm() { return sram_cell("sram_8t_7nm", kNeuroSimSram + "16F x 34.43F = 550.9 F^2 at 7 nm (0.0270 um^2), read at 0.7 V.", 550.88, 7e-9, 0.7); }
CellSpec sram_8t_22nm() { return sram_cell("sram_8t_22nm", kNeuroSimSram + "10F x 28F = 280 F^2 above 14 nm (0.1355 um^2 at 22 nm), read at 0.8 V.", 280.0, 22e-9, 0.8); }
CellSpec sram_8t_28nm() { return sram_cell("sram_8t_28nm", kNeuroSimSram + "10F x 28F = 280 F^2 above 14 nm (0.2195 um^2 at 28 nm), read at 0.88 V.", 280.0, 28e-9, 0.88); }
CellSpec sram_8t_65nm() { return sram_cell("sram_8t_65nm", kNeuroSimSram + "10F x 28F = 280 F^2 above 14 nm (1.183 um^2 at 65 nm), read at 1.0 V.", 280.0, 65e-9, 1.0); }
// 6T high-density cells of foundry processes (published cell areas).
CellSpec sram_6t_7nm() {
  return sram_cell("sram_6t_7nm", "TSMC 7 nm FinFET 6T high-density cell, 0.027 um^2: J. Chang et al., 'A 7nm 256Mb SRAM in high-k metal-gate FinFET technology with write-assist circuitry for low-VMIN applications', ISSCC 2017, paper 12.1 (551 F^2 at F = 7 nm).", 551.02, 7e-9, 0.7);
}
CellSpec sram_6t_22nm() {
  return sram_cell("sram_6t_22nm", "Intel 22 nm tri-gate 6T high-density cell, 0.092 um^2 (the 0.108 um^2 low-voltage cell is the other variant): Intel's 22 nm SRAM test chip, IDF 2009, as reported by The Tech Report (news 17632); 190 F^2 at F = 22 nm.", 190.08, 22e-9, 0.8);
}
// TSMC's 28 nm low-power technology paper (2009 Symposia on VLSI Technology and Circuits) reports a 64 Mb
// SRAM of 0.127 um^2 6T cells; the paper itself was not reachable, so the figure is taken as
// the two trade reports of that paper give it (in the source below).
CellSpec sram_6t_28nm() {
  return sram_cell("sram_6t_28nm", "TSMC 28 nm low-power (SiON, dual/triple gate oxide) technology, 6T cell of 0.127 um^2 in a fully functional 64 Mb SRAM: TSMC's paper at the 2009 Symposia on VLSI Technology and Circuits (Kyoto), as reported by Electronic Design ('TSMC Announces 28nm Milestone', 9 July 2009) and EE Times Asia ('TSMC claims first 28nm SRAM cell', 19 June 2009); 162 F^2 at F = 28 nm, read at the 28 nm node's 0.88 V.", 161.99, 28e-9, 0.88);
}
CellSpec sram_6t_65nm() {
  return sram_cell("sram_6t_65nm", "Intel 65 nm ultra-low-power 6T low-leakage cell, 0.667 um^2: Y. Wang et al., 'A 1.1 GHz 12 uA/Mb-leakage SRAM design in 65 nm ultra-low-power CMOS technology with integrated leakage reduction for mobile applications', IEEE JSSC 43(1), 2008; 158 F^2 at F = 65 nm.", 157.87, 65e-9, 1.0);
}

CellSpec ideal_cell() {
  CellSpec s;
  s.name = "ideal";
  s.source = "no device: an exact linear conductance with 16-bit levels, for reference runs";
  s.g_min_S = 0.0;
  s.g_max_S = 10e-6;
  s.bits = 16;
  return s;
}

const std::map<std::string, std::function<CellSpec()>>& registry() {
  static const std::map<std::string, std::function<CellSpec()>> r = {
      {"rram_neurosim_22nm", rram_neurosim_22nm},
      {"rram_intel_22nm", rram_intel_22nm},
      {"pcm_joshi2020", pcm_joshi2020},
      {"sram_8t_7nm", sram_8t_7nm},
      {"sram_8t_22nm", sram_8t_22nm},
      {"sram_8t_28nm", sram_8t_28nm},
      {"sram_8t_65nm", sram_8t_65nm},
      {"sram_6t_7nm", sram_6t_7nm},
      {"sram_6t_22nm", sram_6t_22nm},
      {"sram_6t_28nm", sram_6t_28nm},
      {"sram_6t_65nm", sram_6t_65nm},
      {"ideal", ideal_cell},
  };
  return r;
}

}  // namespace

CellSpec cell_preset(const std::string& name) {
  const auto& r = registry();
  auto it = r.find(name);
  if (it == r.end()) require_one_of("cell preset", name, cell_preset_names());
  return it->second();
}

std::vector<std::string> cell_preset_names() {
  std::vector<std::string> names;
  for (const auto& kv : registry()) names.push_back(kv.first);
  return names;
}

}  // namespace mho
