// C = A * B for row-major float or double matrices, through OpenBLAS's cblas. The
// analog product of every tile goes through here. Thread count: set_num_threads().
#pragma once

#include <Eigen/Dense>

namespace mho {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>& a, const Eigen::Ref<const RowMat<T>>& b,
          RowMat<T>& c);

// Threads used by OpenBLAS and by mho's own OpenMP passes (which also split skinny products).
void set_num_threads(int n);
int get_num_threads();

}  // namespace mho
