#include "crossbar/level_product.h"

#include <omp.h>

#ifdef __AVX2__
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
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

// One-bit planes, blocked for L1 (float with a variance, 0/1 levels). The row-at-a-time loop
// streams the array's value and variance matrices (2 x 256 x 128 floats for a default tile, in
// L2) once per pass row. Here they are packed once per call into 16-column panels, each row's
// 16 values then its 16 variances (128 bytes, a panel 32 KiB for 256 rows: L1-resident), plus
// one zero row past the last. kUnitLanes pass rows run side by side over one panel (2 x
// kUnitLanes independent sums in flight); a row whose list of driven rows is shorter than its
// group's longest is padded with the zero row. Adding +0 to a sum that starts at +0 never
// changes it (the sum is never -0), so every output still is the ascending sum of its driven
// rows alone: the same bits as accumulate<>.
constexpr int kPanel = 16;
#ifdef __AVX512F__
constexpr int kUnitLanes = 6;  // 12 of 32 zmm registers
#else
constexpr int kUnitLanes = 3;  // 16 columns are 2 ymm: 12 of 16 registers
#endif
using Panel = float __attribute__((vector_size(kPanel * sizeof(float))));

void pack_panels(const float* m, Eigen::Index lm, const float* s, Eigen::Index ls, int K, int panels, float* pk) {
  for (int c = 0; c < panels; ++c) {
    float* p = pk + std::size_t(c) * std::size_t(K + 1) * (2 * kPanel);
    for (int i = 0; i < K; ++i) {
      std::memcpy(p + std::size_t(i) * 2 * kPanel, m + i * lm + c * kPanel, sizeof(float) * kPanel);
      std::memcpy(p + std::size_t(i) * 2 * kPanel + kPanel, s + i * ls + c * kPanel, sizeof(float) * kPanel);
    }
    std::fill(p + std::size_t(K) * 2 * kPanel, p + std::size_t(K + 1) * 2 * kPanel, 0.0f);
  }
}

// One panel of kUnitLanes pass rows: lane l sums panel rows idx[l][0 .. n) into out[l][0 .. 16)
// and var[l][0 .. 16).
void unit_panel(const int* const* idx, int n, const float* panel, float* const* out, float* const* var) {
  Panel a[kUnitLanes], q[kUnitLanes];
#pragma GCC unroll 8
  for (int l = 0; l < kUnitLanes; ++l) a[l] = q[l] = Panel{};
  for (int t = 0; t < n; ++t) {
#pragma GCC unroll 8
    for (int l = 0; l < kUnitLanes; ++l) {
      const float* r = panel + std::size_t(idx[l][t]) * (2 * kPanel);
      Panel mv, sv;
      std::memcpy(&mv, r, sizeof mv);
      std::memcpy(&sv, r + kPanel, sizeof sv);
      a[l] += mv;
      q[l] += sv;
    }
  }
#pragma GCC unroll 8
  for (int l = 0; l < kUnitLanes; ++l) {
    std::memcpy(out[l], &a[l], sizeof a[l]);
    std::memcpy(var[l], &q[l], sizeof q[l]);
  }
}

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

// Narrow arrays (a depthwise group: 9 rows, 4 GEMM columns) with levels in {-1, 0, +1}: each
// pass row sums every row of m in ascending order, driven or not. A level-0 row adds l * m =
// +-0, which leaves a sum that is never -0 unchanged (it starts at +0, and x + -x is +0), and
// a +-1 row adds +-m exactly, as the driven-rows sum does: the same bits, with none of the
// compaction and dispatch that cost more than the additions on so few rows and columns.
constexpr int kNarrowRows = 32, kNarrowColumns = 8;
// Rows whose sums are looked up: 3^6 = 729 patterns (their sums, variance sums and counts take
// at most 729 x 17 values, 97 KiB at 8 double columns; 26 KiB at a depthwise group's 4 float columns).
constexpr int kPrefixRows = 6, kPrefixPatterns = 729;

// Rows r0 .. r1; false (before any output is written) if a level is not 0 or +-1.
template <int W, typename T>
bool narrow_rows(const Eigen::Ref<const RowMat<T>>& lv, const RowMat<T>& m, const RowMat<T>* s, RowMat<T>& out,
                 RowMat<T>* var, std::uint8_t* driven, Eigen::Index r0, Eigen::Index r1, std::uint64_t* drives) {
  const int K = int(lv.cols());
  const T* md = m.data();
  const Eigen::Index lm = m.outerStride();
  const T* sd = s ? s->data() : nullptr;
  const Eigen::Index ls = s ? s->outerStride() : 0;
  std::uint64_t count = 0;
  // Every level 0 or +-1 first: one flat pass when the rows are contiguous (a tile's are).
  const bool flat = lv.outerStride() == K;
  for (Eigen::Index r = r0; r < r1; r += flat ? r1 - r0 : 1) {
    const T* l = lv.row(r).data();
    const Eigen::Index n = flat ? (r1 - r0) * K : K;
    int other = 0;
    for (Eigen::Index i = 0; i < n; ++i) other |= (l[i] != T(0)) & (l[i] != T(1)) & (l[i] != T(-1));
    if (other) return false;
  }
  // The sums of the first kPrefixRows rows for each of their 3^kPrefixRows level patterns (row
  // i is digit i: 0 undriven, 1 at +1, 2 at -1), looked up per pass row. Pattern e + d 3^h
  // (e < 3^h) is pattern e plus row h: each entry makes the additions of the loop below, in
  // ascending row order (the undriven rows' +-0 aside).
  const int pre = K > kPrefixRows ? kPrefixRows : 0;
  thread_local std::vector<T> table;
  const int entries = pre ? kPrefixPatterns : 0;
  table.resize(std::size_t(entries) * (2 * W + 1));
  T* pa = table.data();              // entries x W sums
  T* pq = pa + std::size_t(entries) * W;  // entries x W variance sums
  T* pc = pq + std::size_t(entries) * W;  // entries: driven rows
  if (pre) {
    for (int c = 0; c < W; ++c) pa[c] = pq[c] = T(0);
    pc[0] = T(0);
    for (int h = 0, size = 1; h < pre; ++h, size *= 3)
      for (int d = 1; d <= 2; ++d) {
        const T li = d == 1 ? T(1) : T(-1);
        for (int e = 0; e < size; ++e) {
          const int to = e + d * size;
          for (int c = 0; c < W; ++c) pa[to * W + c] = pa[e * W + c] + li * md[h * lm + c];
          if (sd)
            for (int c = 0; c < W; ++c) pq[to * W + c] = pq[e * W + c] + (li * li) * sd[h * ls + c];
          pc[to] = pc[e] + T(1);
        }
      }
  }
  for (Eigen::Index r = r0; r < r1; ++r) {
    const T* l = lv.row(r).data();
    T a[W] = {}, q[W] = {}, n_driven = T(0);
    if (pre) {
      int e = 0;
      for (int i = pre - 1; i >= 0; --i) e = 3 * e + int(l[i] * l[i]) + int(l[i] < T(0));
      for (int c = 0; c < W; ++c) a[c] = pa[e * W + c];
      if (sd)
        for (int c = 0; c < W; ++c) q[c] = pq[e * W + c];
      n_driven = pc[e];
    }
    for (int i = pre; i < K; ++i) {
      const T li = l[i];
      n_driven += li * li;  // 0 or 1 (the levels were checked): an exact count
      for (int c = 0; c < W; ++c) a[c] += li * md[i * lm + c];
      if (sd)
        for (int c = 0; c < W; ++c) q[c] += (li * li) * sd[i * ls + c];
    }
    T* o = out.row(r).data();
    for (int c = 0; c < W; ++c) o[c] = a[c];
    if (sd) {
      T* v = var->row(r).data();
      for (int c = 0; c < W; ++c) v[c] = q[c];
    }
    const int na = int(n_driven);
    if (driven) driven[r] = na > 0;
    count += std::uint64_t(na);
  }
  *drives += count;
  return true;
}

template <typename T>
using NarrowKernel = bool (*)(const Eigen::Ref<const RowMat<T>>&, const RowMat<T>&, const RowMat<T>*, RowMat<T>&,
                              RowMat<T>*, std::uint8_t*, Eigen::Index, Eigen::Index, std::uint64_t*);

template <typename T>
NarrowKernel<T> narrow_kernel(int n) {
  switch (n) {
    case 1: return narrow_rows<1, T>;
    case 2: return narrow_rows<2, T>;
    case 3: return narrow_rows<3, T>;
    case 4: return narrow_rows<4, T>;
    case 5: return narrow_rows<5, T>;
    case 6: return narrow_rows<6, T>;
    case 7: return narrow_rows<7, T>;
    case 8: return narrow_rows<8, T>;
    default: return nullptr;
  }
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
  if (K <= kNarrowRows && N <= kNarrowColumns && N > 0) {
    // Falls through to the driven-rows sum (which rewrites every output) at any other level.
    const NarrowKernel<T> kernel = narrow_kernel<T>(N);
    bool ok = true;
    if (R >= 64 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads()) reduction(+ : count) reduction(&& : ok)
      {
        const int nt = omp_get_num_threads(), t = omp_get_thread_num();
        ok = kernel(lv, m, s, out, var, driven, R * t / nt, R * (t + 1) / nt, &count);
      }
    } else {
      ok = kernel(lv, m, s, out, var, driven, 0, R, &count);
    }
    if (ok) {
      if (nonzeros) *nonzeros = count;
      return;
    }
    count = 0;
  }
  // The columns c0 .. N of pass row r from its compacted levels.
  auto row_columns = [&](Eigen::Index r, const int* ix, const T* lv_, int na, int c0) {
    T* o = out.row(r).data();
    T* v = s ? var->row(r).data() : nullptr;
    const T* md = m.data();
    const Eigen::Index lm = m.outerStride();
    // Without a variance, 64 columns a step: as many independent additions in flight.
    if (!s)
      for (; c0 + 64 <= N; c0 += 64) accumulate<64>(ix, lv_, na, md, lm, sd, ls, c0, o, v);
    for (; c0 + 32 <= N; c0 += 32) accumulate<32>(ix, lv_, na, md, lm, sd, ls, c0, o, v);
    if (c0 + 16 <= N) { accumulate<16>(ix, lv_, na, md, lm, sd, ls, c0, o, v); c0 += 16; }
    if (c0 + 8 <= N) { accumulate<8>(ix, lv_, na, md, lm, sd, ls, c0, o, v); c0 += 8; }
    // Narrow arrays (a depthwise group's 9 x 1 weights are 4 GEMM columns at 8 bits on 2-bit
    // cells): each lane still sums its own column in row order, so the bits are unchanged.
    if (c0 + 4 <= N) { accumulate<4>(ix, lv_, na, md, lm, sd, ls, c0, o, v); c0 += 4; }
    if (c0 + 2 <= N) { accumulate<2>(ix, lv_, na, md, lm, sd, ls, c0, o, v); c0 += 2; }
    for (; c0 < N; ++c0) accumulate<1>(ix, lv_, na, md, lm, sd, ls, c0, o, v);
  };
  // The panel path (see pack_panels): float, a variance, at least one whole panel.
  const int panels = std::is_same_v<T, float> && s ? N / kPanel : 0;
  // Kept per calling thread (a tile's blocks run on several): one allocation, no zeroing per call.
  thread_local std::vector<float> packed;
  if (panels > 0) {
    // 16 floats of slack: each panel row starts on a 64-byte line (a zmm load never splits).
    const std::size_t need = std::size_t(panels) * std::size_t(K + 1) * 2 * kPanel + 16;
    if (packed.size() < need) packed.resize(need);
  }
  float* panel_data = packed.data();
  while (reinterpret_cast<std::uintptr_t>(panel_data) % 64 != 0) ++panel_data;
  if constexpr (std::is_same_v<T, float>)
    if (panels > 0) pack_panels(m.data(), m.outerStride(), sd, ls, K, panels, panel_data);
  auto rows = [&](Eigen::Index r0, Eigen::Index r1) {
    std::uint64_t mine = 0;
    // Pass rows go through in sub-blocks, each row compacted once for all its panels.
    constexpr int kSub = 8 * kUnitLanes;
    const std::size_t stride = std::size_t(K) + 8;
    // Per thread, kept between calls: no allocation or zeroing per block.
    thread_local std::vector<int> idx, zero_list;
    thread_local std::vector<T> lvl;
    if (idx.size() < stride * kSub) idx.resize(stride * kSub);
    if (lvl.size() < stride * kSub) lvl.resize(stride * kSub);
    zero_list.assign(std::size_t(K) + 8, K);  // an idle lane: the zero row only
    std::array<float, 2 * kPanel> scratch;
    std::array<int, kSub> nas{};
    std::array<Eigen::Index, kSub> unit_rows{};
    for (Eigen::Index b0 = r0; b0 < r1; b0 += kSub) {
      const int nb = int(std::min<Eigen::Index>(kSub, r1 - b0));
      int n_unit = 0;
      for (int j = 0; j < nb; ++j) {
        const Eigen::Index r = b0 + j;
        int* ix = idx.data() + stride * j;
        T* lv_ = lvl.data() + stride * j;
        const int na = compact<T>(lv.row(r).data(), K, ix, lv_);
        nas[std::size_t(j)] = na;
        if (driven) driven[r] = na > 0;
        mine += std::uint64_t(na);
        bool unit = panels > 0;
        for (int t = 0; unit && t < na; ++t) unit = lv_[t] == T(1);
        if (unit)
          unit_rows[std::size_t(n_unit++)] = j;
        else
          row_columns(r, ix, lv_, na, 0);
      }
      if (n_unit == 0) continue;
      // Rows of similar counts side by side: little padding (which row goes where changes no bit).
      std::sort(unit_rows.begin(), unit_rows.begin() + n_unit,
                [&](Eigen::Index x, Eigen::Index y) { return nas[std::size_t(x)] < nas[std::size_t(y)]; });
      if constexpr (std::is_same_v<T, float>) {
        for (int g0 = 0; g0 < n_unit; g0 += kUnitLanes) {
          const int* lists[kUnitLanes];
          float* outs[kUnitLanes];
          float* vars[kUnitLanes];
          int longest = 0;
          for (int l = 0; l < kUnitLanes; ++l)
            if (g0 + l < n_unit) longest = std::max(longest, nas[std::size_t(unit_rows[std::size_t(g0 + l)])]);
          for (int l = 0; l < kUnitLanes; ++l) {
            if (g0 + l < n_unit) {
              const Eigen::Index j = unit_rows[std::size_t(g0 + l)];
              int* ix = idx.data() + stride * std::size_t(j);
              std::fill(ix + nas[std::size_t(j)], ix + longest, K);
              lists[l] = ix;
              outs[l] = out.row(b0 + j).data();
              vars[l] = var->row(b0 + j).data();
            } else {  // an idle lane: sums the zero row into scratch
              lists[l] = zero_list.data();
              outs[l] = vars[l] = nullptr;
            }
          }
          for (int c = 0; c < panels; ++c) {
            const int c0 = c * kPanel;
            const float* panel = panel_data + std::size_t(c) * std::size_t(K + 1) * 2 * kPanel;
            float* o_l[kUnitLanes];
            float* v_l[kUnitLanes];
            for (int l = 0; l < kUnitLanes; ++l) {
              const bool idle = g0 + l >= n_unit;
              o_l[l] = idle ? scratch.data() : outs[l] + c0;
              v_l[l] = idle ? scratch.data() + kPanel : vars[l] + c0;
            }
            unit_panel(lists, longest, panel, o_l, v_l);
          }
          // Columns past the last whole panel, row by row (the padding is past each row's count).
          if (panels * kPanel < N)
            for (int l = 0; l < kUnitLanes && g0 + l < n_unit; ++l) {
              const Eigen::Index j = unit_rows[std::size_t(g0 + l)];
              row_columns(b0 + j, idx.data() + stride * std::size_t(j), lvl.data() + stride * std::size_t(j),
                          nas[std::size_t(j)], panels * kPanel);
            }
        }
      }
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
