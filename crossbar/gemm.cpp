#include "crossbar/gemm.h"

#include <cblas.h>
#include <omp.h>

#include "common/validate.h"

namespace mho {

namespace {
void blas(int m, int n, int k, const float* a, int la, const float* b, int lb, float* c, int lc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, la, b, lb, 0.0f, c, lc);
}
void blas(int m, int n, int k, const double* a, int la, const double* b, int lb, double* c, int lc) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, la, b, lb, 0.0, c, lc);
}
}  // namespace

template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b, RowMat<T>& c) {
  c.resize(a.rows(), b.cols());
  if (a.rows() == 0 || b.cols() == 0) return;
  if (a.cols() == 0) {
    c.setZero();
    return;
  }
  blas(int(a.rows()), int(b.cols()), int(a.cols()), a.data(), int(a.outerStride()), b.data(),
       int(b.outerStride()), c.data(), int(c.cols()));
}

std::int64_t gemm_chunk_rows(std::int64_t n, std::int64_t k) {
  const std::int64_t per_row = std::max<std::int64_t>(1, n * k);
  std::int64_t rows = 64;
  while (rows * per_row < (std::int64_t(1) << 22)) rows *= 2;
  return rows;
}

template <typename T>
void gemm_aligned(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
                  Eigen::Ref<RowMat<T>> c, std::int64_t first_row, std::int64_t chunk) {
  if (c.rows() != a.rows() || c.cols() != b.cols())
    reject("gemm_aligned output", std::to_string(c.rows()) + "x" + std::to_string(c.cols()), "must be A's rows x B's columns");
  if (a.rows() == 0 || b.cols() == 0) return;
  if (a.cols() == 0) {
    c.setZero();
    return;
  }
  const std::int64_t last = first_row + a.rows();
  // Whole chunks in one call (its size stays a multiple of `chunk`), partial ones padded.
  const std::int64_t whole_lo = (first_row + chunk - 1) / chunk * chunk, whole_hi = last / chunk * chunk;
  if (whole_hi > whole_lo)
    blas(int(whole_hi - whole_lo), int(b.cols()), int(a.cols()), a.data() + (whole_lo - first_row) * a.outerStride(),
         int(a.outerStride()), b.data(), int(b.outerStride()), c.data() + (whole_lo - first_row) * c.outerStride(),
         int(c.outerStride()));
  RowMat<T> pad_in, pad_out;
  for (std::int64_t c0 = first_row / chunk * chunk; c0 < last; c0 += chunk) {
    const std::int64_t lo = std::max(c0, first_row), hi = std::min(c0 + chunk, last);
    if (lo == c0 && hi == c0 + chunk) continue;  // done above
    // A partial chunk: zero rows around it keep every row at its place in a full-size call.
    pad_in.setZero(chunk, a.cols());
    pad_out.resize(chunk, b.cols());
    pad_in.middleRows(lo - c0, hi - lo) = a.middleRows(lo - first_row, hi - lo);
    blas(int(chunk), int(b.cols()), int(a.cols()), pad_in.data(), int(pad_in.cols()), b.data(),
         int(b.outerStride()), pad_out.data(), int(pad_out.cols()));
    c.middleRows(lo - first_row, hi - lo) = pad_out.middleRows(lo - c0, hi - lo);
  }
}

template void gemm<float>(const Eigen::Ref<const RowMat<float>>&, const Eigen::Ref<const RowMat<float>>&, RowMat<float>&);
template void gemm<double>(const Eigen::Ref<const RowMat<double>>&, const Eigen::Ref<const RowMat<double>>&, RowMat<double>&);
template void gemm_aligned<float>(const Eigen::Ref<const RowMat<float>>&, const Eigen::Ref<const RowMat<float>>&,
                                  Eigen::Ref<RowMat<float>>, std::int64_t, std::int64_t);
template void gemm_aligned<double>(const Eigen::Ref<const RowMat<double>>&, const Eigen::Ref<const RowMat<double>>&,
                                   Eigen::Ref<RowMat<double>>, std::int64_t, std::int64_t);

void set_num_threads(int n) {
  require_in("num_threads", n, 1, 1024);
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace mho
