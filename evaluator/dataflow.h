// Access counts of one conv/linear layer on a spatial PE array under the three dataflows of
// Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: A Spatial Architecture for Energy-Efficient Dataflow
// for Convolutional Neural Networks", ISCA 2016 (section V): weight stationary, output
// stationary and row stationary. Counts are words moved per batch of N images, per memory
// level and data type, in the paper's accounting: each move is charged once, at the level it
// is read from (a fill of a lower level is the read of the upper one); a partial sum that is
// accumulated at a level costs a read and a write there.
//
// Levels: `src` is where weights come from (the weight storage, or DRAM when they stream;
// digital_cost decides), `glb` the global buffer, `array` a PE-to-PE or bus transfer inside
// the array, `rf` a PE's register file. DRAM traffic of activations (a layer whose input
// and output do not fit the global buffer) is the caller's: the dataflows differ inside the
// chip.
//
// Layer, per group: C input channels, M filters, R x S filter, E x F output, stride U, input
// W wide (padded); a linear layer is C = in, M = out, R = S = E = F = U = W = 1.
// MACs = N M C E F R S; K = C R S; V = N E F input vectors (im2col).
//
// weight_stationary (NeuFlow / TPU-like): a pe_rows x pe_cols tile of the K x M weight matrix
//   sits in the PEs' registers while v input vectors stream through; inputs pass along rows,
//   partial sums down columns; row tiles (rt = ceil(K / pe_rows)) accumulate in the global
//   buffer. Per batch: weights src Wn nb, array Wn nb, rf MACs (nb = ceil(V / v) weight loads);
//   inputs glb V K ct (ct = ceil(M / pe_cols)), array MACs; psums array MACs, glb
//   2 V M (rt - 1). Tiling: v, the largest of V, V/2, V/4, ... whose v x pe_cols partial sums
//   fit half the global buffer.
// output_stationary (ShiDianNao-like, MOC-MOP): each PE accumulates p outputs (p channels of
//   one position) in its register file; the array holds pe_rows positions x pe_cols p
//   channels; weights pass down columns, inputs along rows. Per batch: weights src Wn ot
//   (ot = ceil(V / pe_rows) position tiles), array MACs; inputs glb V K ct (ct = ceil(M /
//   (pe_cols p))), array MACs / p, rf MACs when p > 1 (each used p times from the register);
//   psums rf 2 MACs. Tiling: p in 1, 2, 4, ... with p accumulators in the register file.
// row_stationary (Eyeriss): a PE convolves one filter row with one input row (S F MACs per
//   channel and filter); a set of Rh x e PEs (Rh filter rows, e = min(E, pe_cols) output rows)
//   computes a 2-D convolution, partial-sum rows accumulating vertically; sets tile the array
//   (floor(pe_rows / Rh) x floor(pe_cols / e)), t of them on different filter groups sharing
//   inputs, r on different channel groups accumulating spatially. A PE keeps p filters x q
//   channels of filter rows, q input-row windows and p partial sums in its register file and
//   reuses the weights over n images and the F positions. Filters taller than the array are
//   cut into Rc = ceil(R / pe_rows) chunks. Per batch (Es = ceil(E / e) strips, fp = ceil(M /
//   (p t)), cp = ceil(C / (q r)), ib = ceil(N / n)): weights src Wn Es ib, array Wn E ib,
//   rf MACs; inputs glb fp N C W rows (rows = sum over strips of (e - 1) U + R, at most the
//   input height), array N C E R W' ceil(M / p) (W' = (F - 1) U + S), rf MACs; psums array
//   N M E F R ceil(C / q), rf 2 MACs, glb 2 N M E F (cp Rc - 1). Tiling: p, q, n in powers of
//   two whose words fit the register file and whose n p t e F partial sums fit half the
//   global buffer when they must wait there (cp Rc > 1).
// Every dataflow takes the tiling of least energy among those that fit (digital_cost prices
// the counts); a register file too small for any tiling of a dataflow is an error naming it.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace mho {

// One data type's accesses per level, in words.
struct LevelCounts {
  double src = 0, glb = 0, array = 0, rf = 0;
};

struct DataflowCounts {
  LevelCounts weights, inputs, psums;  // psums: partial sums at accumulator width
  double outputs = 0;                  // finished outputs written to the global buffer, words
  double weight_passes = 0;            // times the layer's weights are read from their source
  double cycles = 0;                   // per batch, one MAC per PE per cycle
  std::string tiling;                  // e.g. "v=196" (weight_stationary)
};

struct ConvDims {
  double N = 1, C = 1, M = 1, R = 1, S = 1, E = 1, F = 1, U = 1, H = 1, W = 1;
  double macs() const { return N * M * C * E * F * R * S; }
};

struct ArraySpec {
  int pe_rows = 16, pe_cols = 16;
  double rf_bits = 64 * 8;      // per PE
  double psum_glb_bits = 0;     // global-buffer room for partial sums
  int word_bits = 8, psum_bits = 32;
};

// The dataflow names, in the order they are documented.
const std::vector<std::string>& dataflow_names();

// Counts of the tiling of least `energy` (a function of a candidate's counts) for `dataflow`.
// Throws std::invalid_argument for an unknown dataflow or when no tiling fits.
DataflowCounts dataflow_counts(const std::string& dataflow, const ConvDims& d, const ArraySpec& a,
                               const std::function<double(const DataflowCounts&)>& energy);

}  // namespace mho
