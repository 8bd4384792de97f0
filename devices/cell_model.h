// CellModel: the behaviour of one cell technology, built from a validated CellSpec.
//
// Promises: programming error and stuck-at faults drawn once per programming, one drift
// exponent nu per cell, read-noise sigma as a function of conductance and time since
// programming, and the I-V transform. Every draw comes from a counter-based stream keyed by
// the caller, with the cell's linear index as the element, so results do not depend on the
// order cells are visited. Units: siemens, volts, seconds. Thread-safe (const after build).
// The model kinds are resolved to enums once here, so per-cell calls branch on a small
// switch rather than on strings or virtual dispatch.
#pragma once

#include <Eigen/Dense>

#include "common/random_stream.h"
#include "devices/cell_spec.h"

namespace mho {

class CellModel {
 public:
  explicit CellModel(CellSpec spec);

  const CellSpec& spec() const { return spec_; }
  int levels() const { return 1 << spec_.bits; }

  // sigma of the programming error at target conductance g (siemens).
  double prog_sigma(double g) const;
  // sigma of one read at conductance g_t (already drifted) of a cell programmed to g_prog,
  // time t_s after programming; the noise level follows CellSpec.read_noise_state.
  double read_sigma(double g_t, double g_prog, double t_s) const;
  // The same for a cell whose drifted and programmed conductances are both g.
  double read_sigma(double g, double t_s) const { return read_sigma(g, g, t_s); }
  // Mean and standard deviation of the drift exponent nu for a cell programmed to g.
  void drift_moments(double g, double* mean, double* sd) const;
  // g(t) / g(t0) for exponent nu.
  double drift_factor(double nu, double t_s) const;
  // Effective voltage f(V) such that the cell current is I = G * f(V).
  double iv_voltage(double v) const;

  // Programs target conductances (in place): adds programming error if `with_error`, clips
  // as CellSpec.prog_clip says, then applies stuck-at faults if `with_stuck`. Element = linear index
  // (row-major) plus `index_base`.
  void program(Eigen::Ref<Eigen::MatrixXd> g, const StreamKey& prog_key,
               const StreamKey& stuck_key, bool with_error, bool with_stuck,
               std::uint64_t index_base = 0) const;
  // Draws one drift exponent per cell for the programmed conductances g.
  Eigen::MatrixXd draw_nu(const Eigen::MatrixXd& g, const StreamKey& key,
                          std::uint64_t index_base = 0) const;

 private:
  enum class Sigma { kNone, kPolynomial, kPcm1f };
  enum class Drift { kNone, kConstant, kPcm };
  static double polyval(const std::vector<double>& c, double u);

  CellSpec spec_;
  Sigma prog_kind_, read_kind_;
  std::vector<double> prog_poly_, read_poly_;  // polynomial in u = g/g_max, siemens
  double q0_ = 0.0088, q_exp_ = 0.65, q_max_ = 0.2, t_read_noise_s_ = 250e-9;
  Drift drift_kind_;
  bool sinh_iv_;
  bool noise_of_programmed_;  // read_noise_state == "programmed"
  bool clip_range_;           // prog_clip == "range"

};

}  // namespace mho
