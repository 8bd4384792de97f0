// The analog product for one-bit drive levels (bit-serial planes): most levels are 0 and the
// rest are +-1 (or one nonlinear value), so the product is a sum of the array rows a plane
// drives. Summing just those rows skips the zeros a dense GEMM multiplies (most of an image's
// pixel bits), and the small-K shapes where OpenBLAS spends its time packing.
//
// Contract: out = lv * m and, with s, var = (lv .* lv) * s. Every output sums the driven rows
// in ascending row order, so it is a pure function of its row of lv: the same bits for any
// thread count, batch split and CPU (no BLAS kernel is involved). Thread-safe; parallel over
// rows of lv on mho's threads. With `driven`, driven[r] says whether row r of lv has any
// non-zero level (if not, its outputs are exactly zero); with `nonzeros`, *nonzeros is the
// count of non-zero levels in lv (the row drives a pass makes: crossbar/counters.h), counted
// in the same pass.
#pragma once

#include <cstdint>

#include "crossbar/gemm.h"

namespace mho {

template <typename T>
void driven_rows_product(const Eigen::Ref<const RowMat<T>>& lv, const RowMat<T>& m, const RowMat<T>* s,
                         RowMat<T>& out, RowMat<T>* var, std::uint8_t* driven = nullptr,
                         std::uint64_t* nonzeros = nullptr);

}  // namespace mho
