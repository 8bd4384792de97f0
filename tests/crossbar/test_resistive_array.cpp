#include <gtest/gtest.h>

#include <cmath>

#include "crossbar/resistive_array.h"
#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::RowMatD;

Eigen::MatrixXd uniform_g(int rows, int cols, unsigned seed) {
  RowMatD n = testing::normal_matrix(rows, cols, seed);
  return n.unaryExpr([](double v) { return 1e-6 + 1e-3 * (0.5 + 0.5 * std::tanh(v)); });
}

WireSpec wires(double r_row, double r_col, double r_drv = -1, double r_sense = -1) {
  WireSpec w;
  w.r_row_ohm = r_row;
  w.r_col_ohm = r_col;
  w.r_driver_ohm = r_drv;
  w.r_sense_ohm = r_sense;
  return w;
}

TEST(ResistiveArray, OneCellClosedForm) {
  Eigen::MatrixXd g(1, 1);
  g << 4e-4;
  ResistiveArray a(g, wires(1.0, 1.0, 3.0, 6.0));
  RowMatD v(1, 1);
  v << 0.3;
  EXPECT_NEAR(a.currents(v)(0, 0), 0.3 / (3.0 + 1.0 / 4e-4 + 6.0), 1e-18);
}

TEST(ResistiveArray, ZeroResistanceIsIdeal) {
  Eigen::MatrixXd g = uniform_g(9, 7, 1);
  RowMatD v = testing::normal_matrix(4, 9, 2);
  ResistiveArray a(g, wires(0, 0));
  EXPECT_LE((a.currents(v) - v * g).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(ResistiveArray, TransferMatrixAgreesWithFullSolveKcl) {
  for (auto w : {wires(0.5, 2.0), wires(1.0, 0.0), wires(0.0, 1.0, 0.0, 3.0), wires(2.0, 2.0, 0.0, 0.0)}) {
    Eigen::MatrixXd g = uniform_g(13, 11, 3);
    RowMatD v = testing::normal_matrix(3, 13, 4);
    ResistiveArray a(g, w);
    RowMatD rn, cn;
    a.node_voltages(v, &rn, &cn);
    RowMatD i = a.currents(v);
    for (int s = 0; s < 3; ++s) {
      Eigen::Map<const RowMatD> r(rn.row(s).data(), 13, 11), c(cn.row(s).data(), 13, 11);
      Eigen::RowVectorXd kcl = (g.array() * (r - c).array()).colwise().sum();
      EXPECT_LE((kcl - i.row(s)).cwiseAbs().maxCoeff(), 1e-12 * i.cwiseAbs().maxCoeff()) << w.repr();
    }
  }
}

// Arrays at least 64 wide are solved as two halves joined by their Schur complements; node
// voltages come from a factor of the whole network, so KCL on them checks the split.
TEST(ResistiveArray, SplitArraysAgreeWithTheWholeFactor) {
  for (auto [rows, cols] : {std::pair{40, 72}, std::pair{1, 70}, std::pair{2, 64}, std::pair{64, 64}}) {
    Eigen::MatrixXd g = uniform_g(rows, cols, 6);
    g(0, cols / 2) = 0.0;  // an open cell beside the cut
    RowMatD v = testing::normal_matrix(2, rows, 7);
    ResistiveArray a(g, wires(0.5, 2.0, 1.5, 0.7));
    RowMatD rn, cn;
    a.node_voltages(v, &rn, &cn);
    RowMatD i = a.currents(v);
    for (int s = 0; s < 2; ++s) {
      Eigen::Map<const RowMatD> r(rn.row(s).data(), rows, cols), c(cn.row(s).data(), rows, cols);
      Eigen::RowVectorXd kcl = (g.array() * (r - c).array()).colwise().sum();
      EXPECT_LE((kcl - i.row(s)).cwiseAbs().maxCoeff(), 1e-12 * i.cwiseAbs().maxCoeff())
          << rows << "x" << cols;
    }
  }
}

TEST(ResistiveArray, SameTransferWhateverTheThreadCount) {
  const int before = get_num_threads();
  Eigen::MatrixXd g = uniform_g(48, 96, 8);
  set_num_threads(1);
  const Eigen::MatrixXd one = ResistiveArray(g, wires(0.1, 0.1)).transfer();
  set_num_threads(2);
  const Eigen::MatrixXd two = ResistiveArray(g, wires(0.1, 0.1)).transfer();
  set_num_threads(before);
  EXPECT_TRUE(one == two);
}

TEST(ResistiveArray, RejectsBadInput) {
  Eigen::MatrixXd g = uniform_g(3, 3, 5);
  EXPECT_THROW(ResistiveArray(g, wires(-1, 1)), std::invalid_argument);
  g(0, 0) = -1;
  EXPECT_THROW(ResistiveArray(g, wires(1, 1)), std::invalid_argument);
  ResistiveArray ok(uniform_g(3, 3, 5), wires(1, 1));
  EXPECT_THROW(ok.currents(RowMatD::Ones(1, 4)), std::invalid_argument);
}

}  // namespace
}  // namespace mho
