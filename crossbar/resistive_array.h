// ResistiveArray: the exact DC solution of a crossbar with wire resistance (WireSpec).
//
// Nodal analysis of the linear network gives a sparse symmetric positive-definite system in
// the row and column node voltages. Without shorts every node is an unknown, numbered in a
// nested-dissection elimination order with the "ports" -- nodes fed by a source and nodes
// whose voltage sets an output current -- last, and the matrix is written directly in that
// order; with shorts, nodes joined by a zero resistance are merged first (exact) and CAMD
// orders the rest, ports last. The system is factored once (CHOLMOD supernodal Cholesky).
// Because the interior carries no source, the trailing block of the factor is the Cholesky
// factor of the ports' Schur complement, which gives the exact transfer matrix
// T (cols x rows, siemens): sense currents I = T V for any source voltages V. When there are
// too many ports for that (e.g. r_col = 0: every row node feeds an output), T is built from
// one solve per row instead. Node voltages (for plots and checks) come from full solves with
// the same factor.
// Output current of column j = current from column j's wire into the 0 V sense node.
// Units: siemens, volts, amperes. Thread-safety: const methods are safe to call concurrently
// except node_voltages(), which uses CHOLMOD's workspace.
#pragma once

#include <memory>

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include "crossbar/gemm.h"
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
  struct Cholmod;
  struct System;
  void assemble_ordered(const Eigen::MatrixXd& g, const WireSpec& wires, System* sys);
  void assemble_general(const Eigen::MatrixXd& g, const WireSpec& wires, System* sys);
  void factor(System& sys);
  void transfer_from_ports(const System& sys, const Eigen::SparseMatrix<double, Eigen::RowMajor>& cmat);
  int rows_, cols_, n_free_ = 0, n_ports_ = 0;
  // node -> free unknown, or -1 - k for Dirichlet class k (k < rows: source k; rows: ground)
  std::vector<int> node_class_;
  Eigen::MatrixXd t_;
  std::unique_ptr<Cholmod> chol_;
  Eigen::SparseMatrix<double> b_src_;  // unknowns x rows: right-hand side = b_src * v
  double factor_seconds_ = 0.0;
};

}  // namespace mho
