// Geometry of the on-chip interconnect: H-trees inside a tile and the chip-level X-Y bus.
//
// H-tree over 2^k x 2^k leaves at pitch px (along x) by py (along y), its root at the centre
// (the tile's buffers). Level j = 1..k holds 4^(j-1) H's; each H is one horizontal bar of
// 2^(k-j) px and two vertical bars of 2^(k-j) py, joining the centres of its four quadrants.
//   total segment length  L = (px + 2 py) 2^(k-1) (2^k - 1)         (every segment once)
//   root-to-leaf path     d = (2^k - 1) (px + py) / 2                (the same for every leaf)
// A distribution tree carrying B wires from the root, each to the leaf that needs it, halves
// its width at every branch: the branches of any level together hold B wires, so its total
// wire length is exactly B d (tests/evaluator/test_interconnect.cpp checks both forms against
// the segments enumerated one by one).
//
// A tile of n arrays is laid out as a square of side S = sqrt(n a) (a: one array's area with
// its periphery and layout box); its H-tree has 2^k leaves per side, k = ceil(log2(ceil(sqrt(n)))),
// spread over the square (pitch S / 2^k), so d = S (1 - 2^-k) (0 for one array).
//
// Wires are repeated: a wire of length l carries l / h repeaters of size s (h: their spacing),
// so its footprint is l (pitch + s a_1 / h) and moving one bit along it costs
// 0.5 (c + s (C_in + C_out) / h) Vdd^2 l at the bit's toggle rate (evaluator/periphery.h).
//
// Repeater sizing (repeated_wire): a repeater of size s has s times the minimum inverter's
// input and output capacitance and area and 1/s of its on-resistance R0; a wire of r, c per
// metre. Delay per metre of a stage of length h (Elmore, the distributed wire's 0.4 and the
// lumped nodes' 0.7 factors; H. B. Bakoglu and J. D. Meindl, IEEE Trans. Electron Devices
// 32(5), 1985):
//   tau = [0.7 (R0 / s)(s (C_in + C_out) + c h) + r h (0.4 c h + 0.7 s C_in)] / h
// minimal at s* = sqrt(R0 c / (r C_in)), h* = sqrt(0.7 R0 (C_in + C_out) / (0.4 r c)). With x =
// s / s*, y = h / h*: tau = A (y + 1/y) + B (x + 1/x), A = 0.4 r c h*, B = 0.7 r C_in s*. A
// delay tolerance t trades delay for energy (K. Banerjee and A. Mehrotra, IEEE Trans. Electron
// Devices 49(11), 2002): the least repeater capacitance per metre, x / y, with tau <= (1 + t)
// tau*. For a given y the smallest x meeting it is the lower root of x + 1/x = K(y) =
// [(1 + t) tau* - A (y + 1/y)] / B; x(y) / y is minimised over y in [1, y_max] (K(y_max) = 2)
// by golden-section search. t = 0 gives the delay-optimal s*, h*.
#pragma once

#include <vector>

namespace mho {

// The minimum inverter a repeater is built of, and the wire it drives (SI units).
struct RepeaterDevice {
  double r_on_ohm = 0, c_in_F = 0, c_out_F = 0, area_m2 = 0;  // area_m2: per unit of size
};
struct RepeatedWire {
  double size = 0, spacing_m = 0;
  double cap_ratio = 0;      // repeaters' C_in + C_out per metre / the wire's c
  double delay_s_per_m = 0;  // tau at this sizing
  double area_per_m = 0;     // repeater area per metre of one wire (m^2 / m)
};
RepeatedWire repeated_wire(const RepeaterDevice& dev, double r_wire_ohm_per_m, double c_wire_F_per_m,
                           double delay_tolerance);
// tau of a repeated wire at size s and spacing h (the formula above), s per metre.
double repeated_wire_delay_s_per_m(const RepeaterDevice& dev, double r_wire_ohm_per_m, double c_wire_F_per_m,
                                   double size, double spacing_m);

// H-tree levels for a square tile of n arrays: ceil(log2(ceil(sqrt(n)))), 0 for n <= 1.
int htree_levels(double arrays);
// Total segment length of the H-tree over 2^k x 2^k leaves at pitch (px, py), metres.
double htree_total_length_m(int k, double px_m, double py_m);
// Root-to-leaf path length of the same tree, metres.
double htree_root_to_leaf_m(int k, double px_m, double py_m);
// Root-to-leaf path in a square tile of `arrays` arrays of `array_area_m2` each.
double tile_htree_path_m(double arrays, double array_area_m2);
// Share of a distribution H-tree's wire length that needs routing tracks of its own beside the
// arrays, when the metal layers of `layer_pitches_m` run over the tile (layer 1, 3, ... along x,
// 2, 4, ... along y) free for the tree. Per direction, the wires crossing the busiest cut of the
// tile are fewer than wires (1 - 2^-k) and reach it (a level-j bar carries wires / 2^(2j-1) each
// way and one bar per row of H's crosses a cut, so their sum is wires (1/2 + 1/4 + ... + 1/2^k));
// that direction's layers offer side / pitch tracks each along any cut; the wires that do not
// fit keep a track of their own. Half of a square tree's length runs each way. 1 with no layer
// (every wire in its own track), 0 when both directions fit.
double htree_track_share(double wires, int k, double side_m, const std::vector<double>& layer_pitches_m);

}  // namespace mho
