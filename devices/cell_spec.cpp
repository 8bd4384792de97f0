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

void validate_sigma_model(const std::string& kind_field, const std::string& kind,
                          const std::string& param_field, const std::vector<double>& p,
                          bool allow_pcm) {
  std::vector<std::string> kinds = {"none", "constant", "proportional", "polynomial"};
  if (allow_pcm) kinds.push_back("pcm_1f");
  require_one_of(kind_field, kind, kinds);
  if (kind == "none") {
    require_params(param_field, kind, p, 0, 0);
  } else if (kind == "constant" || kind == "proportional") {
    require_params(param_field, kind, p, 1, 1);
    require_nonnegative(param_field + "[0]", p[0]);
  } else if (kind == "polynomial") {
    require_params(param_field, kind, p, 1, 6);
  } else {  // pcm_1f: empty = published values, or all four given
    if (!p.empty()) {
      require_params(param_field, kind, p, 4, 4);
      require_nonnegative(param_field + "[0] (q0)", p[0]);
      require_nonnegative(param_field + "[1] (exponent)", p[1]);
      require_nonnegative(param_field + "[2] (q_max)", p[2]);
      require_positive(param_field + "[3] (t_read_s)", p[3]);
    }
  }
}
}  // namespace

void CellSpec::validate() const {
  if (name.empty()) reject("CellSpec.name", "''", "must not be empty");
  require_nonnegative("CellSpec.g_min_S", g_min_S);
  require_positive("CellSpec.g_max_S", g_max_S);
  if (!(g_max_S > g_min_S))
    reject("CellSpec.g_max_S", to_text(g_max_S), "must be > g_min_S (" + to_text(g_min_S) + ")");
  require_in("CellSpec.bits", bits, 1, 16);
  validate_sigma_model("CellSpec.prog_error", prog_error, "CellSpec.prog_sigma", prog_sigma, false);
  validate_sigma_model("CellSpec.read_noise", read_noise, "CellSpec.read_sigma", read_sigma, true);
  require_one_of("CellSpec.drift", drift, {"none", "constant", "pcm"});
  if (drift == "constant") {
    require_params("CellSpec.drift_params", drift, drift_params, 2, 2);
    require_nonnegative("CellSpec.drift_params[1] (nu_std)", drift_params[1]);
  } else {
    require_params("CellSpec.drift_params", drift, drift_params, 0, 0);
  }
  require_positive("CellSpec.drift_t0_s", drift_t0_s);
  require_one_of("CellSpec.iv", iv, {"linear", "sinh"});
  require_positive("CellSpec.iv_v0_V", iv_v0_V);
  require_in("CellSpec.stuck_at_min_prob", stuck_at_min_prob, 0.0, 1.0);
  require_in("CellSpec.stuck_at_max_prob", stuck_at_max_prob, 0.0, 1.0);
  if (stuck_at_min_prob + stuck_at_max_prob > 1.0)
    reject("CellSpec.stuck_at_max_prob", to_text(stuck_at_max_prob),
           "stuck_at_min_prob + stuck_at_max_prob must be <= 1");
  require_positive("CellSpec.area_F2", area_F2);
  require_positive("CellSpec.feature_size_m", feature_size_m);
  require_positive("CellSpec.v_read_V", v_read_V);
  require_positive("CellSpec.t_read_s", t_read_s);
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
     << list_text(prog_sigma) << ", read_noise='" << read_noise
     << "', read_sigma=" << list_text(read_sigma) << ", drift='" << drift
     << "', drift_params=" << list_text(drift_params) << ", drift_t0_s=" << drift_t0_s
     << ", iv='" << iv << "', iv_v0_V=" << iv_v0_V << ", stuck_at_min_prob=" << stuck_at_min_prob
     << ", stuck_at_max_prob=" << stuck_at_max_prob << ", area_F2=" << area_F2
     << ", feature_size_m=" << feature_size_m << ", v_read_V=" << v_read_V
     << ", t_read_s=" << t_read_s << ")";
  return os.str();
}

}  // namespace mho
