// NodalDomain: the nodal matrix of a block of a crossbar's resistive network when no wire
// is a short (!WireSpec::has_short()), numbered in elimination order.
//
// Nodes (ARCHITECTURE.md topology): row node R(i, j) = i * cols + j, column node
// C(i, j) = rows * cols + i * cols + j. A domain owns the row nodes of columns
// [row_lo, row_hi) and the row wires between them, and the cells, column nodes, column wires
// and sense resistors of columns [cell_lo, cell_hi); the driver of row i belongs to the domain
// holding R(i, 0). The whole array is {0, cols, 0, cols}; splitting it at column m gives a
// left {0, m + 1, 0, m + 1} and a right {m, cols, m + 1, cols} that share only the row nodes
// R(., m), and the two matrices sum to the whole one.
// Interface, ordered last and in this order: the shared row nodes (R(., row_hi - 1) if
// row_hi < cols, R(., row_lo) if row_lo > 0), the driven nodes R(., 0) if the domain has
// them, the sensed nodes C(rows - 1, j) of its columns. The interior is ordered by geometric
// nested dissection. The upper triangle is written column by column (each node has at most
// three neighbours), so CHOLMOD's natural order is the elimination order.
// Units: siemens. Pure function of its arguments.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include "crossbar/wire_spec.h"

namespace mho {

struct DomainSpan {
  int row_lo, row_hi, cell_lo, cell_hi;
};

struct NodalDomain {
  Eigen::SparseMatrix<double> upper;  // upper triangle, compressed
  std::vector<int> unknown;           // node -> unknown of this domain, or -1
  std::vector<int> interface;         // nodes, in the order of the last unknowns
  std::string pattern_key;            // the pattern depends on the shape and span alone
};

NodalDomain assemble_domain(const Eigen::MatrixXd& g_S, const WireSpec& wires, DomainSpan span);

}  // namespace mho
