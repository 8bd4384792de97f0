#include "crossbar/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "common/validate.h"
#include "crossbar/blas_runtime.h"
#include "common/threads.h"

namespace mho {

namespace {
void blas(int m, int n, int k, const float* a, int la, const float* b, int lb, float* c, int lc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, la, b, lb, 0.0f, c, lc);
}
void blas(int m, int n, int k, const double* a, int la, const double* b, int lb, double* c, int lc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, la, b, lb, 0.0, c, lc);
}

// Runs body(block) for blocks 0 .. count-1 on mho's threads (serially inside a parallel region).
template <typename F>
void for_blocks(std::int64_t count, F&& body) {
  if (count > 1 && !omp_in_parallel()) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads())
    for (std::int64_t q = 0; q < count; ++q) body(q);
  } else {
    for (std::int64_t q = 0; q < count; ++q) body(q);
  }
}
}  // namespace

std::int64_t gemm_chunk_rows(std::int64_t n, std::int64_t k) {
  const std::int64_t per_row = std::max<std::int64_t>(1, n * k);
  std::int64_t rows = 64;
  while (rows * per_row < (std::int64_t(1) << 20)) rows *= 2;
  return rows;
}

template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b, RowMat<T>& c) {
  c.resize(a.rows(), b.cols());
  if (a.rows() == 0 || b.cols() == 0) return;
  if (a.cols() == 0) {
    c.setZero();
    return;
  }
  const BlasSerialScope serial;
  const std::int64_t rows = a.rows(), chunk = gemm_chunk_rows(b.cols(), a.cols());
  for_blocks((rows + chunk - 1) / chunk, [&](std::int64_t q) {
    const std::int64_t r0 = q * chunk, m = std::min(chunk, rows - r0);
    blas(int(m), int(b.cols()), int(a.cols()), a.data() + r0 * a.outerStride(), int(a.outerStride()),
         b.data(), int(b.outerStride()), c.data() + r0 * c.cols(), int(c.cols()));
  });
}

template <typename T>
void gemm_aligned(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
                  Eigen::Ref<RowMat<T>> c, std::int64_t first_row, std::int64_t chunk) {
  if (c.rows() != a.rows() || c.cols() != b.cols())
    reject("gemm_aligned output", std::to_string(c.rows()) + "x" + std::to_string(c.cols()), "must be A's rows x B's columns");
  if (chunk < 1) reject("gemm_aligned chunk", std::to_string(chunk), "must be >= 1");
  if (a.rows() == 0 || b.cols() == 0) return;
  if (a.cols() == 0) {
    c.setZero();
    return;
  }
  const BlasSerialScope serial;
  const std::int64_t last = first_row + a.rows(), c_first = first_row / chunk * chunk;
  const int n = int(b.cols()), k = int(a.cols());
  for_blocks((last - c_first + chunk - 1) / chunk, [&](std::int64_t q) {
    const std::int64_t c0 = c_first + q * chunk;
    const std::int64_t lo = std::max(c0, first_row), hi = std::min(c0 + chunk, last);
    if (lo == c0 && hi == c0 + chunk) {  // a whole chunk, in place
      blas(int(chunk), n, k, a.data() + (lo - first_row) * a.outerStride(), int(a.outerStride()), b.data(),
           int(b.outerStride()), c.data() + (lo - first_row) * c.outerStride(), int(c.outerStride()));
      return;
    }
    // A partial chunk: zero rows around it keep every row at its place in a full-size call.
    RowMat<T> pad_in = RowMat<T>::Zero(chunk, k), pad_out(chunk, n);
    pad_in.middleRows(lo - c0, hi - lo) = a.middleRows(lo - first_row, hi - lo);
    blas(int(chunk), n, k, pad_in.data(), k, b.data(), int(b.outerStride()), pad_out.data(), n);
    c.middleRows(lo - first_row, hi - lo) = pad_out.middleRows(lo - c0, hi - lo);
  });
}

template void gemm<float>(const Eigen::Ref<const RowMat<float>>&, const Eigen::Ref<const RowMat<float>>&, RowMat<float>&);
template void gemm<double>(const Eigen::Ref<const RowMat<double>>&, const Eigen::Ref<const RowMat<double>>&, RowMat<double>&);
template void gemm_aligned<float>(const Eigen::Ref<const RowMat<float>>&, const Eigen::Ref<const RowMat<float>>&,
                                  Eigen::Ref<RowMat<float>>, std::int64_t, std::int64_t);
template void gemm_aligned<double>(const Eigen::Ref<const RowMat<double>>&, const Eigen::Ref<const RowMat<double>>&,
                                   Eigen::Ref<RowMat<double>>, std::int64_t, std::int64_t);

void set_num_threads(int n) {
  require_in("num_threads", n, 1, 1024);
  set_threads(n);
}

int get_num_threads() { return threads(); }

}  // namespace mho
