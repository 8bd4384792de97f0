#include "crossbar/charge_domain.h"
#include "common/threads.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace mho {

namespace {
// CODATA 2018 exact value of the Boltzmann constant (SI redefinition of 2019).
constexpr double kBoltzmann = 1.380649e-23;  // J/K
// Bits of a level code 0 .. level_max (level_max = 2^b - 1).
int level_code_bits(int level_max) {
  int b = 0;
  while ((1 << b) - 1 < level_max) ++b;
  return b;
}
}  // namespace

double charge_level_volts(const CapSpec& cap, int rows, int level_max) {
  const double full = cap.scheme == "c2c" ? std::ldexp(1.0, level_code_bits(level_max)) : double(level_max);
  return cap.v_dd_V / (double(rows) * full);
}

double c2c_supply_units(const double* branch, int bits, unsigned code) {
  // Zero net charge on node k: (C_k + left + right) V_k - 2 V_{k-1} - 2 V_{k+1} = C_k u_k, with
  // left = 1 (the termination) at k = 0 and 2 elsewhere, right = 2 below the output, u_k =
  // bit k (in units of V_DD n). Thomas algorithm, forward sweep then back substitution.
  constexpr int kMaxBits = 32;
  double diag[kMaxBits], rhs[kMaxBits], v[kMaxBits];
  for (int k = 0; k < bits; ++k) {
    const double u = double((code >> k) & 1u);
    diag[k] = branch[k] + (k == 0 ? 1.0 : 2.0) + (k + 1 < bits ? 2.0 : 0.0);
    rhs[k] = branch[k] * u;
    if (k > 0) {
      const double f = -2.0 / diag[k - 1];
      diag[k] -= f * -2.0;
      rhs[k] -= f * rhs[k - 1];
    }
  }
  for (int k = bits - 1; k >= 0; --k) v[k] = (rhs[k] + (k + 1 < bits ? 2.0 * v[k + 1] : 0.0)) / diag[k];
  double q = 0.0;
  for (int k = 0; k < bits; ++k)
    if ((code >> k) & 1u) q += branch[k] * (1.0 - v[k]);
  return q;
}

double charge_mean_supply_units(const CapSpec& cap, int level_max) {
  if (cap.scheme == "bitline_sharing") return 0.5;
  // Binary-weighted: the mean level, L / 2 units charged per full drive.
  if (cap.scheme == "binary_weighted") return 0.5 * level_max;
  const int bits = level_code_bits(level_max);
  const std::vector<double> unit(std::size_t(bits), 1.0);
  double sum = 0.0;
  for (int l = 0; l <= level_max; ++l) sum += c2c_supply_units(unit.data(), bits, unsigned(l));
  return sum / (level_max + 1);
}

double ktc_variance_V2(const CapSpec& cap, double c_line_F) {
  return kBoltzmann * cap.temperature_K / c_line_F;
}

ChargeArray charge_array(const CapSpec& cap, const Eigen::MatrixXd& levels, int rows, int level_max,
                         bool mismatch, const StreamKey& key) {
  const int n_in = int(levels.rows()), n_col = int(levels.cols());
  const bool binary = cap.scheme == "binary_weighted", c2c = cap.scheme == "c2c";
  const int bits = level_code_bits(level_max);
  const double sigma = mismatch ? cap.mismatch_sigma : 0.0;
  // A C-2C ladder of b bits delivers sum_k bit_k 2^(k-b) V_DD behind 2 unit capacitances: the
  // dual of an R-2R ladder, whose every node looks into 2 C toward the LSB end.
  const double c2c_scale = 2.0 / std::ldexp(1.0, bits);
  ChargeArray out;
  out.m.resize(n_in, n_col);
  out.c_line_F.resize(n_col);
  out.supply.resize(n_in, n_col);
  // Small arrays (a test's, a small layer's) are not worth a parallel region.
#pragma omp parallel for schedule(static) if (std::int64_t(rows) * n_col >= 4096) num_threads(threads())
  for (int j = 0; j < n_col; ++j) {
    auto error = [&](int i, int k, double s) {
      if (s == 0.0) return 0.0;
      ElementEngine eng(key, (std::uint64_t(i) << 20) | std::uint64_t(j), std::uint32_t(k));
      return s * normal_draw(eng);
    };
    double c_total = 0.0;
    std::vector<double> branch(static_cast<std::size_t>(bits));
    for (int i = 0; i < rows; ++i) {
      const double l = i < n_in ? levels(i, j) : 0.0;
      double q = 0.0, c = 0.0;
      if (!binary && !c2c) {
        c = 1.0 + error(i, 0, sigma);
        q = c * l / level_max;
      } else {
        // Capacitor k of a binary-weighted cell is 2^k units, its sigma 1/sqrt(2^k) of a unit's
        // (Pelgrom); a ladder's stages are unit capacitors, each bit carries its stage's error.
        const unsigned code = unsigned(std::lround(l));
        for (int k = 0; k < bits; ++k) {
          const double weight = std::ldexp(1.0, k);
          const double unit = 1.0 + error(i, k, binary ? sigma / std::sqrt(weight) : sigma);
          if (binary) c += weight * unit;
          if ((code >> k) & 1u) q += weight * unit;
          branch[std::size_t(k)] = unit;
        }
        if (c2c) {
          if (i < n_in) out.supply(i, j) = c2c_supply_units(branch.data(), bits, code);
          q *= c2c_scale;
          c = 2.0;
        }
      }
      c_total += c;
      if (i < n_in && !c2c) out.supply(i, j) = q;
      if (i < n_in) out.m(i, j) = q;
    }
    out.m.col(j) *= cap.v_dd_V / c_total;
    out.c_line_F[j] = c_total * cap.c_unit_F;
  }
  return out;
}

}  // namespace mho
