// driven_rows_product against a plain ascending-row loop over every row (the zeros included):
// adding l * m = +-0 never changes a sum that starts at +0, so the two agree bit for bit.
#include <gtest/gtest.h>

#include <omp.h>

#include <cstring>
#include <random>

#include "crossbar/gemm.h"
#include "crossbar/level_product.h"

namespace mho {
namespace {

template <typename T>
void reference(const RowMat<T>& lv, const RowMat<T>& m, const RowMat<T>& s, RowMat<T>& out, RowMat<T>& var) {
  out = RowMat<T>::Zero(lv.rows(), m.cols());
  var = RowMat<T>::Zero(lv.rows(), m.cols());
  for (Eigen::Index r = 0; r < lv.rows(); ++r)
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      T a = T(0), q = T(0);
      for (Eigen::Index i = 0; i < lv.cols(); ++i) {
        a += lv(r, i) * m(i, j);
        q += (lv(r, i) * lv(r, i)) * s(i, j);
      }
      out(r, j) = a;
      var(r, j) = q;
    }
}

template <typename T>
void check(int rows, int k, int n, double p_on, bool signed_levels, bool general_levels) {
  std::mt19937_64 rng(1234 + rows * 7 + k * 13 + n);
  std::uniform_real_distribution<double> u(-1.0, 1.0), p(0.0, 1.0);
  RowMat<T> lv(rows, k), m(k, n), s(k, n);
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    m.data()[i] = T(u(rng) * 1e-5);
    s.data()[i] = T(std::abs(u(rng)) * 1e-12);
  }
  for (Eigen::Index i = 0; i < lv.size(); ++i) {
    T l = p(rng) < p_on ? T(1) : T(0);
    if (general_levels) l *= T(p(rng));
    if (signed_levels && p(rng) < 0.5) l = -l;
    lv.data()[i] = l;
  }
  RowMat<T> ref_out, ref_var;
  reference(lv, m, s, ref_out, ref_var);
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    RowMat<T> out, var;
    std::vector<std::uint8_t> driven(static_cast<std::size_t>(rows));
    std::uint64_t drives = 0;
    driven_rows_product<T>(lv, m, &s, out, &var, driven.data(), &drives);
    EXPECT_EQ(drives, std::uint64_t((lv.array() != T(0)).count())) << threads << " threads";
    EXPECT_EQ(0, std::memcmp(out.data(), ref_out.data(), sizeof(T) * out.size())) << threads << " threads";
    EXPECT_EQ(0, std::memcmp(var.data(), ref_var.data(), sizeof(T) * var.size())) << threads << " threads";
    for (int r = 0; r < rows; ++r) EXPECT_EQ(driven[std::size_t(r)] != 0, (lv.row(r).array() != T(0)).any());
    RowMat<T> out2, unused;
    driven_rows_product<T>(lv, m, nullptr, out2, &unused);
    EXPECT_TRUE(out2 == out);
  }
  set_num_threads(2);
}

TEST(DrivenRowsProduct, EqualsAscendingLoopBitForBit) {
  // Column counts cover every register block (48 for 0/1 levels, 32, 16, 8, 4, 2, 1) and their mixes; 0/1, +-1
  // and general levels; sparse and dense drive; rows that drive nothing.
  for (int n : {1, 2, 3, 4, 6, 7, 8, 24, 40, 48, 64, 100, 128, 150})
    for (double p_on : {0.0, 0.2, 0.9}) {
      check<float>(97, 25, n, p_on, false, false);
      check<float>(70, 150, n, p_on, true, false);
      check<double>(65, 33, n, p_on, true, true);
      // Narrow arrays (<= 32 rows, <= 8 columns) with +-1 and 0/1 levels: their own kernel.
      check<float>(97, 9, n, p_on, true, false);
      check<double>(80, 32, n, p_on, false, false);
      check<float>(20, 9, n, p_on, true, true);  // general levels: the driven-rows path
    }
}

TEST(DrivenRowsProduct, RejectsMismatchedShapes) {
  RowMat<float> lv = RowMat<float>::Zero(3, 4), m = RowMat<float>::Zero(5, 2), out, var;
  EXPECT_THROW(driven_rows_product<float>(lv, m, nullptr, out, &var), std::invalid_argument);
}

}  // namespace
}  // namespace mho
