#include "crossbar/level_product.h"

#include <omp.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "common/validate.h"
#include "common/threads.h"

namespace mho {

namespace {
// Columns c0 .. c0 + W of one output row; Eigen's fixed-size arrays keep the accumulators in
// vector registers. Each lane adds one row per step, so a step waits for the previous add
// (its latency, 3-4 cycles): the out and var sums share one loop to keep twice the independent
// additions in flight (each still sums its own rows in ascending order: the same bits).
template <int W, typename T>
void accumulate(const int* idx, const T* lvl, int na, const T* m, Eigen::Index lm, const T* s, Eigen::Index ls,
                int c0, T* out, T* var) {
  using Block = Eigen::Array<T, W, 1>;
  Block a = Block::Zero();
  if (!s) {
    for (int t = 0; t < na; ++t) a += lvl[t] * Eigen::Map<const Block>(m + idx[t] * lm + c0);
    Eigen::Map<Block>(out + c0) = a;
    return;
  }
  Block q = Block::Zero();
  for (int t = 0; t < na; ++t) {
    const T l = lvl[t];
    a += l * Eigen::Map<const Block>(m + idx[t] * lm + c0);
    q += (l * l) * Eigen::Map<const Block>(s + idx[t] * ls + c0);
  }
  Eigen::Map<Block>(out + c0) = a;
  Eigen::Map<Block>(var + c0) = q;
}

#if defined(__AVX2__) && defined(__FMA__)
// Columns c0 .. c0 + 48 of one output row whose driven levels are all exactly 1 (one-bit input
// planes): out += m and var += s. The adds alone are the bound (two vector adds per cycle), so
// the variance goes through the FMA units as fma(s, 1, var), which rounds s + var exactly as an
// add does: the same bits as accumulate<>, with twelve independent sums in flight.
void accumulate_unit48(const int* idx, int na, const float* m, Eigen::Index lm, const float* s, Eigen::Index ls,
                       int c0, float* out, float* var) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  __m256 q0 = a0, q1 = a0, q2 = a0, q3 = a0, q4 = a0, q5 = a0;
  for (int t = 0; t < na; ++t) {
    const float* mr = m + idx[t] * lm + c0;
    const float* sr = s + idx[t] * ls + c0;
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(mr));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(mr + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(mr + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(mr + 24));
    a4 = _mm256_add_ps(a4, _mm256_loadu_ps(mr + 32));
    a5 = _mm256_add_ps(a5, _mm256_loadu_ps(mr + 40));
    q0 = _mm256_fmadd_ps(_mm256_loadu_ps(sr), one, q0);
    q1 = _mm256_fmadd_ps(_mm256_loadu_ps(sr + 8), one, q1);
    q2 = _mm256_fmadd_ps(_mm256_loadu_ps(sr + 16), one, q2);
    q3 = _mm256_fmadd_ps(_mm256_loadu_ps(sr + 24), one, q3);
    q4 = _mm256_fmadd_ps(_mm256_loadu_ps(sr + 32), one, q4);
    q5 = _mm256_fmadd_ps(_mm256_loadu_ps(sr + 40), one, q5);
  }
  float* o = out + c0;
  float* v = var + c0;
  _mm256_storeu_ps(o, a0), _mm256_storeu_ps(o + 8, a1), _mm256_storeu_ps(o + 16, a2);
  _mm256_storeu_ps(o + 24, a3), _mm256_storeu_ps(o + 32, a4), _mm256_storeu_ps(o + 40, a5);
  _mm256_storeu_ps(v, q0), _mm256_storeu_ps(v + 8, q1), _mm256_storeu_ps(v + 16, q2);
  _mm256_storeu_ps(v + 24, q3), _mm256_storeu_ps(v + 32, q4), _mm256_storeu_ps(v + 40, q5);
}
constexpr bool kUnitKernel = true;
#else
void accumulate_unit48(const int*, int, const float*, Eigen::Index, const float*, Eigen::Index, int, float*, float*) {}
constexpr bool kUnitKernel = false;
#endif

// The non-zero levels of one row of lv and their row indices, in ascending order; idx and lvl
// hold k + 8 entries (the vector path stores 8 at a time). Returns their count.
template <typename T>
int compact(const T* l, int k, int* idx, T* lvl) {
  int na = 0;
  for (int i = 0; i < k; ++i) {  // branch-free: the zeros fall where they may
    idx[na] = i;
    lvl[na] = l[i];
    na += l[i] != T(0);
  }
  return na;
}

#ifdef __AVX2__
// For each 8-bit mask of non-zero lanes, the lanes in ascending order (then padding): one
// permutation moves a block's non-zeros to the front. The scalar loop above spent a sixth of
// ResNet-50's time on a loop-carried count.
const std::array<std::array<std::int32_t, 8>, 256>& compress_table() {
  alignas(32) static const auto table = [] {
    std::array<std::array<std::int32_t, 8>, 256> t{};
    for (int mask = 0; mask < 256; ++mask) {
      int n = 0;
      for (int lane = 0; lane < 8; ++lane)
        if (mask >> lane & 1) t[std::size_t(mask)][std::size_t(n++)] = lane;
    }
    return t;
  }();
  return table;
}

template <>
int compact<float>(const float* l, int k, int* idx, float* lvl) {
  const auto& table = compress_table();
  const __m256 zero = _mm256_setzero_ps();
  int na = 0, i = 0;
  for (; i + 8 <= k; i += 8) {
    const __m256 v = _mm256_loadu_ps(l + i);
    const int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_OQ));  // -0 counts as zero, as above
    const __m256i perm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table[std::size_t(mask)].data()));
    _mm256_storeu_ps(lvl + na, _mm256_permutevar8x32_ps(v, perm));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + na), _mm256_add_epi32(perm, _mm256_set1_epi32(i)));
    na += __builtin_popcount(unsigned(mask));
  }
  for (; i < k; ++i) {
    idx[na] = i;
    lvl[na] = l[i];
    na += l[i] != 0.0f;
  }
  return na;
}
#endif
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
    std::vector<int> idx(std::size_t(K) + 8);
    std::vector<T> lvl(std::size_t(K) + 8);
    for (Eigen::Index r = r0; r < r1; ++r) {
      const int na = compact<T>(lv.row(r).data(), K, idx.data(), lvl.data());
      if (driven) driven[r] = na > 0;
      mine += std::uint64_t(na);
      T* o = out.row(r).data();
      T* v = s ? var->row(r).data() : nullptr;
      int c0 = 0;
      if constexpr (std::is_same_v<T, float>) {
        if (kUnitKernel && s && N >= 48) {
          bool unit = true;
          for (int t = 0; t < na; ++t) unit &= lvl[std::size_t(t)] == 1.0f;
          if (unit)
            for (; c0 + 48 <= N; c0 += 48)
              accumulate_unit48(idx.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v);
        }
      }
      // Without a variance, 64 columns a step: as many independent additions in flight.
      if (!s)
        for (; c0 + 64 <= N; c0 += 64) accumulate<64>(idx.data(), lvl.data(), na, m.data(), m.outerStride(), sd, ls, c0, o, v);
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
