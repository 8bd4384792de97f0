#include "crossbar/gemm.h"

#include <cblas.h>
#include <omp.h>

#include "common/validate.h"

namespace mho {

template <>
void gemm<float>(const Eigen::Ref<const RowMat<float>>& a, const Eigen::Ref<const RowMat<float>>& b,
                 RowMat<float>& c) {
  c.resize(a.rows(), b.cols());
  if (a.rows() == 0 || b.cols() == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(a.rows()), int(b.cols()),
              int(a.cols()), 1.0f, a.data(), int(a.outerStride()), b.data(),
              int(b.outerStride()), 0.0f, c.data(), int(c.cols()));
}

template <>
void gemm<double>(const Eigen::Ref<const RowMat<double>>& a,
                  const Eigen::Ref<const RowMat<double>>& b, RowMat<double>& c) {
  c.resize(a.rows(), b.cols());
  if (a.rows() == 0 || b.cols() == 0) return;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(a.rows()), int(b.cols()),
              int(a.cols()), 1.0, a.data(), int(a.outerStride()), b.data(),
              int(b.outerStride()), 0.0, c.data(), int(c.cols()));
}

void set_num_threads(int n) {
  require_in("num_threads", n, 1, 1024);
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace mho
