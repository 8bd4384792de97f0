#include "crossbar/resistive_array.h"

#include "common/threads.h"

#include <cblas.h>
#include <f77blas.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "common/validate.h"
#include "crossbar/blas_runtime.h"
#include "crossbar/nodal_domain.h"

namespace mho {

namespace {

struct UnionFind {
  std::vector<int> p;
  explicit UnionFind(int n) : p(std::size_t(n)) { std::iota(p.begin(), p.end(), 0); }
  int find(int a) {
    while (p[a] != a) a = p[a] = p[p[a]];
    return a;
  }
  void join(int a, int b) { p[find(a)] = find(b); }
};

struct Edge {
  int a, b;
  bool is_short;  // a wire of zero resistance
  double g;       // siemens
  int col;        // the array column whose wire or cell this is, or -1 (row wires)
};

// Above this many ports, T comes from one full solve per source instead.
constexpr int kMaxPorts = 6144;
// Right-hand sides per full solve (bounds memory on large arrays).
constexpr int kRhsBlock = 32;
// Arrays at least this wide (and no taller than wide) are solved as two halves.
constexpr int kSplitCols = 64;

// The column whose row nodes separate the two halves, or 0 for no split. The left half also
// carries the drivers in its interface, so it gets fewer columns.
int split_column(int rows, int cols) {
  if (cols < kSplitCols || rows > cols) return 0;
  return cols * 7 / 16;
}


// Lets the helper run on any CPU but the caller's current one. Without the hint the scheduler
// often stacks both halves on one core for tens of milliseconds when the other is busy, e.g.
// with an OpenBLAS worker still spinning after a multi-threaded call (which it does for up to
// ~0.1 s): the halves then take twice as long.
void keep_off_this_cpu(std::thread& helper) {
#ifdef __linux__
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) return;
  const int here = sched_getcpu();
  if (here < 0 || !CPU_ISSET(here, &allowed)) return;
  CPU_CLR(here, &allowed);
  pthread_setaffinity_np(helper.native_handle(), sizeof allowed, &allowed);
#else
  (void)helper;
#endif
}

}  // namespace

ResistiveArray::ResistiveArray(const Eigen::MatrixXd& g, const WireSpec& wires)
    : rows_(int(g.rows())), cols_(int(g.cols())), wires_(wires) {
  wires.validate();
  if (rows_ == 0 || cols_ == 0) reject("conductances", "an empty matrix", "must be at least 1x1");
  if (!g.allFinite() || g.minCoeff() < 0.0)
    reject("conductances", "a matrix with negative or non-finite values", "must be finite and >= 0");
  const auto t0 = std::chrono::steady_clock::now();
  const BlasSerialScope serial;  // the halves already take a core each; see blas_runtime.h
  t_ = Eigen::MatrixXd::Zero(cols_, rows_);  // D (sources wired straight to sense nodes), then T
  if (!wires.has_short() && rows_ + cols_ <= kMaxPorts)
    solve_without_shorts(g);
  else
    solve_general(g);
  factor_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ResistiveArray::~ResistiveArray() = default;
ResistiveArray::ResistiveArray(ResistiveArray&&) noexcept = default;
ResistiveArray& ResistiveArray::operator=(ResistiveArray&&) noexcept = default;

// With the p ports ordered last and no source in the interior, the trailing p x p block of
// the factor, lpp, is the Cholesky factor of the ports' Schur complement:
// T += C_p (lpp lpp^T)^{-1} B_p, with two triangular solves and one product (all in OpenBLAS:
// an OpenMP product here would compete with its threads).
void ResistiveArray::add_port_transfer(const Eigen::MatrixXd& lpp, Eigen::MatrixXd bp,
                                       Eigen::MatrixXd cp) {
  const int p = int(lpp.rows());
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, p, rows_, 1.0,
              lpp.data(), p, bp.data(), p);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, p, cols_, 1.0,
              lpp.data(), p, cp.data(), p);
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, cols_, rows_, p, 1.0, cp.data(), p,
              bp.data(), p, 1.0, t_.data(), cols_);
}

// No shorts: every node is an unknown; the ports are the driven nodes R(., 0) and the sensed
// nodes C(rows - 1, .), in that order, and B and C are diagonal on them.
void ResistiveArray::solve_without_shorts(const Eigen::MatrixXd& g) {
  n_free_ = 2 * rows_ * cols_;
  n_ports_ = rows_ + cols_;
  Eigen::MatrixXd lpp;
  if (const int m = split_column(rows_, cols_)) {
    lpp = split_port_factor(g, m);
    g_ = g;  // for node voltages, which need a factor of the whole
  } else {
    build_whole_factor(g);
    lpp = full_->trailing_block(n_ports_);
  }
  Eigen::MatrixXd bp = Eigen::MatrixXd::Zero(n_ports_, rows_);
  Eigen::MatrixXd cp = Eigen::MatrixXd::Zero(n_ports_, cols_);
  bp.topRows(rows_).diagonal().setConstant(1.0 / wires_.driver());
  cp.bottomRows(cols_).diagonal().setConstant(1.0 / wires_.sense());
  add_port_transfer(lpp, std::move(bp), std::move(cp));
}

void ResistiveArray::build_whole_factor(const Eigen::MatrixXd& g) const {
  NodalDomain d = assemble_domain(g, wires_, {0, cols_, 0, cols_});
  full_ = std::make_unique<SparseCholesky>(d.upper, 1, std::vector<int>(), d.pattern_key);
  node_class_ = std::move(d.unknown);
  std::vector<Eigen::Triplet<double>> b;
  for (int i = 0; i < rows_; ++i)
    b.emplace_back(node_class_[std::size_t(i) * cols_], i, 1.0 / wires_.driver());
  b_src_.resize(n_free_, rows_);
  b_src_.setFromTriplets(b.begin(), b.end());
}

// Domain decomposition at column m: the halves share only the row nodes R(., m). Each half is
// factored with its interface last (the two on two threads when mho has them); the Schur
// complements S_k = L_k L_k^T of their trailing blocks sum to the whole network's Schur
// complement on U = [R(., m), R(., 0), C(rows - 1, .)]. Its dense Cholesky factor, with the
// shared nodes first, ends in the ports' factor.
Eigen::MatrixXd ResistiveArray::split_port_factor(const Eigen::MatrixXd& g, int m) {
  const DomainSpan spans[2] = {{0, m + 1, 0, m + 1}, {m, cols_, m + 1, cols_}};
  const int u = 2 * rows_ + cols_, rc = rows_ * cols_;
  auto position = [&](int node) {  // in U
    if (node >= rc) return 2 * rows_ + (node - rc) % cols_;
    return node % cols_ == m ? node / cols_ : rows_ + node / cols_;
  };
  Eigen::MatrixXd schur[2];
  std::vector<int> where[2];
  std::exception_ptr error[2];
  auto half = [&](int k) {
    try {
      NodalDomain d = assemble_domain(g, wires_, spans[k]);
      SparseCholesky f(d.upper, 1, std::vector<int>(), d.pattern_key);
      const int p = int(d.interface.size());
      const Eigen::MatrixXd l = f.trailing_block(p);
      schur[k] = Eigen::MatrixXd::Zero(p, p);
      cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, p, p, 1.0, l.data(), p, 0.0,
                  schur[k].data(), p);
      for (int node : d.interface) where[k].push_back(position(node));
    } catch (...) {
      error[k] = std::current_exception();
    }
  };
  // Within an OpenMP parallel loop the cores are already taken: no helper then.
  if (threads() >= 2 && !omp_in_parallel()) {
    std::thread right(half, 1);
    keep_off_this_cpu(right);
    half(0);
    right.join();
  } else {
    half(0);
    half(1);
  }
  for (const auto& e : error)
    if (e) std::rethrow_exception(e);

  // Both interfaces list their nodes in U order, so lower triangles map to lower triangles.
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(u, u);
  for (int k = 0; k < 2; ++k) {
    const int p = int(where[k].size());
    for (int c = 0; c < p; ++c)
      for (int r = c; r < p; ++r) s(where[k][r], where[k][c]) += schur[k](r, c);
  }
  char lower = 'L';
  int n = u, info = 0;
  dpotrf_(&lower, &n, s.data(), &n, &info);
  if (info != 0)
    throw std::runtime_error("ResistiveArray: the interface system is not positive definite (info " +
                             std::to_string(info) + ")");
  return s.bottomRightCorner(n_ports_, n_ports_);
}

// Any wires, shorts included: nodes joined by a zero resistance are merged (union-find), the
// lower triangle comes from triplets, and the order from CAMD with the ports constrained last.
void ResistiveArray::solve_general(const Eigen::MatrixXd& g) {
  const int rc = rows_ * cols_;
  auto R = [&](int i, int j) { return i * cols_ + j; };
  auto C = [&](int i, int j) { return rc + i * cols_ + j; };
  const int src0 = 2 * rc, gnd = 2 * rc + rows_, n_nodes = gnd + 1;

  std::vector<Edge> edges;
  edges.reserve(std::size_t(4 * rc + rows_ + cols_));
  auto wire = [&](int a, int b, double r, int col) {
    edges.push_back({a, b, r == 0.0, r > 0 ? 1.0 / r : 0.0, col});
  };
  for (int i = 0; i < rows_; ++i) {
    wire(src0 + i, R(i, 0), wires_.driver(), -1);
    for (int j = 0; j + 1 < cols_; ++j) wire(R(i, j), R(i, j + 1), wires_.r_row_ohm, -1);
  }
  for (int j = 0; j < cols_; ++j) {
    for (int i = 0; i + 1 < rows_; ++i) wire(C(i, j), C(i + 1, j), wires_.r_col_ohm, j);
    wire(C(rows_ - 1, j), gnd, wires_.sense(), j);
  }
  for (int i = 0; i < rows_; ++i)
    for (int j = 0; j < cols_; ++j) edges.push_back({R(i, j), C(i, j), false, g(i, j), j});

  // Merge shorted nodes; classes holding a source or ground are known voltages.
  UnionFind uf(n_nodes);
  for (const Edge& e : edges)
    if (e.is_short) uf.join(e.a, e.b);
  std::vector<int> dirichlet(std::size_t(n_nodes), -1), free_index(std::size_t(n_nodes), -1);
  for (int k = 0; k <= rows_; ++k) {
    const int root = uf.find(src0 + k);
    if (dirichlet[root] >= 0) reject("WireSpec", wires_.repr(), "shorts a source to another source or to ground");
    dirichlet[root] = k;
  }
  auto class_of = [&](int n) {
    const int root = uf.find(n);
    if (dirichlet[root] >= 0) return -1 - dirichlet[root];
    if (free_index[root] < 0) free_index[root] = n_free_++;
    return free_index[root];
  };
  node_class_.resize(std::size_t(2 * rc));
  for (int n = 0; n < 2 * rc; ++n) node_class_[n] = class_of(n);
  const int ground = -1 - rows_;

  // Nodal matrix (lower triangle), B, and the output functional: I_j = sum over column-j
  // edges into the ground class of g (V_a - 0).
  std::vector<Eigen::Triplet<double>> a, b, c;
  for (const Edge& e : edges) {
    if (e.is_short || e.g == 0.0) continue;
    int ca = class_of(e.a), cb = class_of(e.b);
    if (ca == cb) continue;
    if (ca >= 0) a.emplace_back(ca, ca, e.g);
    if (cb >= 0) a.emplace_back(cb, cb, e.g);
    if (ca >= 0 && cb >= 0) {
      a.emplace_back(std::max(ca, cb), std::min(ca, cb), -e.g);
    } else {
      const int fixed = ca < 0 ? ca : cb, other = ca < 0 ? cb : ca;
      if (fixed != ground && other >= 0) b.emplace_back(other, -1 - fixed, e.g);
    }
    if (e.col >= 0 && (ca == ground) != (cb == ground)) {
      const int from = ca == ground ? cb : ca;
      if (from >= 0)
        c.emplace_back(e.col, from, e.g);
      else
        t_(e.col, -1 - from) += e.g;  // a source straight into the sense node
    }
  }
  Eigen::SparseMatrix<double> am(n_free_, n_free_);
  am.setFromTriplets(a.begin(), a.end());
  am.makeCompressed();
  b_src_.resize(n_free_, rows_);
  b_src_.setFromTriplets(b.begin(), b.end());
  Eigen::SparseMatrix<double, Eigen::RowMajor> cmat(cols_, n_free_);
  cmat.setFromTriplets(c.begin(), c.end());
  if (n_free_ == 0) return;

  // Ports: unknowns touched by a source or by the output functional.
  std::vector<int> is_port(std::size_t(n_free_), 0);
  for (const auto& t : b) is_port[std::size_t(t.row())] = 1;
  for (const auto& t : c) is_port[std::size_t(t.col())] = 1;
  n_ports_ = int(std::count(is_port.begin(), is_port.end(), 1));
  const bool via_ports = n_ports_ <= kMaxPorts;
  std::vector<int> set = is_port;  // interior (0) before ports (1)
  if (!via_ports) std::fill(set.begin(), set.end(), 0);
  const std::vector<int> perm = SparseCholesky::constrained_order(am, -1, set);
  full_ = std::make_unique<SparseCholesky>(am, -1, perm);
  if (!via_ports) {
    for (int k0 = 0; k0 < rows_; k0 += kRhsBlock) {
      const int nb = std::min(kRhsBlock, rows_ - k0);
      Eigen::MatrixXd x = full_->solve(Eigen::MatrixXd(b_src_.middleCols(k0, nb)));
      t_.middleCols(k0, nb).noalias() += cmat * x;
    }
    return;
  }
  const int p = n_ports_, first = n_free_ - p;
  const int* order = full_->order();
  Eigen::MatrixXd bp(p, rows_), cp(p, cols_);
  const Eigen::SparseMatrix<double> ct = cmat.transpose();
  for (int k = 0; k < p; ++k) {
    const int unknown = order[first + k];
    if (!is_port[std::size_t(unknown)])
      throw std::logic_error("ResistiveArray: the ports were not ordered last");
    bp.row(k) = b_src_.row(unknown);
    cp.row(k) = ct.row(unknown);
  }
  add_port_transfer(full_->trailing_block(p), std::move(bp), std::move(cp));
}

RowMat<double> ResistiveArray::currents(const Eigen::Ref<const RowMat<double>>& v) const {
  if (v.cols() != rows_)
    reject("voltages", std::to_string(v.rows()) + "x" + std::to_string(v.cols()),
           "must have " + std::to_string(rows_) + " columns (one per array row)");
  RowMat<double> out = v * t_.transpose();
  return out;
}

void ResistiveArray::node_voltages(const Eigen::Ref<const RowMat<double>>& v,
                                   RowMat<double>* row_nodes, RowMat<double>* col_nodes) const {
  if (v.cols() != rows_)
    reject("voltages", std::to_string(v.rows()) + "x" + std::to_string(v.cols()),
           "must have " + std::to_string(rows_) + " columns (one per array row)");
  const BlasSerialScope serial;
  if (n_free_ > 0 && !full_) build_whole_factor(g_);  // after a split: factor the whole once
  const Eigen::Index batch = v.rows();
  const int rc = rows_ * cols_;
  row_nodes->resize(batch, rc);
  col_nodes->resize(batch, rc);
  for (Eigen::Index s0 = 0; s0 < batch; s0 += kRhsBlock) {
    const Eigen::Index nb = std::min<Eigen::Index>(kRhsBlock, batch - s0);
    Eigen::MatrixXd x;
    if (n_free_ > 0) x = full_->solve(b_src_ * v.middleRows(s0, nb).transpose());
    for (Eigen::Index s = 0; s < nb; ++s)
      for (int n = 0; n < 2 * rc; ++n) {
        const int c = node_class_[n];
        const double volt = c >= 0 ? x(c, s) : (-1 - c < rows_ ? v(s0 + s, -1 - c) : 0.0);
        (n < rc ? *row_nodes : *col_nodes)(s0 + s, n % rc) = volt;
      }
  }
}

}  // namespace mho
