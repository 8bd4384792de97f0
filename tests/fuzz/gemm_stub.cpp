// The readers never multiply matrices, but nets/network.cpp (Network::forward) refers to
// mho::gemm; this stands in for crossbar/gemm.cpp so the fuzz build needs neither BLAS nor
// the rest of crossbar/.
#include <cstdlib>

#include "crossbar/gemm.h"

namespace mho {

template <typename T>
void gemm(const Eigen::Ref<const RowMat<T>>&, const Eigen::Ref<const RowMat<T>>&, RowMat<T>&) {
  std::abort();  // unreachable from the harnesses
}
template void gemm<float>(const Eigen::Ref<const RowMat<float>>&, const Eigen::Ref<const RowMat<float>>&, RowMat<float>&);
template void gemm<double>(const Eigen::Ref<const RowMat<double>>&, const Eigen::Ref<const RowMat<double>>&, RowMat<double>&);

}  // namespace mho
