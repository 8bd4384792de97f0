// Seeded fixtures shared by the tile tests.
#pragma once

#include <random>
#include <stdexcept>
#include <vector>

#include "crossbar/tile.h"

namespace mho::testing {

using RowMatD = RowMat<double>;

inline RowMatD normal_matrix(int rows, int cols, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, scale);
  RowMatD m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = n(rng);
  return m;
}

// Outputs of a tile (id 3) programmed as `chip`, aged to t_s, calibrated on x's first 64 rows,
// then run over x in consecutive forward() calls of the given sizes (they must cover x).
template <typename T>
RowMat<T> forward_in_splits(const TileSpec& s, const RowMatD& w, const RowMatD& x, const std::vector<int>& splits,
                            std::uint64_t chip = 0, double t_s = 0.0) {
  Tile t(s, 3);
  t.program(w, chip);
  if (t_s > 0.0) t.set_time(t_s);
  RowMat<T> xt = x.cast<T>();
  t.calibrate<T>(xt.topRows(64));
  RowMat<T> y(x.rows(), w.cols());
  int at = 0;
  for (int n : splits) {
    y.middleRows(at, n) = t.forward<T>(xt.middleRows(at, n));
    at += n;
  }
  if (at != x.rows()) throw std::invalid_argument("forward_in_splits: the splits do not cover x");
  return y;
}

// A spec with every non-ideality off and quantization as given (0 = none).
inline TileSpec quantized_spec(int rows, int cols, int weight_bits, int input_bits) {
  TileSpec s = TileSpec::ideal(rows, cols);
  s.weight_bits = weight_bits;
  s.bits_per_cell = weight_bits > 0 ? weight_bits : 1;
  s.cell.bits = 16;
  s.dac.input_bits = input_bits;
  s.dac.range = "fixed";
  return s;
}

// A noisy, quantized tile of the kind the benchmarks call "realistic".
inline TileSpec realistic_spec(int rows, int cols) {
  TileSpec s;
  s.rows = rows;
  s.cols = cols;
  s.cell.prog_error = "proportional";
  s.cell.prog_sigma = {0.03};
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {0.02};
  s.weight_bits = 8;
  s.bits_per_cell = 8;
  s.dac.input_bits = 8;
  s.adc.bits = 8;
  s.adc.noise_lsb = 0.5;
  return s;
}

}  // namespace mho::testing
