// C = A * B for row-major float or double matrices, through OpenBLAS's cblas. The
// analog product of every tile goes through here. Thread count: set_num_threads().
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace mho {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
          RowMat<T>& c);

// C = A * B where row r of A is row (first_row + r) of a longer stream; c must have A's rows
// and B's columns. OpenBLAS rounds a row differently when a call is small (it switches to
// small-matrix kernels below roughly 1e6 multiply-adds), so products run only in calls of
// a whole number of `chunk` rows aligned to multiples of `chunk` in the stream (partial
// chunks padded with zero rows). With chunk * n * k well above that size (gemm_chunk_rows),
// a row's result is the same however the stream is cut into batches (tested in
// tests/crossbar/test_tile_repro.cpp).
// Rows per aligned call for products with n columns and k inner size: the smallest power of
// two >= 64 with rows * n * k >= 2^22.
std::int64_t gemm_chunk_rows(std::int64_t n, std::int64_t k);

template <typename T>
void gemm_aligned(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
                  Eigen::Ref<RowMat<T>> c, std::int64_t first_row, std::int64_t chunk);

// Threads used by OpenBLAS and by mho's own OpenMP passes (which also split skinny products).
void set_num_threads(int n);
int get_num_threads();

}  // namespace mho
