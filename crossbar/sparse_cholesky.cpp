#include "crossbar/sparse_cholesky.h"

#include <cholmod.h>
#include <omp.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "crossbar/cholmod_memory.h"

namespace mho {

namespace {

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

struct Common {
  cholmod_common c;
  Common() {
    install_cholmod_memory();
    cholmod_start(&c);
    c.supernodal = CHOLMOD_SUPERNODAL;
  }
  ~Common() { cholmod_finish(&c); }
  Common(const Common&) = delete;
  Common& operator=(const Common&) = delete;
};

// Symbolic analyses by pattern key: the arrays of a tile and of every Monte Carlo chip share
// one analysis per shape.
class SymbolicCache {
 public:
  static SymbolicCache& instance() {
    static auto* cache = new SymbolicCache();  // never destroyed: outlives static teardown
    return *cache;
  }
  // A copy of the analysis for this key (allocated in c), or nullptr.
  cholmod_factor* find(const std::string& key, cholmod_common* c) {
    std::shared_ptr<Entry> e;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& x : entries_)
        if (x->key == key) e = x;
    }
    return e ? cholmod_copy_factor(e->l, c) : nullptr;
  }
  void add(const std::string& key, cholmod_factor* symbolic) {
    auto e = std::make_shared<Entry>();
    e->key = key;
    e->l = cholmod_copy_factor(symbolic, &e->common.c);
    if (!e->l) return;
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& x : entries_)
      if (x->key == key) return;
    if (entries_.size() == kKeys) entries_.erase(entries_.begin());
    entries_.push_back(std::move(e));
  }

 private:
  static constexpr std::size_t kKeys = 8;
  struct Entry {
    std::string key;
    Common common;
    cholmod_factor* l = nullptr;
    ~Entry() {
      if (l) cholmod_free_factor(&l, &common.c);
    }
  };
  std::mutex mutex_;
  std::vector<std::shared_ptr<Entry>> entries_;
};

}  // namespace

struct SparseCholesky::Impl {
  Common common;
  cholmod_factor* l = nullptr;
  ~Impl() {
    if (l) cholmod_free_factor(&l, &common.c);
  }
};

SparseCholesky::SparseCholesky(Eigen::SparseMatrix<double>& a, int stype,
                               const std::vector<int>& perm, const std::string& pattern_key)
    : impl_(std::make_unique<Impl>()) {
  cholmod_common* cc = &impl_->common.c;
  cholmod_sparse am = cholmod_view(a, stype);
  cc->nmethods = 1;
  cc->method[0].ordering = perm.empty() ? CHOLMOD_NATURAL : CHOLMOD_GIVEN;
  cc->postorder = 0;  // keep the given order: what the caller put last stays last
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
  if (!pattern_key.empty()) impl_->l = SymbolicCache::instance().find(pattern_key, cc);
  if (!impl_->l) {
    impl_->l = cholmod_analyze_p(&am, perm.empty() ? nullptr : const_cast<int*>(perm.data()),
                                 nullptr, 0, cc);
    if (impl_->l && !pattern_key.empty()) SymbolicCache::instance().add(pattern_key, impl_->l);
  }
  const bool factored = impl_->l && cholmod_factorize(&am, impl_->l, cc);
  omp_set_max_active_levels(levels);
  if (!factored || cc->status == CHOLMOD_NOT_POSDEF)
    throw std::runtime_error(
        "the nodal matrix is not positive definite and could not be factored (a part of the "
        "network without a path to a source or to ground?)");
}

SparseCholesky::~SparseCholesky() = default;
SparseCholesky::SparseCholesky(SparseCholesky&&) noexcept = default;
SparseCholesky& SparseCholesky::operator=(SparseCholesky&&) noexcept = default;

int SparseCholesky::size() const { return int(impl_->l->n); }

const int* SparseCholesky::order() const { return static_cast<const int*>(impl_->l->Perm); }

Eigen::MatrixXd SparseCholesky::trailing_block(int p) const {
  const cholmod_factor* l = impl_->l;
  const int first = size() - p;
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(p, p);
  const int* super = static_cast<const int*>(l->super);
  const int* pi = static_cast<const int*>(l->pi);
  const int* px = static_cast<const int*>(l->px);
  const int* ls = static_cast<const int*>(l->s);
  const double* lx = static_cast<const double*>(l->x);
  // Supernode s holds columns super[s]..super[s+1]-1 as a column-major block whose rows are
  // ls[pi[s]..pi[s+1]).
  for (std::size_t s = 0; s < l->nsuper; ++s) {
    const int k1 = super[s], k2 = super[s + 1];
    if (k2 <= first) continue;
    const int nsrow = pi[s + 1] - pi[s];
    for (int col = std::max(k1, first); col < k2; ++col)
      for (int r = 0; r < nsrow; ++r) {
        const int row = ls[pi[s] + r];
        if (row >= col) out(row - first, col - first) = lx[px[s] + r + (col - k1) * nsrow];
      }
  }
  return out;
}

Eigen::MatrixXd SparseCholesky::solve(Eigen::MatrixXd b) const {
  cholmod_dense bd{};
  bd.nrow = std::size_t(b.rows());
  bd.ncol = std::size_t(b.cols());
  bd.nzmax = bd.nrow * bd.ncol;
  bd.d = bd.nrow;
  bd.x = b.data();
  bd.xtype = CHOLMOD_REAL;
  bd.dtype = CHOLMOD_DOUBLE;
  cholmod_common* cc = &impl_->common.c;
  cholmod_dense* x = cholmod_solve(CHOLMOD_A, impl_->l, &bd, cc);
  if (!x) throw std::runtime_error("CHOLMOD solve failed (status " + std::to_string(cc->status) + ")");
  Eigen::MatrixXd out = Eigen::Map<Eigen::MatrixXd>(static_cast<double*>(x->x), b.rows(), b.cols());
  cholmod_free_dense(&x, cc);
  return out;
}

std::vector<int> SparseCholesky::constrained_order(Eigen::SparseMatrix<double>& a, int stype,
                                                   const std::vector<int>& set) {
  Common common;
  cholmod_sparse am = cholmod_view(a, stype);
  std::vector<int> member(set), perm(std::size_t(a.rows()));
  if (!cholmod_camd(&am, nullptr, 0, member.data(), perm.data(), &common.c))
    throw std::runtime_error("CHOLMOD ordering failed (status " + std::to_string(common.c.status) + ")");
  return perm;
}

}  // namespace mho
