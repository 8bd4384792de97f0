#include "evaluator/interconnect.h"

#include <algorithm>
#include <cmath>

namespace mho {

int htree_levels(double arrays) {
  if (!(arrays > 1)) return 0;
  const double side = std::ceil(std::sqrt(arrays) * (1 - 1e-12));  // leaves per side, exact squares stay
  int k = 0;
  while (std::ldexp(1.0, k) < side) ++k;
  return k;
}

double htree_total_length_m(int k, double px, double py) {
  if (k <= 0) return 0.0;
  const double n = std::ldexp(1.0, k);
  return (px + 2 * py) * (n / 2) * (n - 1);
}

double htree_root_to_leaf_m(int k, double px, double py) {
  if (k <= 0) return 0.0;
  return (std::ldexp(1.0, k) - 1) * (px + py) / 2;
}

double tile_htree_path_m(double arrays, double array_area_m2) {
  const int k = htree_levels(arrays);
  if (k == 0) return 0.0;
  const double pitch = std::sqrt(arrays * array_area_m2) / std::ldexp(1.0, k);
  return htree_root_to_leaf_m(k, pitch, pitch);
}

double htree_track_share(double wires, int k, double side_m, const std::vector<double>& pitches) {
  if (k <= 0 || !(wires > 0)) return 0.0;
  const double demand = wires * (1 - std::ldexp(1.0, -k));
  double tracks[2] = {0, 0};
  for (std::size_t i = 0; i < pitches.size(); ++i) tracks[i % 2] += side_m / pitches[i];
  double share = 0;
  for (double t : tracks) share += 0.5 * std::max(0.0, 1 - t / demand);
  return share;
}

double repeated_wire_delay_s_per_m(const RepeaterDevice& d, double r, double c, double s, double h) {
  return (0.7 * (d.r_on_ohm / s) * (s * (d.c_in_F + d.c_out_F) + c * h) + r * h * (0.4 * c * h + 0.7 * s * d.c_in_F)) / h;
}

RepeatedWire repeated_wire(const RepeaterDevice& d, double r, double c, double tol) {
  const double s_opt = std::sqrt(d.r_on_ohm * c / (r * d.c_in_F));
  const double h_opt = std::sqrt(0.7 * d.r_on_ohm * (d.c_in_F + d.c_out_F) / (0.4 * r * c));
  const double A = 0.4 * r * c * h_opt, B = 0.7 * r * d.c_in_F * s_opt;
  const double budget = (1 + tol) * 2 * (A + B);
  // Smallest x meeting the budget at spacing y (x = 1 at y = 1 when tol = 0).
  auto x_of = [&](double y) {
    const double K = std::max(2.0, (budget - A * (y + 1 / y)) / B);
    return (K - std::sqrt(K * K - 4)) / 2;
  };
  // y_max: A (y + 1/y) = budget - 2 B.
  const double m = (budget - 2 * B) / A;
  double lo = 1, hi = std::max(1.0, (m + std::sqrt(std::max(0.0, m * m - 4))) / 2);
  const double g = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
    if (x_of(a) / a <= x_of(b) / b) hi = b; else lo = a;
  }
  const double y = (lo + hi) / 2, x = x_of(y);
  RepeatedWire w;
  w.size = x * s_opt;
  w.spacing_m = y * h_opt;
  w.cap_ratio = w.size * (d.c_in_F + d.c_out_F) / (w.spacing_m * c);
  w.delay_s_per_m = repeated_wire_delay_s_per_m(d, r, c, w.size, w.spacing_m);
  w.area_per_m = w.size * d.area_m2 / w.spacing_m;
  return w;
}

}  // namespace mho
