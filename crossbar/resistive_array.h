// ResistiveArray: the exact DC solution of a crossbar with wire resistance (WireSpec).
//
// Nodal analysis of the linear network gives a sparse symmetric positive-definite system in
// the row and column node voltages. The "ports" are the nodes fed by a source and the nodes
// whose voltage sets an output current. Because the interior carries no source, the ports'
// Schur complement gives the exact transfer matrix T (cols x rows, siemens): sense currents
// I = T V for any source voltages V.
// - No shorts (every resistance > 0): every node is an unknown, numbered in a nested-
//   dissection elimination order with the ports last, and the matrix is written directly in
//   that order (NodalDomain); the trailing block of its Cholesky factor (CHOLMOD supernodal)
//   is the Cholesky factor of the ports' Schur complement. Arrays at least 64 columns wide
//   (and no taller than wide) are cut at one column of row nodes into two halves, factored
//   side by side on two threads when mho has them; their Schur complements add up to the
//   whole array's on [cut, ports], whose dense Cholesky factor ends in the ports' factor.
//   Split or not, T is the same up to rounding.
// - Shorts: nodes joined by a zero resistance are merged first (exact) and CAMD orders the
//   rest, ports last. When there are too many ports for a dense Schur complement (e.g.
//   r_col = 0: every row node feeds an output), T is built from one solve per row instead.
// Node voltages (for plots and checks) come from full solves with a factor of the whole
// network (after a split, computed on first use).
// Output current of column j = current from column j's wire into the 0 V sense node.
// Reproducibility: BLAS runs single-threaded while an array is solved, so T is bitwise the
// same whatever the thread count.
// Units: siemens, volts, amperes. Thread-safety: const methods are safe to call concurrently
// except node_voltages(), which uses CHOLMOD's workspace (and may build the whole factor).
#pragma once

#include <memory>

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include "crossbar/gemm.h"
#include "crossbar/sparse_cholesky.h"
#include "crossbar/wire_spec.h"

namespace mho {

class ResistiveArray {
 public:
  // g_S: rows x cols cell conductances (>= 0, finite).
  ResistiveArray(const Eigen::MatrixXd& g_S, const WireSpec& wires);
  ~ResistiveArray();
  ResistiveArray(ResistiveArray&&) noexcept;
  ResistiveArray& operator=(ResistiveArray&&) noexcept;

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int unknowns() const { return n_free_; }
  int ports() const { return n_ports_; }
  // Seconds to assemble, order, factor and form T.
  double factor_seconds() const { return factor_seconds_; }

  // cols x rows: I = T V.
  const Eigen::MatrixXd& transfer() const { return t_; }
  // v: batch x rows volts -> batch x cols amperes.
  RowMat<double> currents(const Eigen::Ref<const RowMat<double>>& v) const;
  // Full solves: row and column node voltages, batch x (rows * cols), row-major over (i, j).
  void node_voltages(const Eigen::Ref<const RowMat<double>>& v, RowMat<double>* row_nodes,
                     RowMat<double>* col_nodes) const;

 private:
  void solve_without_shorts(const Eigen::MatrixXd& g);
  void solve_general(const Eigen::MatrixXd& g);
  Eigen::MatrixXd split_port_factor(const Eigen::MatrixXd& g, int m);
  void build_whole_factor(const Eigen::MatrixXd& g) const;
  void add_port_transfer(const Eigen::MatrixXd& lpp, Eigen::MatrixXd bp, Eigen::MatrixXd cp);

  int rows_, cols_, n_free_ = 0, n_ports_ = 0;
  WireSpec wires_;
  Eigen::MatrixXd g_;  // kept after a split only
  Eigen::MatrixXd t_;
  double factor_seconds_ = 0.0;
  // For full solves: the factor of the whole network (after a split, built on first use),
  // node -> unknown, or -1 - k for a known voltage (k < rows: source k; rows: ground), and
  // B (unknowns x rows: right-hand side = B v).
  mutable std::unique_ptr<SparseCholesky> full_;
  mutable std::vector<int> node_class_;
  mutable Eigen::SparseMatrix<double> b_src_;
};

}  // namespace mho
