#include "devices/cell_spec.h"

#include <cmath>
#include <sstream>

#include "common/validate.h"

namespace mho {

namespace {
void require_params(const std::string& field, const std::string& kind,
                    const std::vector<double>& p, std::size_t lo, std::size_t hi) {
  if (p.size() < lo || p.size() > hi)
    reject(field, "a list of " + std::to_string(p.size()) + " values",
           "kind '" + kind + "' takes " +
               (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
               " values");
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!std::isfinite(p[i]))
      reject(field + "[" + std::to_string(i) + "]", to_text(p[i]), "must be finite");
}

// Bounds of the noise and drift parameters. Published cells have sigma of a few percent of
// g (NeuroSim, Joshi et al. 2020: 1-3 %), so sigma = 10 x g (k <= 10) or 1 S (a 1-ohm cell's
// whole conductance) is already far beyond any device, while keeping sigma^2 sums and their
// square roots finite (read_sigma = 1e300 overflows them).
constexpr double kMaxSigmaS = 1.0;       // constant sigma, polynomial coefficients (siemens)
constexpr double kMaxRelSigma = 10.0;    // proportional k, pcm_1f q0 and q_max
constexpr double kMaxPcmExponent = 10.0; // pcm_1f: Joshi et al. fit 0.65
constexpr double kMaxPcmReadS = 1.0;     // pcm_1f read time: Joshi et al. 250 ns

void validate_sigma_model(const std::string& kind_field, const std::string& kind,
                          const std::string& param_field, const std::vector<double>& p,
                          bool allow_pcm) {
  std::vector<std::string> kinds = {"none", "constant", "proportional", "polynomial"};
  if (allow_pcm) kinds.push_back("pcm_1f");
  require_one_of(kind_field, kind, kinds);
  if (kind == "none") {
    require_params(param_field, kind, p, 0, 0);
  } else if (kind == "constant") {
    require_params(param_field, kind, p, 1, 1);
    require_finite_in(param_field + "[0] (sigma_S)", p[0], 0.0, kMaxSigmaS);
  } else if (kind == "proportional") {
    require_params(param_field, kind, p, 1, 1);
    require_finite_in(param_field + "[0] (k)", p[0], 0.0, kMaxRelSigma);
  } else if (kind == "polynomial") {
    require_params(param_field, kind, p, 1, 6);
    for (std::size_t i = 0; i < p.size(); ++i)
      require_finite_in(param_field + "[" + std::to_string(i) + "]", p[i], -kMaxSigmaS, kMaxSigmaS);
  } else {  // pcm_1f: empty = published values, or all four given
    if (!p.empty()) {
      require_params(param_field, kind, p, 4, 4);
      require_finite_in(param_field + "[0] (q0)", p[0], 0.0, kMaxRelSigma);
      require_finite_in(param_field + "[1] (exponent)", p[1], 0.0, kMaxPcmExponent);
      require_finite_in(param_field + "[2] (q_max)", p[2], 0.0, kMaxRelSigma);
      require_finite_positive(param_field + "[3] (t_read_s)", p[3], kMaxPcmReadS);
    }
  }
}
}  // namespace

void CellSpec::validate() const {
  // Physically generous bounds (each far outside every published device, each keeping the
  // products of a read -- V x G summed over 65536 rows, V^2 G t energies -- finite):
  //   conductance <= 1 S (a 1-ohm cell; RRAM/PCM/SRAM cells are 1 uS..1 mS, NeuroSim V1.4);
  //   read voltage <= 10 V (cells read at 0.1-1 V); read pulse <= 1 s (ns..us pulses);
  //   area <= 1e6 F^2 (SRAM 8T ~ 360 F^2); feature size 0.1 nm .. 10 um;
  //   drift t0 <= 1e10 s (~300 years; retention is specified at 10 years);
  //   drift exponent |nu| <= 1 (PCM: 0.05-0.1, Joshi et al. 2020); sinh v0 <= 1e6 V (a
  //   large v0 is the linear limit, so any finite bound is generous).
  if (name.empty()) reject("CellSpec.name", "''", "must not be empty");
  require_finite_in("CellSpec.g_min_S", g_min_S, 0.0, 1.0);
  require_finite_positive("CellSpec.g_max_S", g_max_S, 1.0);
  if (!(g_max_S > g_min_S))
    reject("CellSpec.g_max_S", to_text(g_max_S), "must be > g_min_S (" + to_text(g_min_S) + ")");
  require_in("CellSpec.bits", bits, 1, 16);
  validate_sigma_model("CellSpec.prog_error", prog_error, "CellSpec.prog_sigma", prog_sigma, false);
  require_one_of("CellSpec.prog_clip", prog_clip, {"range", "zero"});
  validate_sigma_model("CellSpec.read_noise", read_noise, "CellSpec.read_sigma", read_sigma, true);
  require_one_of("CellSpec.read_noise_state", read_noise_state, {"drifted", "programmed"});
  require_one_of("CellSpec.read_noise_draw", read_noise_draw, {"per_read", "frozen"});
  require_one_of("CellSpec.drift", drift, {"none", "constant", "pcm"});
  if (drift == "constant") {
    require_params("CellSpec.drift_params", drift, drift_params, 2, 2);
    require_finite_in("CellSpec.drift_params[0] (nu_mean)", drift_params[0], -1.0, 1.0);
    require_finite_in("CellSpec.drift_params[1] (nu_std)", drift_params[1], 0.0, 1.0);
  } else {
    require_params("CellSpec.drift_params", drift, drift_params, 0, 0);
  }
  require_finite_positive("CellSpec.drift_t0_s", drift_t0_s, 1e10);
  require_one_of("CellSpec.iv", iv, {"linear", "sinh"});
  require_finite_positive("CellSpec.iv_v0_V", iv_v0_V, 1e6);  // large v0: Ohm's law
  require_finite_in("CellSpec.stuck_at_min_prob", stuck_at_min_prob, 0.0, 1.0);
  require_finite_in("CellSpec.stuck_at_max_prob", stuck_at_max_prob, 0.0, 1.0);
  if (stuck_at_min_prob + stuck_at_max_prob > 1.0)
    reject("CellSpec.stuck_at_max_prob", to_text(stuck_at_max_prob),
           "stuck_at_min_prob + stuck_at_max_prob must be <= 1");
  require_finite_positive("CellSpec.area_F2", area_F2, 1e6);
  require_finite_in("CellSpec.feature_size_m", feature_size_m, 1e-10, 1e-5);
  require_finite_positive("CellSpec.v_read_V", v_read_V, 10.0);
  require_finite_positive("CellSpec.t_read_s", t_read_s, 1.0);
  require_finite_in("CellSpec.wl_cell_cap_F", wl_cell_cap_F, 0.0, 1e-12);
  require_finite_in("CellSpec.wl_driver_cap_F", wl_driver_cap_F, 0.0, 1e-9);
  require_finite_in("CellSpec.wl_v_high_V", wl_v_high_V, 0.0, 10.0);
  require_finite_in("CellSpec.wl_v_low_V", wl_v_low_V, 0.0, 10.0);
  if (wl_v_low_V > 0.0 && wl_v_low_V >= wl_v_high_V)
    reject("CellSpec.wl_v_low_V", to_text(wl_v_low_V),
           "must be below wl_v_high_V (" + to_text(wl_v_high_V) + "; 0 and 0: ground to the tech table's vdd)");
  // sinh(V / v0) overflows past V / v0 = 710; 100 keeps the currents finite (sinh(100) ~ 1e43)
  // and is already a cell conducting 1e43 times its linear current.
  if (iv == "sinh" && v_read_V / iv_v0_V > 100.0)
    reject("CellSpec.iv_v0_V", to_text(iv_v0_V),
           "must be >= v_read_V / 100 (" + to_text(v_read_V / 100.0) + ") for the sinh I-V");
}
namespace {
std::string list_text(const std::vector<double>& v) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}
}  // namespace

std::string CellSpec::repr() const {
  std::ostringstream os;
  os << "CellSpec(name='" << name << "', g_min_S=" << g_min_S << ", g_max_S=" << g_max_S
     << ", bits=" << bits << ", prog_error='" << prog_error << "', prog_sigma="
     << list_text(prog_sigma) << ", prog_clip='" << prog_clip << "', read_noise='" << read_noise
     << "', read_sigma=" << list_text(read_sigma) << ", read_noise_state='" << read_noise_state
     << "', read_noise_draw='" << read_noise_draw << "', drift='" << drift
     << "', drift_params=" << list_text(drift_params) << ", drift_t0_s=" << drift_t0_s
     << ", iv='" << iv << "', iv_v0_V=" << iv_v0_V << ", stuck_at_min_prob=" << stuck_at_min_prob
     << ", stuck_at_max_prob=" << stuck_at_max_prob << ", area_F2=" << area_F2
     << ", feature_size_m=" << feature_size_m << ", v_read_V=" << v_read_V
     << ", t_read_s=" << t_read_s << ", wl_cell_cap_F=" << wl_cell_cap_F
     << ", wl_driver_cap_F=" << wl_driver_cap_F << ", wl_v_low_V=" << wl_v_low_V
     << ", wl_v_high_V=" << wl_v_high_V << ")";
  return os.str();
}

}  // namespace mho
