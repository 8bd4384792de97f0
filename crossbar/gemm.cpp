#include "crossbar/gemm.h"

#include <cblas.h>
#include <omp.h>

#include "common/validate.h"

namespace mho {

namespace {

// Skinny products (small n * k per row, e.g. early conv layers) are split by rows over mho's
// OpenMP threads with OpenBLAS single-threaded for the call: OpenBLAS's own threading costs
// more than it gains there. Wide products use OpenBLAS's threads. Changing OpenBLAS's thread
// count takes ~10 ns; the caller's setting (numpy's) is restored.
class OpenblasSingleThread {
 public:
  OpenblasSingleThread() : previous_(openblas_get_num_threads()) {
    if (previous_ != 1) openblas_set_num_threads(1);
  }
  ~OpenblasSingleThread() {
    if (previous_ != 1) openblas_set_num_threads(previous_);
  }
  OpenblasSingleThread(const OpenblasSingleThread&) = delete;
  OpenblasSingleThread& operator=(const OpenblasSingleThread&) = delete;

 private:
  int previous_;
};

constexpr Eigen::Index kSkinny = 16384;  // n * k below which a product is split by rows

// Rows per thread below which one thread does the whole product.
constexpr Eigen::Index kMinRowsPerThread = 64;

template <typename T, typename F>
void row_split_gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
                    RowMat<T>& c, F blas) {
  c.resize(a.rows(), b.cols());
  if (a.rows() == 0 || b.cols() == 0) return;
  if (a.cols() == 0) {
    c.setZero();
    return;
  }
  const int threads = a.cols() * b.cols() < kSkinny ? omp_get_max_threads() : 1;
  const int chunks = int(std::max<Eigen::Index>(1, std::min<Eigen::Index>(threads, a.rows() / kMinRowsPerThread)));
  if (chunks == 1) {
    blas(int(a.rows()), int(b.cols()), int(a.cols()), a.data(), int(a.outerStride()), b.data(),
         int(b.outerStride()), c.data(), int(c.cols()));
    return;
  }
  OpenblasSingleThread single;
  // Each output row is computed by the same kernel whatever rows share its call, so the
  // split does not change results (tests/crossbar/test_tile_repro.cpp checks 1 vs 2 threads).
#pragma omp parallel for num_threads(chunks) schedule(static)
  for (int t = 0; t < chunks; ++t) {
    const Eigen::Index r0 = a.rows() * t / chunks, r1 = a.rows() * (t + 1) / chunks;
    if (r1 > r0)
      blas(int(r1 - r0), int(b.cols()), int(a.cols()), a.data() + r0 * a.outerStride(), int(a.outerStride()),
           b.data(), int(b.outerStride()), c.data() + r0 * c.cols(), int(c.cols()));
  }
}

}  // namespace

template <>
void gemm<float>(const Eigen::Ref<const RowMat<float>>& a, const Eigen::Ref<const RowMat<float>>& b,
                 RowMat<float>& c) {
  row_split_gemm<float>(a, b, c, [](int m, int n, int k, const float* pa, int la, const float* pb, int lb, float* pc, int lc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, pa, la, pb, lb, 0.0f, pc, lc);
  });
}

template <>
void gemm<double>(const Eigen::Ref<const RowMat<double>>& a,
                  const Eigen::Ref<const RowMat<double>>& b, RowMat<double>& c) {
  row_split_gemm<double>(a, b, c, [](int m, int n, int k, const double* pa, int la, const double* pb, int lb, double* pc, int lc) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, pa, la, pb, lb, 0.0, pc, lc);
  });
}

void set_num_threads(int n) {
  require_in("num_threads", n, 1, 1024);
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }



}  // namespace mho
