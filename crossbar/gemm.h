// C = A * B for row-major float or double matrices, through OpenBLAS's cblas. The
// analog product of every tile goes through here.
//
// Every product is cut into fixed-shape calls that each run single-threaded in OpenBLAS
// (crossbar/blas_runtime.h says why); mho runs those calls on its own OpenMP threads
// (set_num_threads()). A call's shape never depends on the thread count, so neither do the
// results.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace mho {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows are taken in blocks of gemm_chunk_rows() counted from A's first row: bit-identical
// for any thread count, but a row may round differently when A is cut elsewhere (use
// gemm_aligned() where batch splits must not matter).
template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
          RowMat<T>& c);

// C = A * B where row r of A is row (first_row + r) of a longer stream; c must have A's rows
// and B's columns. OpenBLAS rounds a row differently with the call's shape and the row's
// place in it (edge kernels, a direct small-matrix path on AVX-512), so every call is exactly
// `chunk` rows aligned to multiples of `chunk` in the stream (partial chunks padded with zero
// rows): a row's result is the same however the stream is cut into batches and whatever the
// thread count (tested in tests/crossbar/test_tile_repro.cpp).
// Rows per aligned call for products with n columns and k inner size: the smallest power of
// two >= 64 with rows * n * k >= 2^20 (large enough for full-speed calls; small enough that a
// block of drive levels, currents and variances stays in L2: with 2^22, two sweep workers on
// two cores ran each task 1.3x slower than one alone).
std::int64_t gemm_chunk_rows(std::int64_t n, std::int64_t k);

template <typename T>
void gemm_aligned(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
                  Eigen::Ref<RowMat<T>> c, std::int64_t first_row, std::int64_t chunk);

// Threads of mho's own OpenMP passes, which also run the fixed-shape BLAS calls side by side.
// OpenBLAS's own threads serve other callers (numpy) and are left as they are.
void set_num_threads(int n);
int get_num_threads();

}  // namespace mho
