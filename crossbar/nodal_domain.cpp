#include "crossbar/nodal_domain.h"

#include <algorithm>
#include <utility>

namespace mho {

namespace {

// Geometric nested dissection of the sites [i0, i1) x [j0, j1). A horizontal cut at row m
// separates by C(m, .) (R(m, .) is then a loose chain, ordered just before it); a vertical cut
// at column m separates by R(., m) (C(., m) loose likewise). Interface nodes are skipped.
void dissect(int i0, int i1, int j0, int j1, int cols, int rc, const std::vector<char>& skip,
             std::vector<int>* order) {
  auto put = [&](int n) {
    if (!skip[std::size_t(n)]) order->push_back(n);
  };
  const int h = i1 - i0, w = j1 - j0;
  if (h <= 0 || w <= 0) return;
  if (h * w <= 8) {
    for (int i = i0; i < i1; ++i)
      for (int j = j0; j < j1; ++j) {
        put(i * cols + j);
        put(rc + i * cols + j);
      }
    return;
  }
  if (h >= w) {
    const int m = i0 + h / 2;
    dissect(i0, m, j0, j1, cols, rc, skip, order);
    dissect(m + 1, i1, j0, j1, cols, rc, skip, order);
    for (int j = j0; j < j1; ++j) put(m * cols + j);
    for (int j = j0; j < j1; ++j) put(rc + m * cols + j);
  } else {
    const int m = j0 + w / 2;
    dissect(i0, i1, j0, m, cols, rc, skip, order);
    dissect(i0, i1, m + 1, j1, cols, rc, skip, order);
    for (int i = i0; i < i1; ++i) put(rc + i * cols + m);
    for (int i = i0; i < i1; ++i) put(i * cols + m);
  }
}

}  // namespace

NodalDomain assemble_domain(const Eigen::MatrixXd& g, const WireSpec& wires, DomainSpan span) {
  const int rows = int(g.rows()), cols = int(g.cols()), rc = rows * cols;
  NodalDomain d;
  auto& iface = d.interface;
  if (span.row_hi < cols)
    for (int i = 0; i < rows; ++i) iface.push_back(i * cols + span.row_hi - 1);
  if (span.row_lo > 0)
    for (int i = 0; i < rows; ++i) iface.push_back(i * cols + span.row_lo);
  if (span.row_lo == 0)
    for (int i = 0; i < rows; ++i) iface.push_back(i * cols);
  for (int j = span.cell_lo; j < span.cell_hi; ++j) iface.push_back(rc + (rows - 1) * cols + j);

  std::vector<char> skip(std::size_t(2 * rc), 0);
  for (int n : iface) skip[std::size_t(n)] = 1;
  std::vector<int> order;
  order.reserve(std::size_t(2 * rows * (span.cell_hi - span.cell_lo)) + iface.size());
  dissect(0, rows, span.cell_lo, span.cell_hi, cols, rc, skip, &order);
  order.insert(order.end(), iface.begin(), iface.end());
  const int n = int(order.size());
  d.unknown.assign(std::size_t(2 * rc), -1);
  for (int k = 0; k < n; ++k) d.unknown[std::size_t(order[k])] = k;

  const double g_row = 1.0 / wires.r_row_ohm, g_col = 1.0 / wires.r_col_ohm;
  const double g_drv = 1.0 / wires.driver(), g_sense = 1.0 / wires.sense();
  Eigen::SparseMatrix<double>& a = d.upper;
  a.resize(n, n);
  a.resizeNonZeros(4 * Eigen::Index(n));  // at most three neighbours and the diagonal
  int nnz = 0;
  for (int k = 0; k < n; ++k) {
    a.outerIndexPtr()[k] = nnz;
    const int node = order[k];
    double diag = 0.0;
    std::pair<int, double> nb[3];
    int m = 0;
    auto link = [&](int other, double gl) {
      diag += gl;
      const int ko = d.unknown[std::size_t(other)];
      if (ko < k) nb[m++] = {ko, -gl};
    };
    if (node < rc) {
      const int i = node / cols, j = node % cols;
      if (j == 0)
        diag += g_drv;
      else if (j - 1 >= span.row_lo)
        link(node - 1, g_row);
      if (j + 1 < span.row_hi) link(node + 1, g_row);
      if (j >= span.cell_lo && j < span.cell_hi) link(rc + node, g(i, j));
    } else {
      const int cell = node - rc, i = cell / cols, j = cell % cols;
      if (i > 0) link(node - cols, g_col);
      if (i + 1 < rows)
        link(node + cols, g_col);
      else
        diag += g_sense;
      link(cell, g(i, j));
    }
    std::sort(nb, nb + m);
    for (int e = 0; e < m; ++e) {
      a.innerIndexPtr()[nnz] = nb[e].first;
      a.valuePtr()[nnz++] = nb[e].second;
    }
    a.innerIndexPtr()[nnz] = k;
    a.valuePtr()[nnz++] = diag;
  }
  a.outerIndexPtr()[n] = nnz;
  a.resizeNonZeros(nnz);
  d.pattern_key = std::to_string(rows) + "x" + std::to_string(cols) + ":" +
                  std::to_string(span.row_lo) + "," + std::to_string(span.row_hi) + "," +
                  std::to_string(span.cell_lo) + "," + std::to_string(span.cell_hi);
  return d;
}

}  // namespace mho
