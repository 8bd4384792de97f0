// SparseCholesky: the supernodal Cholesky factor A = L L^T of a sparse symmetric
// positive-definite matrix (CHOLMOD), for the resistive networks of crossbar arrays.
//
// The caller gives the elimination order: either a permutation, or none when the matrix is
// already numbered in elimination order. The order is kept as given (no postordering), so
// unknowns put last stay last: the trailing p x p block of L is then the Cholesky factor of
// the Schur complement onto those p unknowns. A pattern key names matrices whose pattern and
// order are a function of the key alone; their symbolic analysis is computed once per process
// and shared (the few most recent keys are kept).
// Thread-safety: distinct objects may be built and used concurrently; one object's solve()
// uses its CHOLMOD workspace, so it must not run concurrently with itself.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Sparse>

namespace mho {

class SparseCholesky {
 public:
  // a: one triangle of a compressed matrix (stype -1: lower stored, +1: upper stored).
  // Throws std::runtime_error if the matrix is not positive definite.
  SparseCholesky(Eigen::SparseMatrix<double>& a, int stype, const std::vector<int>& perm,
                 const std::string& pattern_key = "");
  ~SparseCholesky();
  SparseCholesky(SparseCholesky&&) noexcept;
  SparseCholesky& operator=(SparseCholesky&&) noexcept;

  int size() const;
  // Factor position -> matrix index.
  const int* order() const;
  // The trailing p x p block of L, dense and lower triangular.
  Eigen::MatrixXd trailing_block(int p) const;
  // x = A^{-1} b.
  Eigen::MatrixXd solve(Eigen::MatrixXd b) const;

  // A fill-reducing order (CAMD) in which the unknowns of set 0 come before those of set 1.
  static std::vector<int> constrained_order(Eigen::SparseMatrix<double>& a, int stype,
                                            const std::vector<int>& set);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mho
