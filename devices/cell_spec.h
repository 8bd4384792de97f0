// CellSpec: the validated, immutable parameters of one memory-cell technology.
//
// Units: conductances in siemens, voltages in volts, times in seconds, area in F^2 (F =
// feature_size_m). Every field has a default; validate() rejects a bad value with a
// std::invalid_argument naming the field, the value and the allowed range.
//
// State-dependent models take u = g / g_max_S as their variable:
//   prog_error   "none" | "constant" {sigma_S} | "proportional" {k: sigma = k*g}
//                | "polynomial" {c0, c1, ...: sigma = sum c_n u^n, in siemens}
//                drawn once per programming (Gaussian, then clipped to [g_min, g_max]).
//   read_noise   same kinds as prog_error, plus "pcm_1f" {q0, exponent, q_max, t_read_s}:
//                sigma = g(t) * min(q0 / u^exponent, q_max) * sqrt(ln((t + t_read)/(2 t_read))),
//                drawn on every read (Joshi et al., Nat. Commun. 11, 2473, 2020).
//   drift        "none" | "constant" {nu_mean, nu_std} | "pcm" {} (Joshi et al. 2020:
//                mu = clamp(-0.0155 ln u + 0.0244, 0.049, 0.1), sd = clamp(-0.0125 ln u
//                - 0.0059, 0.008, 0.045)); g(t) = g(t0) (t/t0)^-nu for t > t0, one nu per cell.
//   iv           "linear": I = G V (Ohm) | "sinh": I = G v0 sinh(V / v0), which tends to Ohm's
//                law as v0 -> infinity (and for |V| << v0).
#pragma once

#include <string>
#include <vector>

namespace mho {

struct CellSpec {
  std::string name = "custom";
  std::string source = "user defined";  // citation of the numbers below

  double g_min_S = 1e-6;
  double g_max_S = 10e-6;
  int bits = 8;  // programmable bits per cell: 2^bits evenly spaced levels; SRAM: 1

  std::string prog_error = "none";
  std::vector<double> prog_sigma;

  std::string read_noise = "none";
  std::vector<double> read_sigma;

  std::string drift = "none";
  std::vector<double> drift_params;
  double drift_t0_s = 20.0;

  std::string iv = "linear";
  double iv_v0_V = 0.25;

  double stuck_at_min_prob = 0.0;
  double stuck_at_max_prob = 0.0;

  double area_F2 = 48.0;
  double feature_size_m = 22e-9;
  double v_read_V = 0.2;
  double t_read_s = 10e-9;

  // Throws std::invalid_argument on the first bad field.
  void validate() const;
  std::string repr() const;
};

}  // namespace mho
