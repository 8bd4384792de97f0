#include "crossbar/level_product.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "common/validate.h"
#include "common/threads.h"

namespace mho {

namespace {
// Columns c0 .. c0 + W of one output row; Eigen's fixed-size arrays keep the accumulators in
// vector registers.
template <int W, typename T>
void accumulate(const int* idx, const T* lvl, int na, const T* m, Eigen::Index lm, const T* s, Eigen::Index ls,
                int c0, T* out, T* var) {
  using Block = Eigen::Array<T, W, 1>;
  Block a = Block::Zero();
  for (int t = 0; t < na; ++t) a += lvl[t] * Eigen::Map<const Block>(m + idx[t] * lm + c0);
  Eigen::Map<Block>(out + c0) = a;
  if (!s) return;
  Block q = Block::Zero();
  for (int t = 0; t < na; ++t) q += (lvl[t] * lvl[t]) * Eigen::Map<const Block>(s + idx[t] * ls + c0);
  Eigen::Map<Block>(var + c0) = q;
}
}  // namespace

template <typename T>
void driven_rows_product(const Eigen::Ref<const RowMat<T>>& lv, const RowMat<T>& m, const RowMat<T>* s,
                         RowMat<T>& out, RowMat<T>* var, std::uint8_t* driven, std::uint64_t* nonzeros) {
  if (lv.cols() != m.rows() || (s && (s->rows() != m.rows() || s->cols() != m.cols())))
    reject("driven_rows_product operands", std::to_string(lv.cols()) + " inputs",
           "must match the array's rows (and the variance matrix its shape)");
  const Eigen::Index R = lv.rows();
  const int K = int(lv.cols()), N = int(m.cols());
  out.resize(R, N);
  if (s) var->resize(R, N);
  const T* sd = s ? s->data() : nullptr;
  const Eigen::Index ls = s ? s->outerStride() : 0;
  std::uint64_t count = 0;  // an integer sum: the same for any split
  auto rows = [&](Eigen::Index r0, Eigen::Index r1) {
    std::uint64_t mine = 0;
    std::vector<int> idx(std::size_t(K) + 1);
    std::vector<T> lvl(std::size_t(K) + 1);
    for (Eigen::Index r = r0; r < r1; ++r) {
      const T* l = lv.row(r).data();
      int na = 0;
      for (int i = 0; i < K; ++i) {  // branch-free: the zeros fall where they may
        idx[std::size_t(na)] = i;
        lvl[std::size_t(na)] = l[i];
        na += l[i] != T(0);
      }
      if (driven) driven[r] = na > 0;
      mine += std::uint64_t(na);
      T* o = out.row(r).data();
      T* v = s ? var->row(r).data() : nullptr;
      int c0 = 0;
      for (; c0 + 32 <= N; c0 += 32) accumulate<32>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v);
      if (c0 + 16 <= N) { accumulate<16>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v); c0 += 16; }
      if (c0 + 8 <= N) { accumulate<8>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v); c0 += 8; }
      // Narrow arrays (a depthwise group's 9 x 1 weights are 4 GEMM columns at 8 bits on 2-bit
      // cells): each lane still sums its own column in row order, so the bits are unchanged.
      if (c0 + 4 <= N) { accumulate<4>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v); c0 += 4; }
      if (c0 + 2 <= N) { accumulate<2>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v); c0 += 2; }
      for (; c0 < N; ++c0) accumulate<1>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v);
    }
#pragma omp atomic
    count += mine;
  };
  // Rows are independent: any split gives the same bits.
  if (R >= 64 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads())
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      rows(R * t / nt, R * (t + 1) / nt);
    }
  } else {
    rows(0, R);
  }
  if (nonzeros) *nonzeros = count;
}

template void driven_rows_product<float>(const Eigen::Ref<const RowMat<float>>&, const RowMat<float>&,
                                         const RowMat<float>*, RowMat<float>&, RowMat<float>*, std::uint8_t*,
                                         std::uint64_t*);
template void driven_rows_product<double>(const Eigen::Ref<const RowMat<double>>&, const RowMat<double>&,
                                          const RowMat<double>*, RowMat<double>&, RowMat<double>*, std::uint8_t*,
                                          std::uint64_t*);

}  // namespace mho
