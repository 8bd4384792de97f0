// High-volume standard normal draws for one row of a stream (per-read and ADC noise).
//
// Element i of row (key, index, sub) is a pure function of those and of i: pair p (giving
// elements p and p + ceil(n/2)) takes
// one SplitMix64 output of the counter (row key + (p+1) * golden gamma) -- SplitMix64 is itself
// a counter-based generator (Steele, Lea & Flood, OOPSLA 2014) -- split into two 24-bit
// uniforms u1 in (0, 1), u2 in [0, 1), and the Box-Muller pair
//   sqrt(-2 ln u1) cos(2 pi u2), sqrt(-2 ln u1) sin(2 pi u2).
// The 24-bit u1 truncates the tails at |z| = 5.8 (probability 7e-9). The loop vectorises
// (its translation unit uses the vector math library), so a draw costs a few cycles; results
// depend on the row and the position i, never on how rows are grouped or threaded.
#pragma once

#include <cstdint>

#include "common/random_stream.h"

namespace mho {

void fill_normals(const StreamKey& key, std::uint64_t index, std::uint32_t sub, float* out, int n);

// Rows (key, index, subs[r]) for r < rows, each of n draws, into out[r * n ...]: the same
// values as one fill_normals() call per row, at a fraction of the overhead for short rows.
void fill_normals_rows(const StreamKey& key, std::uint64_t index, const std::uint32_t* subs, int rows,
                       float* out, int n);

// Rows (key, indices[r], subs[r]) for r < rows: the same values as fill_normals() row by row,
// for rows of many samples in one call (a narrow tile's passes, sample after sample).
void fill_normals_samples(const StreamKey& key, const std::uint64_t* indices, const std::uint32_t* subs,
                          int rows, float* out, int n);

}  // namespace mho
