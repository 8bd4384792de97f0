#include "devices/cell_model.h"
#include "common/threads.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mho {

namespace {
// Constant and proportional sigma are polynomials in u = g/g_max: {s} and {0, k*g_max}.
std::vector<double> as_polynomial(const std::string& kind, const std::vector<double>& p,
                                  double g_max) {
  if (kind == "constant") return {p[0]};
  if (kind == "proportional") return {0.0, p[0] * g_max};
  return p;
}
}  // namespace

CellModel::CellModel(CellSpec spec) : spec_(std::move(spec)) {
  spec_.validate();
  auto kind_of = [](const std::string& k) {
    if (k == "none") return Sigma::kNone;
    if (k == "pcm_1f") return Sigma::kPcm1f;
    return Sigma::kPolynomial;
  };
  prog_kind_ = kind_of(spec_.prog_error);
  read_kind_ = kind_of(spec_.read_noise);
  prog_poly_ = as_polynomial(spec_.prog_error, spec_.prog_sigma, spec_.g_max_S);
  read_poly_ = as_polynomial(spec_.read_noise, spec_.read_sigma, spec_.g_max_S);
  if (read_kind_ == Sigma::kPcm1f && spec_.read_sigma.size() == 4) {
    q0_ = spec_.read_sigma[0];
    q_exp_ = spec_.read_sigma[1];
    q_max_ = spec_.read_sigma[2];
    t_read_noise_s_ = spec_.read_sigma[3];
  }
  drift_kind_ = spec_.drift == "none"       ? Drift::kNone
                : spec_.drift == "constant" ? Drift::kConstant
                                            : Drift::kPcm;
  sinh_iv_ = spec_.iv == "sinh";
  noise_of_programmed_ = spec_.read_noise_state == "programmed";
  clip_range_ = spec_.prog_clip == "range";
}

double CellModel::polyval(const std::vector<double>& c, double u) {
  double s = 0.0;
  for (auto it = c.rbegin(); it != c.rend(); ++it) s = s * u + *it;
  return std::max(s, 0.0);
}

double CellModel::prog_sigma(double g) const {
  if (prog_kind_ == Sigma::kNone) return 0.0;
  return polyval(prog_poly_, g / spec_.g_max_S);
}

double CellModel::read_sigma(double g_t, double g_prog, double t_s) const {
  const double g_state = noise_of_programmed_ ? g_prog : g_t;
  switch (read_kind_) {
    case Sigma::kNone:
      return 0.0;
    case Sigma::kPolynomial:
      return polyval(read_poly_, g_state / spec_.g_max_S);
    case Sigma::kPcm1f: {
      // The fit starts at t0: earlier reads are evaluated at t0. The log term is clamped at
      // zero for the (unphysical) case t0 < t_read.
      const double t = std::max(t_s, spec_.drift_t0_s);
      const double u = std::max(g_state, 0.0) / spec_.g_max_S;
      const double q = u > 0.0 ? std::min(q0_ / std::pow(u, q_exp_), q_max_) : q_max_;
      const double l = std::log((t + t_read_noise_s_) / (2.0 * t_read_noise_s_));
      return std::max(g_t, 0.0) * q * std::sqrt(std::max(l, 0.0));
    }
  }
  return 0.0;
}

void CellModel::drift_moments(double g, double* mean, double* sd) const {
  switch (drift_kind_) {
    case Drift::kNone:
      *mean = 0.0;
      *sd = 0.0;
      return;
    case Drift::kConstant:
      *mean = spec_.drift_params[0];
      *sd = spec_.drift_params[1];
      return;
    case Drift::kPcm: {
      // Joshi et al. 2020; u is floored so that an empty cell (g = 0) takes the clamp value.
      const double lu = std::log(std::max(g / spec_.g_max_S, 1e-12));
      *mean = std::clamp(-0.0155 * lu + 0.0244, 0.049, 0.1);
      *sd = std::clamp(-0.0125 * lu - 0.0059, 0.008, 0.045);
      return;
    }
  }
}

double CellModel::drift_factor(double nu, double t_s) const {
  if (drift_kind_ == Drift::kNone || t_s <= spec_.drift_t0_s) return 1.0;
  return std::pow(t_s / spec_.drift_t0_s, -nu);
}

double CellModel::iv_voltage(double v) const {
  return sinh_iv_ ? spec_.iv_v0_V * std::sinh(v / spec_.iv_v0_V) : v;
}

void CellModel::program(Eigen::Ref<Eigen::MatrixXd> g, const StreamKey& prog_key,
                        const StreamKey& stuck_key, bool with_error, bool with_stuck,
                        std::uint64_t index_base) const {
  const double lo = spec_.g_min_S, hi = spec_.g_max_S;
  const double clip_lo = clip_range_ ? lo : 0.0;
  const double clip_hi = clip_range_ ? hi : std::numeric_limits<double>::infinity();
  const bool err = with_error && prog_kind_ != Sigma::kNone;
  const bool stuck =
      with_stuck && (spec_.stuck_at_min_prob > 0.0 || spec_.stuck_at_max_prob > 0.0);
  const Eigen::Index cols = g.cols();
#pragma omp parallel for schedule(static) num_threads(threads())
  for (Eigen::Index r = 0; r < g.rows(); ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) {
      const std::uint64_t idx = index_base + std::uint64_t(r) * std::uint64_t(cols) + c;
      double v = g(r, c);
      if (err) {
        ElementEngine eng(prog_key, idx);
        v += prog_sigma(v) * normal_draw(eng);
      }
      v = std::clamp(v, clip_lo, clip_hi);
      if (stuck) {
        ElementEngine eng(stuck_key, idx);
        const double p = uniform_draw(eng);
        if (p < spec_.stuck_at_min_prob)
          v = lo;
        else if (p < spec_.stuck_at_min_prob + spec_.stuck_at_max_prob)
          v = hi;
      }
      g(r, c) = v;
    }
  }
}

Eigen::MatrixXd CellModel::draw_nu(const Eigen::MatrixXd& g, const StreamKey& key,
                                   std::uint64_t index_base) const {
  Eigen::MatrixXd nu = Eigen::MatrixXd::Zero(g.rows(), g.cols());
  if (drift_kind_ == Drift::kNone) return nu;
  const Eigen::Index cols = g.cols();
#pragma omp parallel for schedule(static) num_threads(threads())
  for (Eigen::Index r = 0; r < g.rows(); ++r) {
    for (Eigen::Index c = 0; c < cols; ++c) {
      double mean, sd;
      drift_moments(g(r, c), &mean, &sd);
      ElementEngine eng(key, index_base + std::uint64_t(r) * std::uint64_t(cols) + c);
      nu(r, c) = mean + sd * normal_draw(eng);
    }
  }
  return nu;
}

}  // namespace mho
