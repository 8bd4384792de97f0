// CellSpec: the validated, immutable parameters of one memory-cell technology.
//
// Units: conductances in siemens, voltages in volts, times in seconds, area in F^2 (F =
// feature_size_m). Every field has a default; validate() rejects a bad value with a
// std::invalid_argument naming the field, the value and the allowed range.
//
// State-dependent models take u = g / g_max_S as their variable:
//   prog_error   "none" | "constant" {sigma_S} | "proportional" {k: sigma = k*g}
//                | "polynomial" {c0, c1, ...: sigma = sum c_n u^n, in siemens}
//                drawn once per programming (Gaussian), then clipped as `prog_clip` says.
//   prog_clip    "range": programmed conductances clipped to [g_min, g_max] | "zero": clipped
//                at 0 only (a conductance cannot be negative, but an overshoot past g_max or
//                below g_min is what an iterative programming scheme leaves; Joshi et al. 2020).
//   read_noise   same kinds as prog_error, plus "pcm_1f" {q0, exponent, q_max, t_read_s}:
//                sigma = g(t) * min(q0 / u^exponent, q_max) * sqrt(ln((t + t_read)/(2 t_read))),
//                (Joshi et al., Nat. Commun. 11, 2473, 2020).
//   read_noise_state  the conductance whose state sets the noise level: "drifted" (g(t)) |
//                "programmed" (g(t0), Joshi et al. 2020: Q_s is a property of the programmed
//                state). The pcm_1f amplitude is g(t) * Q_s(u) either way; u follows this field.
//   read_noise_draw   "per_read": a fresh draw on every read (white noise) | "frozen": one
//                draw per cell per read-out campaign (each Tile.set_time), the slow 1/f
//                fluctuation accumulated since programming, which stays put over the
//                milliseconds of a campaign (Joshi et al. 2020); the drawn conductance is
//                clipped at 0.
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
  std::string prog_clip = "range";

  std::string read_noise = "none";
  std::vector<double> read_sigma;
  std::string read_noise_state = "drifted";
  std::string read_noise_draw = "per_read";

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

  // A word line's load beyond its wire (the cost model's "wires", evaluator/pim_cost.h): the
  // gate and coupling capacitance each cell on the line adds (its access transistor), and the
  // driver's own output capacitance, F; the line swings from wl_v_low_V to wl_v_high_V and
  // draws C (high - low) high from the high rail per charge (both 0: ground to the tech
  // table's vdd). Defaults: the wire alone, the model before these fields existed.
  double wl_cell_cap_F = 0.0;
  double wl_driver_cap_F = 0.0;
  double wl_v_low_V = 0.0;
  double wl_v_high_V = 0.0;

  // Throws std::invalid_argument on the first bad field.
  void validate() const;
  std::string repr() const;
};

}  // namespace mho
