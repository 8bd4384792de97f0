// H-tree geometry (evaluator/interconnect.h) against the tree's segments enumerated one by one,
// and a 2 x 2 and a 4 x 4 tree by hand.
#include "evaluator/interconnect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <functional>
#include <vector>

namespace mho {
namespace {

// Recursively lay out the H-tree over 2^k x 2^k leaves at pitch (px, py) centred at the
// origin, with `wires` wires entering the root, each bound for one leaf (a distribution tree:
// a branch carries the wires of the leaves below it). Sums the length of every segment and
// the wire length (segment length x wires in it), and checks every leaf's path.
struct Walk {
  double segments = 0, wire_length = 0;
  std::vector<double> leaf_paths;
};

void walk(int level, double half_w, double half_h, double wires, double path, Walk& out) {
  if (level == 0) {
    out.leaf_paths.push_back(path);
    return;
  }
  // One H: a horizontal bar of 2 half_w through the centre, a vertical bar of 2 half_h at each
  // end; its four tips are the centres of the four quadrants.
  out.segments += 2 * half_w + 2 * (2 * half_h);
  out.wire_length += 2 * half_w * (wires / 2) + 4 * half_h * (wires / 4);
  for (int q = 0; q < 4; ++q) walk(level - 1, half_w / 2, half_h / 2, wires / 4, path + half_w + half_h, out);
}

Walk enumerate(int k, double px, double py, double wires) {
  Walk w;
  // The top H spans the centres of the four quadrants of the 2^k x 2^k grid.
  if (k > 0) walk(k, std::ldexp(px, k - 2), std::ldexp(py, k - 2), wires, 0.0, w);
  return w;
}

TEST(Interconnect, FourLeavesByHand) {
  // 2 x 2 leaves at pitch 3 x 5: leaves at (+-1.5, +-2.5). One horizontal bar of 3, two
  // vertical bars of 5: 13 in all; every leaf 1.5 + 2.5 = 4 from the centre. 8 wires: 4 on
  // each half of the horizontal bar (2 x 1.5 x 4 = 12), 2 on each of the four vertical halves
  // (4 x 2.5 x 2 = 20): 32 = 8 x 4.
  EXPECT_DOUBLE_EQ(htree_total_length_m(1, 3, 5), 13);
  EXPECT_DOUBLE_EQ(htree_root_to_leaf_m(1, 3, 5), 4);
  const Walk w = enumerate(1, 3, 5, 8);
  EXPECT_DOUBLE_EQ(w.segments, 13);
  EXPECT_DOUBLE_EQ(w.wire_length, 32);
}

TEST(Interconnect, SixteenLeavesByHand) {
  // 4 x 4 leaves at unit pitch: the top H is 2 + 2 x 2 = 6, the four below it 3 each: 18;
  // a leaf's path 1 + 1 (top) + 0.5 + 0.5 = 3.
  EXPECT_DOUBLE_EQ(htree_total_length_m(2, 1, 1), 18);
  EXPECT_DOUBLE_EQ(htree_root_to_leaf_m(2, 1, 1), 3);
}

TEST(Interconnect, ClosedFormsMatchTheEnumeratedTree) {
  for (int k = 1; k <= 6; ++k) {
    const double px = 118e-6, py = 288e-6, wires = 4608;
    const Walk w = enumerate(k, px, py, wires);
    ASSERT_EQ(w.leaf_paths.size(), std::size_t(1) << (2 * k));
    for (double p : w.leaf_paths) EXPECT_NEAR(p, htree_root_to_leaf_m(k, px, py), 1e-15) << k;
    EXPECT_NEAR(w.segments, htree_total_length_m(k, px, py), 1e-12 * w.segments) << k;
    // A distribution tree: every level's branches hold all the wires, so B x path.
    EXPECT_NEAR(w.wire_length, wires * htree_root_to_leaf_m(k, px, py), 1e-12 * w.wire_length) << k;
  }
}

TEST(Interconnect, TileLevelsAndPath) {
  EXPECT_EQ(htree_levels(1), 0);
  EXPECT_EQ(htree_levels(4), 1);
  EXPECT_EQ(htree_levels(5), 2);    // 3 per side -> 4
  EXPECT_EQ(htree_levels(16), 2);
  EXPECT_EQ(htree_levels(144), 4);  // 12 per side -> 16
  EXPECT_EQ(htree_levels(256), 4);
  EXPECT_EQ(tile_htree_path_m(1, 1e-8), 0.0);
  // 144 arrays of 100 um x 100 um: a 1.2 mm square, 16 leaves per side at 75 um: 15 x 75 um.
  EXPECT_NEAR(tile_htree_path_m(144, 1e-8), 15 * 75e-6, 1e-15);
  // 4 arrays: one H joining their centres, one array pitch from the centre.
  EXPECT_NEAR(tile_htree_path_m(4, 1e-8), 100e-6, 1e-18);
}


// The tree's bars with their wire counts, laid out as in walk(): horizontal bars (y, x0, x1,
// wires) and vertical ones (x, y0, y1, wires), one entry per half bar.
struct Bar {
  double at, lo, hi, wires;
};
void bars(int level, double cx, double cy, double half_w, double half_h, double wires, std::vector<Bar>& horiz,
          std::vector<Bar>& vert) {
  if (level == 0) return;
  horiz.push_back({cy, cx - half_w, cx, wires / 2});
  horiz.push_back({cy, cx, cx + half_w, wires / 2});
  for (double sx : {-1.0, 1.0}) {
    vert.push_back({cx + sx * half_w, cy - half_h, cy, wires / 4});
    vert.push_back({cx + sx * half_w, cy, cy + half_h, wires / 4});
    for (double sy : {-1.0, 1.0})
      bars(level - 1, cx + sx * half_w, cy + sy * half_h, half_w / 2, half_h / 2, wires / 4, horiz, vert);
  }
}
// Most wires of `segs` crossing one cut across them: cuts between every two consecutive ends.
double busiest_cut(const std::vector<Bar>& segs) {
  std::vector<double> ends;
  for (const Bar& b : segs) ends.insert(ends.end(), {b.lo, b.hi});
  std::sort(ends.begin(), ends.end());
  double most = 0;
  for (std::size_t i = 1; i < ends.size(); ++i) {
    const double cut = 0.5 * (ends[i - 1] + ends[i]);
    double n = 0;
    for (const Bar& b : segs) n += (b.lo < cut && cut < b.hi) ? b.wires : 0.0;
    most = std::max(most, n);
  }
  return most;
}

TEST(Interconnect, BusiestCutOfTheEnumeratedTree) {
  // The demand htree_track_share takes, wires (1 - 2^-k) each way, is the enumerated tree's
  // busiest cut (pitches unequal: the count does not depend on them).
  for (int k = 1; k <= 6; ++k) {
    const double wires = 4608;
    std::vector<Bar> horiz, vert;
    bars(k, 0, 0, std::ldexp(118e-6, k - 2), std::ldexp(288e-6, k - 2), wires, horiz, vert);
    EXPECT_NEAR(busiest_cut(horiz), wires * (1 - std::ldexp(1.0, -k)), 1e-9) << k;
    EXPECT_NEAR(busiest_cut(vert), wires * (1 - std::ldexp(1.0, -k)), 1e-9) << k;
  }
}

TEST(Interconnect, TrackShareByHand) {
  // k = 1, 1000 wires: 500 cross the busiest cut each way; a 40 um side.
  EXPECT_DOUBLE_EQ(htree_track_share(1000, 1, 40e-6, {}), 1.0);  // no layer over the tile
  // One 160 nm layer along x: 250 tracks, half of the x wires fit; none of the y wires.
  EXPECT_NEAR(htree_track_share(1000, 1, 40e-6, {0.16e-6}), 0.5 * 0.5 + 0.5 * 1.0, 1e-12);
  EXPECT_NEAR(htree_track_share(1000, 1, 40e-6, {0.16e-6, 0.16e-6}), 0.5, 1e-12);
  EXPECT_NEAR(htree_track_share(1000, 1, 40e-6, {0.08e-6, 0.08e-6}), 0.0, 1e-12);  // 500 tracks each: all fit
  // 160 + 320 nm along x (250 + 125 tracks), 240 nm along y (166.7): 0.5 (1 - 375/500) + 0.5 (1 - 166.7/500).
  EXPECT_NEAR(htree_track_share(1000, 1, 40e-6, {0.16e-6, 0.24e-6, 0.32e-6}),
              0.5 * 0.25 + 0.5 * (1 - (40.0 / 0.24) / 500), 1e-12);
  EXPECT_DOUBLE_EQ(htree_track_share(1000, 0, 40e-6, {}), 0.0);  // one array: no tree
}

// NeuroSim V1.4's 22 nm minimum inverter and 40 nm wire (data/tech.yaml, the periphery entry).
const RepeaterDevice kDev{43178.7, 0.1459e-15, 0.07855e-15, 0.0127e-12};
const double kR = 9.77e6, kC = 0.2e-9;

TEST(Interconnect, DelayOptimalRepeatersByHand) {
  // s* = sqrt(R0 c / (r C_in)), h* = sqrt(0.7 R0 (C_in + C_out) / (0.4 r c)).
  const RepeatedWire w = repeated_wire(kDev, kR, kC, 0.0);
  const double s = std::sqrt(43178.7 * 0.2e-9 / (9.77e6 * 0.1459e-15));
  const double h = std::sqrt(0.7 * 43178.7 * (0.1459e-15 + 0.07855e-15) / (0.4 * 9.77e6 * 0.2e-9));
  EXPECT_NEAR(w.size, s, 1e-6 * s);
  EXPECT_NEAR(w.spacing_m, h, 1e-6 * h);
  EXPECT_NEAR(s, 77.8, 0.1);  // NeuroSim's HTree.cpp: floor(...) = 77
  EXPECT_NEAR(w.cap_ratio, s * (0.1459e-15 + 0.07855e-15) / (h * 0.2e-9), 1e-6);
  EXPECT_NEAR(w.area_per_m, s * 0.0127e-12 / h, 1e-6 * w.area_per_m);
}

TEST(Interconnect, RelaxedRepeatersAreTheLeastCapacitanceWithinTheDelay) {
  const RepeatedWire opt = repeated_wire(kDev, kR, kC, 0.0);
  // No (size, spacing) is faster than the delay-optimal one (a grid around it).
  for (double fs = 0.5; fs <= 2.0; fs += 0.05)
    for (double fh = 0.5; fh <= 2.0; fh += 0.05)
      EXPECT_GE(repeated_wire_delay_s_per_m(kDev, kR, kC, fs * opt.size, fh * opt.spacing_m), opt.delay_s_per_m * (1 - 1e-12));
  double previous = opt.cap_ratio;
  for (double tol : {0.05, 0.1, 0.2}) {
    const RepeatedWire w = repeated_wire(kDev, kR, kC, tol);
    EXPECT_NEAR(w.delay_s_per_m, (1 + tol) * opt.delay_s_per_m, 1e-9 * opt.delay_s_per_m) << tol;
    EXPECT_LT(w.cap_ratio, previous) << tol;
    previous = w.cap_ratio;
    // Brute force: the least capacitance per metre over a fine grid of sizes and spacings
    // within the delay budget is not below the search's (to the grid's resolution).
    double best = 1e300;
    for (double s = 0.2 * opt.size; s <= 1.2 * opt.size; s += 0.002 * opt.size)
      for (double h = 0.8 * opt.spacing_m; h <= 4 * opt.spacing_m; h += 0.002 * opt.spacing_m)
        if (repeated_wire_delay_s_per_m(kDev, kR, kC, s, h) <= (1 + tol) * opt.delay_s_per_m) best = std::min(best, s / h);
    const double ours = w.size / w.spacing_m;
    EXPECT_LE(ours, best * (1 + 1e-9)) << tol;
    EXPECT_GE(ours, best * 0.99) << tol;
  }
}

}  // namespace
}  // namespace mho
