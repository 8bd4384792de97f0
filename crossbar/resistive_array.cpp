#include "crossbar/resistive_array.h"

#include <cblas.h>
#include <cholmod.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <stdexcept>

#include "common/validate.h"
#include "crossbar/cholmod_memory.h"

namespace mho {

// CHOLMOD's workspace and factor, freed with the array.
struct ResistiveArray::Cholmod {
  mutable cholmod_common c;
  cholmod_factor* l = nullptr;
  Eigen::VectorXi perm;
  Cholmod() {
    install_cholmod_memory();
    cholmod_start(&c);
    c.supernodal = CHOLMOD_SUPERNODAL;
  }
  ~Cholmod() {
    if (l) cholmod_free_factor(&l, &c);
    cholmod_finish(&c);
  }
};

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

// Geometric nested dissection of the rows x cols array (no shorts: unknowns are the row
// nodes R(i, j) = i * cols + j and the column nodes C(i, j) = rc + i * cols + j). A
// horizontal cut at row m separates by C(m, .) (R(m, .) is then a loose chain, ordered just
// before it); a vertical cut at column m separates by R(., m) (C(., m) loose likewise).
// Ports are skipped here and appended by the caller.
void dissect(int i0, int i1, int j0, int j1, int cols, int rc, const std::vector<int>& is_port,
             std::vector<int>* order) {
  auto put = [&](int n) {
    if (!is_port[n]) order->push_back(n);
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
    dissect(i0, m, j0, j1, cols, rc, is_port, order);
    dissect(m + 1, i1, j0, j1, cols, rc, is_port, order);
    for (int j = j0; j < j1; ++j) put(m * cols + j);
    for (int j = j0; j < j1; ++j) put(rc + m * cols + j);
  } else {
    const int m = j0 + w / 2;
    dissect(i0, i1, j0, m, cols, rc, is_port, order);
    dissect(i0, i1, m + 1, j1, cols, rc, is_port, order);
    for (int i = i0; i < i1; ++i) put(rc + i * cols + m);
    for (int i = i0; i < i1; ++i) put(i * cols + m);
  }
}

// CHOLMOD's view of one triangle of a compressed Eigen matrix (no copy).
cholmod_sparse cholmod_view(Eigen::SparseMatrix<double>& m, int stype) {
  cholmod_sparse s{};
  s.nrow = std::size_t(m.rows());
  s.ncol = std::size_t(m.cols());
  s.nzmax = std::size_t(m.nonZeros());
  s.p = m.outerIndexPtr();
  s.i = m.innerIndexPtr();
  s.x = m.valuePtr();
  s.stype = stype;
  s.itype = CHOLMOD_INT;
  s.xtype = CHOLMOD_REAL;
  s.dtype = CHOLMOD_DOUBLE;
  s.sorted = 1;
  s.packed = 1;
  return s;
}

cholmod_dense dense_view(Eigen::MatrixXd& m) {
  cholmod_dense d{};
  d.nrow = std::size_t(m.rows());
  d.ncol = std::size_t(m.cols());
  d.nzmax = d.nrow * d.ncol;
  d.d = d.nrow;
  d.x = m.data();
  d.xtype = CHOLMOD_REAL;
  d.dtype = CHOLMOD_DOUBLE;
  return d;
}

// x = A^{-1} b for the dense columns of b.
Eigen::MatrixXd full_solve(cholmod_factor* l, cholmod_common* c, Eigen::MatrixXd b) {
  cholmod_dense bd = dense_view(b);
  cholmod_dense* x = cholmod_solve(CHOLMOD_A, l, &bd, c);
  if (!x) throw std::runtime_error("CHOLMOD solve failed (status " + std::to_string(c->status) + ")");
  Eigen::MatrixXd out = Eigen::Map<Eigen::MatrixXd>(static_cast<double*>(x->x), b.rows(), b.cols());
  cholmod_free_dense(&x, c);
  return out;
}

}  // namespace

// The nodal system of one array: A x = B v for the free node voltages x, sense currents
// I = C x + D v.
struct ResistiveArray::System {
  Eigen::SparseMatrix<double> a;  // one triangle, compressed; stype as in cholmod_sparse
  int stype = -1;
  std::vector<int> perm;  // fill-reducing order; empty when the unknowns are numbered in it
  std::vector<Eigen::Triplet<double>> b, c;  // B (unknown, row), C (col, unknown)
  std::vector<int> is_port;                  // per unknown: touched by B or C
  int n_ports = 0;
};

namespace {

// Any short merges nodes; without one every node is an unknown and the matrix is built
// directly in elimination order (below). Beyond kMaxPorts T comes from full solves instead.
bool has_short(const WireSpec& w) {
  return w.r_row_ohm == 0 || w.r_col_ohm == 0 || w.driver() == 0 || w.sense() == 0;
}

}  // namespace

// No shorts: unknown k is node order[k] (nested dissection, then the ports: the row nodes at
// the drivers and the column nodes at the sense resistors). The upper triangle is written
// column by column -- each node has at most three neighbours -- so CHOLMOD's natural order
// is the elimination order and no permuted copy of the matrix is made.
void ResistiveArray::assemble_ordered(const Eigen::MatrixXd& g, const WireSpec& wires,
                                      System* sys) {
  const int rc = rows_ * cols_, n = 2 * rc;
  n_free_ = n;
  std::vector<int> is_port_node(std::size_t(n), 0);
  for (int i = 0; i < rows_; ++i) is_port_node[std::size_t(i) * cols_] = 1;
  for (int j = 0; j < cols_; ++j) is_port_node[std::size_t(rc) + (rows_ - 1) * cols_ + j] = 1;
  std::vector<int> order;
  order.reserve(std::size_t(n));
  dissect(0, rows_, 0, cols_, cols_, rc, is_port_node, &order);
  for (int i = 0; i < rows_; ++i) order.push_back(i * cols_);
  for (int j = 0; j < cols_; ++j) order.push_back(rc + (rows_ - 1) * cols_ + j);
  node_class_.assign(std::size_t(n), 0);
  for (int k = 0; k < n; ++k) node_class_[std::size_t(order[k])] = k;

  const double g_row = 1.0 / wires.r_row_ohm, g_col = 1.0 / wires.r_col_ohm;
  const double g_drv = 1.0 / wires.driver(), g_sense = 1.0 / wires.sense();
  Eigen::SparseMatrix<double>& a = sys->a;
  a.resize(n, n);
  a.resizeNonZeros(4 * n);  // at most three neighbours and the diagonal per column
  int nnz = 0;
  for (int k = 0; k < n; ++k) {
    a.outerIndexPtr()[k] = nnz;
    const int node = order[k];
    double diag = 0.0;
    std::pair<int, double> nb[3];
    int m = 0;
    auto link = [&](int other, double gl) {
      diag += gl;
      const int ko = node_class_[std::size_t(other)];
      if (ko < k) nb[m++] = {ko, -gl};
    };
    if (node < rc) {
      const int i = node / cols_, j = node % cols_;
      if (j > 0) link(node - 1, g_row);
      else {
        diag += g_drv;
        sys->b.emplace_back(k, i, g_drv);
      }
      if (j + 1 < cols_) link(node + 1, g_row);
      link(rc + node, g(i, j));
    } else {
      const int cell = node - rc, i = cell / cols_, j = cell % cols_;
      if (i > 0) link(node - cols_, g_col);
      if (i + 1 < rows_) link(node + cols_, g_col);
      else {
        diag += g_sense;
        sys->c.emplace_back(j, k, g_sense);
      }
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
  sys->stype = 1;
  sys->is_port.assign(std::size_t(n), 0);
  sys->n_ports = rows_ + cols_;
  std::fill(sys->is_port.end() - sys->n_ports, sys->is_port.end(), 1);
}

// Any wires, shorts included: nodes joined by a zero resistance are merged (union-find), the
// lower triangle comes from triplets, and the order from CAMD with the ports constrained last.
void ResistiveArray::assemble_general(const Eigen::MatrixXd& g, const WireSpec& wires,
                                      System* sys) {
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
    wire(src0 + i, R(i, 0), wires.driver(), -1);
    for (int j = 0; j + 1 < cols_; ++j) wire(R(i, j), R(i, j + 1), wires.r_row_ohm, -1);
  }
  for (int j = 0; j < cols_; ++j) {
    for (int i = 0; i + 1 < rows_; ++i) wire(C(i, j), C(i + 1, j), wires.r_col_ohm, j);
    wire(C(rows_ - 1, j), gnd, wires.sense(), j);
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
    if (dirichlet[root] >= 0) reject("WireSpec", wires.repr(), "shorts a source to another source or to ground");
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
  std::vector<Eigen::Triplet<double>> a;
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
      if (fixed != ground && other >= 0) sys->b.emplace_back(other, -1 - fixed, e.g);
    }
    if (e.col >= 0 && (ca == ground) != (cb == ground)) {
      const int from = ca == ground ? cb : ca;
      if (from >= 0)
        sys->c.emplace_back(e.col, from, e.g);
      else
        t_(e.col, -1 - from) += e.g;  // a source straight into the sense node
    }
  }
  sys->a.resize(n_free_, n_free_);
  sys->a.setFromTriplets(a.begin(), a.end());
  sys->a.makeCompressed();
  sys->stype = -1;
  sys->is_port.assign(std::size_t(n_free_), 0);
  for (const auto& t : sys->b) sys->is_port[std::size_t(t.row())] = 1;
  for (const auto& t : sys->c) sys->is_port[std::size_t(t.col())] = 1;
  sys->n_ports = int(std::count(sys->is_port.begin(), sys->is_port.end(), 1));
  if (n_free_ == 0) return;
  // Constrained minimum degree: interior (set 0) before ports (set 1).
  cholmod_sparse am = cholmod_view(sys->a, sys->stype);
  std::vector<int> member(sys->is_port);
  if (sys->n_ports > kMaxPorts) std::fill(member.begin(), member.end(), 0);
  sys->perm.resize(std::size_t(n_free_));
  if (!cholmod_camd(&am, nullptr, 0, member.data(), sys->perm.data(), &chol_->c))
    throw std::runtime_error("CHOLMOD ordering failed (status " + std::to_string(chol_->c.status) + ")");
}

ResistiveArray::ResistiveArray(const Eigen::MatrixXd& g, const WireSpec& wires)
    : rows_(int(g.rows())), cols_(int(g.cols())), chol_(std::make_unique<Cholmod>()) {
  wires.validate();
  if (rows_ == 0 || cols_ == 0) reject("conductances", "an empty matrix", "must be at least 1x1");
  if (!g.allFinite() || g.minCoeff() < 0.0)
    reject("conductances", "a matrix with negative or non-finite values", "must be finite and >= 0");
  const auto t0 = std::chrono::steady_clock::now();
  t_ = Eigen::MatrixXd::Zero(cols_, rows_);  // D, then T
  System sys;
  if (!has_short(wires) && rows_ + cols_ <= kMaxPorts)
    assemble_ordered(g, wires, &sys);
  else
    assemble_general(g, wires, &sys);
  n_ports_ = sys.n_ports;
  b_src_.resize(n_free_, rows_);
  b_src_.setFromTriplets(sys.b.begin(), sys.b.end());
  Eigen::SparseMatrix<double, Eigen::RowMajor> cmat(cols_, n_free_);
  cmat.setFromTriplets(sys.c.begin(), sys.c.end());
  if (n_free_ > 0) {
      factor(sys);
      if (n_ports_ <= kMaxPorts)
      transfer_from_ports(sys, cmat);
    else
      for (int k0 = 0; k0 < rows_; k0 += kRhsBlock) {
        const int nb = std::min(kRhsBlock, rows_ - k0);
        Eigen::MatrixXd x = full_solve(chol_->l, &chol_->c, Eigen::MatrixXd(b_src_.middleCols(k0, nb)));
        t_.middleCols(k0, nb).noalias() += cmat * x;
      }
  }
  factor_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void ResistiveArray::factor(System& sys) {
  cholmod_common* cc = &chol_->c;
  cholmod_sparse am = cholmod_view(sys.a, sys.stype);
  cc->nmethods = 1;
  cc->method[0].ordering = sys.perm.empty() ? CHOLMOD_NATURAL : CHOLMOD_GIVEN;
  cc->postorder = 0;  // keep the ports last
  // Merge small supernodes more eagerly than CHOLMOD's defaults (4, 16, 48 columns): the
  // bottom of a nested-dissection tree is thousands of tiny supernodes, and each costs an
  // OpenMP region and BLAS calls; the extra explicit zeros cost less.
  cc->nrelax[0] = 16;
  cc->nrelax[1] = 32;
  cc->nrelax[2] = 64;
  cc->zrelax[1] = 0.2;
  cc->zrelax[2] = 0.1;
  // CHOLMOD's assembly loops ask OpenMP for a fixed 4 threads (CHOLMOD_OMP_NUM_THREADS, set
  // when SuiteSparse was built); on small supernodes waking them costs more than the work
  // (the factorization ran 20-40 % slower on 2 cores). Run them serially: no parallel region
  // is active while max-active-levels is 0. BLAS inside CHOLMOD keeps its own threads.
  const int levels = omp_get_max_active_levels();
  omp_set_max_active_levels(0);
  chol_->l = cholmod_analyze_p(&am, sys.perm.empty() ? nullptr : sys.perm.data(), nullptr, 0, cc);
   const bool factored = chol_->l && cholmod_factorize(&am, chol_->l, cc);
  omp_set_max_active_levels(levels);
  if (!factored || cc->status == CHOLMOD_NOT_POSDEF)
    throw std::runtime_error(
        "ResistiveArray: the nodal matrix could not be factored (a part of the network without a "
        "path to a source or to ground?)");
}

// With the p ports ordered last and no source in the interior, the trailing p x p block of L
// is the Cholesky factor of the ports' Schur complement: T = C_p (L_pp L_pp^T)^{-1} B_p + D.
void ResistiveArray::transfer_from_ports(const System& sys,
                                         const Eigen::SparseMatrix<double, Eigen::RowMajor>& cmat) {
  const int p = n_ports_, first = n_free_ - p;
  const cholmod_factor* l = chol_->l;
  const int* perm = static_cast<const int*>(l->Perm);
  Eigen::MatrixXd lpp = Eigen::MatrixXd::Zero(p, p);
  const int* super = static_cast<const int*>(l->super);
  const int* pi = static_cast<const int*>(l->pi);
  const int* px = static_cast<const int*>(l->px);
  const int* ls = static_cast<const int*>(l->s);
  const double* lx = static_cast<const double*>(l->x);
  for (std::size_t s = 0; s < l->nsuper; ++s) {
    const int k1 = super[s], k2 = super[s + 1];
    if (k2 <= first) continue;
    const int nsrow = pi[s + 1] - pi[s];
    for (int col = std::max(k1, first); col < k2; ++col)
      for (int r = 0; r < nsrow; ++r) {
        const int row = ls[pi[s] + r];
        if (row >= col) lpp(row - first, col - first) = lx[px[s] + r + (col - k1) * nsrow];
      }
  }
  for (int k = 0; k < p; ++k)
    if (!sys.is_port[std::size_t(perm[first + k])])
      throw std::logic_error("ResistiveArray: the ports were not ordered last");
  Eigen::MatrixXd bp(p, rows_), cp(p, cols_);
  const Eigen::SparseMatrix<double> ct = cmat.transpose();
  for (int k = 0; k < p; ++k) {
    bp.row(k) = b_src_.row(perm[first + k]);
    cp.row(k) = ct.row(perm[first + k]);
  }
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, p, rows_, 1.0,
              lpp.data(), p, bp.data(), p);
  cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, p, cols_, 1.0,
              lpp.data(), p, cp.data(), p);
  // In OpenBLAS like the solves: an OpenMP product here would compete with its threads.
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, cols_, rows_, p, 1.0, cp.data(), p,
              bp.data(), p, 1.0, t_.data(), cols_);
}

ResistiveArray::~ResistiveArray() = default;
ResistiveArray::ResistiveArray(ResistiveArray&&) noexcept = default;
ResistiveArray& ResistiveArray::operator=(ResistiveArray&&) noexcept = default;

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
  const Eigen::Index batch = v.rows();
  const int rc = rows_ * cols_;
  row_nodes->resize(batch, rc);
  col_nodes->resize(batch, rc);
  for (Eigen::Index s0 = 0; s0 < batch; s0 += kRhsBlock) {
    const Eigen::Index nb = std::min<Eigen::Index>(kRhsBlock, batch - s0);
    Eigen::MatrixXd x;
    if (n_free_ > 0) x = full_solve(chol_->l, &chol_->c, b_src_ * v.middleRows(s0, nb).transpose());
    for (Eigen::Index s = 0; s < nb; ++s)
      for (int n = 0; n < 2 * rc; ++n) {
        const int c = node_class_[n];
        const double volt = c >= 0 ? x(c, s) : (-1 - c < rows_ ? v(s0 + s, -1 - c) : 0.0);
        (n < rc ? *row_nodes : *col_nodes)(s0 + s, n % rc) = volt;
      }
  }
}

}  // namespace mho
