#include "crossbar/tile.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "adc_dac/adc.h"
#include "adc_dac/shift_add.h"
#include "common/percentile.h"
#include "common/normal_fill.h"
#include "common/random_stream.h"
#include "common/validate.h"
#include "crossbar/charge_domain.h"
#include "crossbar/level_product.h"
#include "crossbar/resistive_array.h"
#include "common/threads.h"

namespace mho {

namespace {
// Nonzero entries: row drives with a nonzero code, counted on levels already in cache.
template <typename T>
std::uint64_t nonzeros(const Eigen::Ref<const RowMat<T>>& m) {
  return std::uint64_t((m.array() != T(0)).count());
}

// Sub-stream of one (plane, column) element: planes and columns are below 2^11 and 2^20.
constexpr int kColBits = 20;
// Analog-pass outputs (pass rows x columns) processed per block in forward(): 256 KiB of float
// currents, so a block stays in L2 between the product and the conversion pass.
constexpr Eigen::Index kBlockElements = Eigen::Index(1) << 16;
// Samples per block of forward()/calibrate(): as many whole BLAS chunks (gemm_aligned) as
// keep a block's currents in cache between the product and the conversion pass. It depends
// only on the tile's shape, never on the batch.
std::int64_t sample_block(int planes, int cols, std::int64_t chunk) {
  const std::int64_t fit = kBlockElements / (std::int64_t(planes) * std::max(cols, 1));
  return std::max<std::int64_t>(1, fit / chunk) * chunk;
}
// One-bit planes skip BLAS (crossbar/level_product.h), so their blocks need not be whole
// chunks: small enough that levels, currents and variances stay in L2 between the passes.
// The array's value and variance matrices within 1 MiB (a Zen 3 core's L2 is 512 KiB, a
// recent Xeon's 1-2 MiB): see sums_driven_rows().
constexpr std::size_t kDrivenRowsMaxBytes = std::size_t(1) << 20;
constexpr std::int64_t kDrivenBlockElements = std::int64_t(1) << 16;
std::uint32_t sub_index(int plane, int col, int component = 0) {
  return (std::uint32_t(plane) << (kColBits + 1)) | (std::uint32_t(component) << kColBits) |
         std::uint32_t(col);
}
// The largest |code| (tile_spec.h): weight_bits magnitude bits on differential pairs, one
// fewer with offset encoding; analog weights are scaled to [-1, 1].
double code_max(const TileSpec& s) {
  if (s.weight_bits == 0) return 1.0;
  return s.encoding == "differential" ? std::ldexp(1.0, s.weight_bits) - 1.0 : std::ldexp(1.0, s.weight_bits - 1) - 1.0;
}
// Stored levels are the code shifted up by the pad bits (tile_spec.h), worth 2^-pad LSB each.
double pad_factor(const TileSpec& s) { return s.weight_bits == 0 ? 1.0 : std::ldexp(1.0, s.slice_pad_bits()); }
// Level 0's conductance; charge accumulation: an empty capacitor holds no charge.
double level_zero_S(const TileSpec& s) { return s.accumulation == "charge" ? 0.0 : s.cell.g_min_S; }
}  // namespace

// Measured on one thread (a 9-row tile, 8 one-bit planes, 8-bit weights on 2-bit cells, 20,000
// samples): the pass-major loop takes 0.87-0.93x the per-sample loop's time at 1-2 outputs and
// 0.77x at 4; in bench/run mobilenet_block the depthwise layer's forward went 0.58 -> 0.33 s.
int Tile::narrow_outputs = 4;

Tile::Tile(TileSpec spec, std::uint64_t tile_id)
    : spec_((spec.validate(), std::move(spec))), tile_id_(tile_id), cell_(spec_.cell),
      dac_(spec_.dac) {
  if (dac_.num_planes() >= (1 << 10))
    reject("DacSpec", dac_.spec().repr(), "gives too many planes (at most 1023)");
}

void Tile::program(const Eigen::Ref<const Eigen::MatrixXd>& w, std::uint64_t chip) {
  if (w.rows() == 0 || w.cols() == 0)
    reject("weights", std::to_string(w.rows()) + "x" + std::to_string(w.cols()),
           "must have at least one row and one column");
  if (!w.allFinite()) reject("weights", "a matrix with NaN or infinity", "must be finite");
  const bool analog = spec_.weight_bits == 0;
  const bool diff = spec_.encoding == "differential";
  const int bpc = spec_.slice_bits();
  n_in_ = int(w.rows());
  n_out_ = int(w.cols());
  n_slices_ = spec_.slices();
  n_phys_ = spec_.physical_columns(n_out_);
  if (n_in_ > spec_.rows || n_phys_ > spec_.cols)
    reject("weights", std::to_string(n_in_) + "x" + std::to_string(n_out_),
           "needs " + std::to_string(n_in_) + " rows and " + std::to_string(n_phys_) +
               " columns (" + std::to_string(n_slices_) + " slice(s), " + spec_.encoding +
               "), more than TileSpec rows=" + std::to_string(spec_.rows) +
               ", cols=" + std::to_string(spec_.cols));
  if (n_phys_ >= (1 << kColBits)) reject("weights", "too wide", "at most 2^20 physical columns");

  // Quantize: codes c with |c| <= cmax (analog: c = w / max|w| in [-1, 1]).
  level_max_ = analog ? 1 : (1 << bpc) - 1;
  const double cmax = code_max(spec_);
  w_lsb_.resize(n_out_);
  if (spec_.weight_scale == "per_column") {
    for (int j = 0; j < n_out_; ++j) w_lsb_[j] = w.col(j).cwiseAbs().maxCoeff() / cmax;
  } else {
    w_lsb_.setConstant(w.cwiseAbs().maxCoeff() / cmax);
  }
  for (int j = 0; j < n_out_; ++j)
    if (w_lsb_[j] == 0.0) w_lsb_[j] = 1.0;  // an all-zero column: any scale represents it
  // Stored levels are worth 2^-pad LSB each.
  w_unit_ = (analog && !diff) ? Eigen::VectorXd(2.0 * w_lsb_) : Eigen::VectorXd(w_lsb_ / pad_factor(spec_));

  const double g_min = level_zero_S(spec_);
  delta_g_ = charge() ? charge_level_volts(spec_.cap, spec_.rows, level_max_) / spec_.cell.v_read_V
                      : (spec_.cell.g_max_S - g_min) / level_max_;
  w_ = w;
  chip_ = chip;
  if (charge()) programmed_cells(&c_line_F_);

  // GEMM columns and conversion groups.
  gemm_cols_.clear();
  groups_.clear();
  const double span_diff = charge() ? delta_g_ * level_max_ : spec_.cell.g_max_S - g_min;
  const double span_col = charge() ? span_diff : spec_.cell.g_max_S;
  const bool bipolar = spec_.dac.signed_mode == "bipolar";
  for (int s = 0; s < n_slices_; ++s) {
    const double coeff = std::ldexp(1.0, s * bpc);
    if (diff && spec_.subtract == "analog") {
      groups_.push_back({int(gemm_cols_.size()), n_out_, -1, coeff, true, span_diff});
      for (int j = 0; j < n_out_; ++j)
        gemm_cols_.push_back({{(2 * s) * n_out_ + j, 1.0}, {(2 * s + 1) * n_out_ + j, -1.0}});
    } else if (diff) {
      for (int sign = 0; sign < 2; ++sign) {
        groups_.push_back({int(gemm_cols_.size()), n_out_, -1, sign ? -coeff : coeff, bipolar, span_col});
        for (int j = 0; j < n_out_; ++j) gemm_cols_.push_back({{(2 * s + sign) * n_out_ + j, 1.0}});
      }
    } else {
      const bool analog_sub = spec_.subtract == "analog";
      const int ref_col = n_slices_ * n_out_ + s;
      groups_.push_back({s * n_out_, n_out_, analog_sub ? ref_col : -1, coeff,
                         analog_sub || bipolar, analog_sub ? span_diff : span_col});
      if (!analog_sub) groups_.push_back({ref_col, 1, -1, -coeff, bipolar, span_col});
    }
  }
  if (!diff)
    for (int c = 0; c < n_phys_; ++c) gemm_cols_.push_back({{c, 1.0}});

  programmed_ = true;
  calibrated_ = false;
  samples_seen_ = 0;
  x_max_ = spec_.dac.x_max;
  adc_range_.assign(dac_.num_planes(), std::vector<double>(groups_.size(), 0.0));
  for (int k = 0; k < dac_.num_planes(); ++k)
    for (std::size_t g = 0; g < groups_.size(); ++g) adc_range_[k][g] = fixed_adc_range(groups_[g]);
  baseline_valid_ = false;
  set_time(0.0);
}

Eigen::MatrixXd Tile::target() const {
  const bool analog = spec_.weight_bits == 0;
  const bool diff = spec_.encoding == "differential";
  const int wb = spec_.weight_bits;
  const int bpc = spec_.slice_bits();
  const double cmax = code_max(spec_), pad = pad_factor(spec_), g_min = level_zero_S(spec_);
  const double zero_level = analog ? 0.5 : std::ldexp(1.0, wb - 1);  // offset encoding
  auto slice_level = [&](double m, int s) {
    if (analog) return m;
    return double(((std::int64_t(m) * std::int64_t(pad)) >> (s * bpc)) & level_max_);
  };
  Eigen::MatrixXd g_target(n_in_, n_phys_);
  for (int i = 0; i < n_in_; ++i) {
    for (int j = 0; j < n_out_; ++j) {
      double c = w_(i, j) / w_lsb_[j];
      if (!analog) c = std::clamp(std::nearbyint(c), -cmax, cmax);
      for (int s = 0; s < n_slices_; ++s) {
        if (diff) {
          g_target(i, (2 * s) * n_out_ + j) = g_min + slice_level(std::max(c, 0.0), s) * delta_g_;
          g_target(i, (2 * s + 1) * n_out_ + j) = g_min + slice_level(std::max(-c, 0.0), s) * delta_g_;
        } else {
          const double u = analog ? (c + 1.0) / 2.0 : c + zero_level;
          g_target(i, s * n_out_ + j) = g_min + slice_level(u, s) * delta_g_;
        }
      }
    }
    if (!diff)
      for (int s = 0; s < n_slices_; ++s)
        g_target(i, n_slices_ * n_out_ + s) = g_min + slice_level(zero_level, s) * delta_g_;
  }
  return g_target;
}

Tile::Cells Tile::programmed_cells(Eigen::VectorXd* c_line_F, Eigen::VectorXd* supply_row) const {
  const std::uint64_t seed = spec_.seed;
  Cells c;
  c.g0 = target();
  if (charge()) {
    Eigen::MatrixXd levels = c.g0 / delta_g_;
    if (spec_.weight_bits != 0) levels = levels.array().round().matrix();
    ChargeArray a = charge_array(spec_.cap, levels, spec_.rows, level_max_, spec_.programming_error,
                                 StreamKey(seed, chip_, tile_id_, Purpose::kCapMismatch));
    c.g0 = a.m / spec_.cell.v_read_V;
    if (c_line_F) *c_line_F = a.c_line_F;
    if (supply_row) *supply_row = a.supply.rowwise().sum();
    c.nu = Eigen::MatrixXd::Zero(n_in_, n_phys_);
  } else {
    cell_.program(c.g0, StreamKey(seed, chip_, tile_id_, Purpose::kProgramming),
                  StreamKey(seed, chip_, tile_id_, Purpose::kStuckAt), spec_.programming_error,
                  spec_.stuck_at);
    c.nu = spec_.drift ? cell_.draw_nu(c.g0, StreamKey(seed, chip_, tile_id_, Purpose::kDrift))
                       : Eigen::MatrixXd::Zero(n_in_, n_phys_);
  }
  return c;
}

Eigen::MatrixXd Tile::target_conductances() const { return programmed_ ? target() : Eigen::MatrixXd(); }
Eigen::MatrixXd Tile::programmed_conductances() const {
  return programmed_ ? programmed_cells().g0 : Eigen::MatrixXd();
}
Eigen::MatrixXd Tile::drift_exponents() const { return programmed_ ? programmed_cells().nu : Eigen::MatrixXd(); }
Eigen::MatrixXd Tile::conductances() const {
  if (!programmed_) return Eigen::MatrixXd();
  Eigen::MatrixXd g_t, sig2;
  aged_cells(t_s_, programmed_cells(), &g_t, &sig2);
  return g_t;
}

std::size_t Tile::state_bytes() const {
  auto mat = [](const auto& m) { return std::size_t(m.size()) * sizeof(m.data()[0]); };
  auto vec = [](const auto& v) { return v.capacity() * sizeof(v.data()[0]); };
  std::size_t b = sizeof(Tile);
  b += mat(w_unit_) + mat(w_) + mat(w_lsb_) + mat(g_row_sum_) + mat(c_line_F_) + mat(alpha_) + mat(baseline_sums_);
  b += mat(m_f_) + mat(s_f_) + mat(m_d_) + mat(s_d_);
  b += vec(charge_sigma_f_) + vec(charge_offset_f_) + vec(charge_sigma_d_) + vec(charge_offset_d_);
  b += vec(gemm_cols_) + vec(groups_) + vec(adc_range_);
  for (const auto& c : gemm_cols_) b += vec(c);
  for (const auto& r : adc_range_) b += vec(r);
  return b;
}

bool Tile::sums_driven_rows() const {
  // Summing driven rows reads the array's matrices once per pass row: it beats a GEMM only
  // while they stay in L2 (measured: LeNet-5's arrays 1.7x faster; a 256 x 2048 one, 4 MiB,
  // 1.6x slower on dense random inputs).
  const std::size_t bytes = 2 * std::size_t(n_in_) * gemm_cols_.size() * sizeof(float);
  return dac_.plane_max_code() == 1 && !dac_.is_ideal() && bytes <= kDrivenRowsMaxBytes;
}

std::int64_t Tile::block_samples() const {
  const int P = dac_.num_planes(), ncols = int(gemm_cols_.size());
  if (sums_driven_rows())
    return std::max<std::int64_t>(1, kDrivenBlockElements / (std::int64_t(P) * std::max(ncols, 1)));
  return sample_block(P, ncols, gemm_chunk_rows(ncols, n_in_));
}

double Tile::fixed_adc_range(const Group& g) const {
  const double v = spec_.cell.v_read_V;
  const double f = spec_.nonlinear_iv && !charge() ? std::abs(cell_.iv_voltage(v)) : v;
  return n_in_ * f * g.span_S;
}

namespace {
// Reference reads per compensation campaign: 32 samples, a few per cent of a typical
// calibration batch (1000 inputs), each summing half the rows (the first, all of them), so
// that a column's estimate averages 32 outputs of the size an MVM produces.
constexpr int kDriftReferenceReads = 32;
// Reference reads draw their read and ADC noise from samples past every data sample (the
// bindings cap sample offsets at 2^62), 2^39 campaigns of 32 samples, keyed by the time.
constexpr std::uint64_t kReferenceSampleBase = std::uint64_t(1) << 62;
std::uint64_t time_key(double t_s) {
  std::uint64_t bits;
  std::memcpy(&bits, &t_s, sizeof bits);
  return detail::mix64(bits);
}
}  // namespace

void Tile::set_time(double t_s) {
  check_ready("set_time");
  // 1e10 s (~300 years) is far past any retention specification (10 years).
  require_finite_in("Tile.set_time(t_s)", t_s, 0.0, 1e10);
  t_s_ = t_s;
  age(t_s);
  update_drift_compensation();
}

void Tile::age(double t_s) {
  Eigen::MatrixXd g_t, sig2;
  Eigen::VectorXd supply;
  aged_cells(t_s, programmed_cells(nullptr, charge() ? &supply : nullptr), &g_t, &sig2);
  // Charge accumulation: the charge each row's capacitors draw from the supply at unit drive
  // (crossbar/charge_domain.h); capacitors neither drift nor age, so it is the programmed one.
  g_row_sum_ = charge() ? supply : Eigen::VectorXd(g_t.rowwise().sum());
  rebuild_gemm_operands(g_t, sig2);
}

void Tile::aged_cells(double t_s, const Cells& c, Eigen::MatrixXd* g_t_out, Eigen::MatrixXd* sig2_out) const {
  Eigen::MatrixXd& g_t = *g_t_out;
  Eigen::MatrixXd& sig2 = *sig2_out;
  g_t = c.g0;
  sig2 = Eigen::MatrixXd::Zero(n_in_, n_phys_);
  // Capacitors neither drift nor dissipate in the cells; their noise is the lines' kT/C.
  if (charge()) return;
  if (spec_.drift)
    for (Eigen::Index i = 0; i < g_t.size(); ++i)
      g_t.data()[i] *= cell_.drift_factor(c.nu.data()[i], t_s);
  if (spec_.read_noise) {
    if (spec_.cell.read_noise_draw == "frozen") {
      // One draw per cell for the campaign at t_s; a conductance cannot go negative.
      const StreamKey key(spec_.seed, chip_, tile_id_, Purpose::kFrozenReadNoise);
      const std::uint32_t campaign = std::uint32_t(time_key(t_s));
#pragma omp parallel for schedule(static) num_threads(threads())
      for (Eigen::Index i = 0; i < g_t.size(); ++i) {
        const double s = cell_.read_sigma(g_t.data()[i], c.g0.data()[i], t_s);
        if (s == 0.0) continue;
        ElementEngine eng(key, std::uint64_t(i), campaign);
        g_t.data()[i] = std::max(g_t.data()[i] + s * normal_draw(eng), 0.0);
      }
    } else {
#pragma omp parallel for schedule(static) num_threads(threads())
      for (Eigen::Index i = 0; i < g_t.size(); ++i) {
        const double s = cell_.read_sigma(g_t.data()[i], c.g0.data()[i], t_s);
        sig2.data()[i] = s * s;
      }
    }
  }
}

template <>
void Tile::hold_operands<double>() {
  if (held_ == Held::kDouble) return;
  const double wire_s = wire_factor_seconds_;  // it reports program()/set_time(), not this rebuild
  age(t_s_);
  wire_factor_seconds_ = wire_s;
}

template <>
void Tile::hold_operands<float>() {
  if (held_ == Held::kFloat) return;
  if (held_ != Held::kDouble) hold_operands<double>();
  m_f_ = m_d_.cast<float>();
  s_f_ = s_d_.cast<float>();
  RowMat<double>().swap(m_d_);
  RowMat<double>().swap(s_d_);
  held_ = Held::kFloat;
}

Eigen::VectorXd Tile::reference_read_sums() {
  hold_operands<double>();
  RowMat<double> x(kDriftReferenceReads, n_in_);
  for (int k = 0; k < kDriftReferenceReads; ++k)
    for (int i = 0; i < n_in_; ++i)
      x(k, i) = (__builtin_popcount(unsigned(k) & unsigned(i)) % 2 == 0) ? x_max_ : 0.0;
  const std::uint64_t first =
      kReferenceSampleBase + (time_key(t_s_) >> 25) * std::uint64_t(kDriftReferenceReads);
  PassTotals unused;
  const RowMat<double> y = read<double>(x, std::int64_t(first), false, &unused);
  return y.cwiseAbs().colwise().sum().transpose();
}

void Tile::update_drift_compensation() {
  alpha_ = Eigen::VectorXd::Ones(n_out_);
  if (spec_.drift_compensation == "none") return;
  if (!baseline_valid_) {
    // The read right after programming, with the converters' ranges now in place.
    const double t_now = t_s_;
    t_s_ = 0.0;
    if (t_now != 0.0) age(0.0);
    baseline_sums_ = reference_read_sums();
    t_s_ = t_now;
    if (t_now != 0.0) age(t_now);
    baseline_valid_ = true;
  }
  if (t_s_ == 0.0) return;  // the current read is the baseline read
  const Eigen::VectorXd now = reference_read_sums();
  // An output that reads zero (an all-zero column) has nothing to compensate.
  if (spec_.drift_compensation == "global") {
    const double b = baseline_sums_.sum(), c = now.sum();
    if (b > 0.0 && c > 0.0) alpha_.setConstant(b / c);
  } else {
    for (int j = 0; j < n_out_; ++j)
      if (baseline_sums_[j] > 0.0 && now[j] > 0.0) alpha_[j] = baseline_sums_[j] / now[j];
  }
}

void Tile::rebuild_gemm_operands(const Eigen::MatrixXd& g_t, const Eigen::MatrixXd& sig2) {
  const int n = int(gemm_cols_.size());
  RowMat<float>().swap(m_f_);
  RowMat<float>().swap(s_f_);
  m_d_ = RowMat<double>::Zero(n_in_, n);
  s_d_ = RowMat<double>::Zero(n_in_, n);
  // The analog product maps row voltages to column currents: I = V G without wires, and
  // I = V T^T with them (T exact, from the resistive network of the programmed array).
  Eigen::MatrixXd g_eff;
  wire_factor_seconds_ = 0.0;
  if (spec_.wires.active()) {
    ResistiveArray net(g_t, spec_.wires);
    g_eff = net.transfer().transpose();
    wire_factor_seconds_ = net.factor_seconds();
  }
  const Eigen::MatrixXd& g = spec_.wires.active() ? g_eff : g_t;
  for (int c = 0; c < n; ++c)
    for (const Component& comp : gemm_cols_[c]) {
      m_d_.col(c) += comp.sign * g.col(comp.phys_col);
      s_d_.col(c) += sig2.col(comp.phys_col);
    }
  has_read_noise_ = s_d_.size() > 0 && s_d_.maxCoeff() > 0.0;
  // Only reads with read noise use the variance matrix.
  if (!has_read_noise_) RowMat<double>().swap(s_d_);
  held_ = Held::kDouble;
  // Charge accumulation: a GEMM column's lines are sampled independently (their kT/C
  // variances add) and subtracted (their offsets cancel where signs oppose).
  charge_noise_ = charge() && spec_.read_noise;
  charge_offset_ = charge() && spec_.cap.injection_offset_V != 0.0;
  charge_sigma_d_.assign(charge_noise_ ? n : 0, 0.0);
  charge_offset_d_.assign(charge_offset_ ? n : 0, 0.0);
  const double v = spec_.cell.v_read_V;
  for (int c = 0; c < n && (charge_noise_ || charge_offset_); ++c) {
    double var = 0.0, off = 0.0;
    for (const Component& comp : gemm_cols_[c]) {
      var += ktc_variance_V2(spec_.cap, c_line_F_[comp.phys_col]);
      off += comp.sign * spec_.cap.injection_offset_V;
    }
    if (charge_noise_) charge_sigma_d_[c] = std::sqrt(var) / v;
    if (charge_offset_) charge_offset_d_[c] = off / v;
  }
  charge_sigma_f_.assign(charge_sigma_d_.begin(), charge_sigma_d_.end());
  charge_offset_f_.assign(charge_offset_d_.begin(), charge_offset_d_.end());
}

template <>
const std::vector<float>& Tile::charge_sigma<float>() const { return charge_sigma_f_; }
template <>
const std::vector<double>& Tile::charge_sigma<double>() const { return charge_sigma_d_; }
template <>
const std::vector<float>& Tile::charge_offset<float>() const { return charge_offset_f_; }
template <>
const std::vector<double>& Tile::charge_offset<double>() const { return charge_offset_d_; }

namespace {
// hold_operands<T>() runs at every entry point that reads: a miss is a defect of this file.
void check_held(bool held, const char* what) {
  if (!held) throw std::logic_error(std::string("Tile: the ") + what + " operands are not held");
}
}  // namespace

template <>
const RowMat<float>& Tile::gemm_matrix<float>() const {
  check_held(held_ == Held::kFloat, "float");
  return m_f_;
}
template <>
const RowMat<double>& Tile::gemm_matrix<double>() const {
  check_held(held_ == Held::kDouble, "double");
  return m_d_;
}
template <>
const RowMat<float>& Tile::gemm_variance<float>() const {
  check_held(held_ == Held::kFloat, "float");
  return s_f_;
}
template <>
const RowMat<double>& Tile::gemm_variance<double>() const {
  check_held(held_ == Held::kDouble, "double");
  return s_d_;
}

void Tile::check_ready(const char* what) const {
  if (!programmed_)
    throw std::logic_error(std::string("Tile.") + what + ": the tile is not programmed; call program(W) first");
}

template <typename T>
void Tile::check_input(const Eigen::Ref<const RowMat<T>>& x, const char* what) const {
  check_ready(what);
  if (x.cols() != n_in_)
    reject(std::string("Tile.") + what + " input", std::to_string(x.rows()) + "x" + std::to_string(x.cols()),
           "must have " + std::to_string(n_in_) + " columns (the programmed block's inputs)");
  bool finite = true;
  for (Eigen::Index r = 0; r < x.rows() && finite; ++r) finite = all_finite(x.row(r).data(), std::size_t(x.cols()));
  if (!finite) reject(std::string("Tile.") + what + " input", "an array with NaN or infinity", "must be finite");
  if (spec_.dac.signed_mode == "unsigned" && x.size() > 0 && x.minCoeff() < T(0))
    reject(std::string("Tile.") + what + " input", "min " + to_text(double(x.minCoeff())),
           "must be >= 0 with DacSpec.signed_mode='unsigned' (use 'two_pass' or 'bipolar')");
}

EnergyQ Tile::cells_energy(const std::vector<double>& row_sums, double scale) const {
  // Each pass in exact fixed point: the total does not depend on how passes are grouped.
  // Charge accumulation: row sums of |drive| x supply charge (units C_u V_DD), linear in the
  // drive's scale (crossbar/charge_domain.h); resistive cells: of drive^2 x G, P t = G V^2 t.
  const double v = spec_.cell.v_read_V;
  const double unit = charge() ? scale * spec_.cap.c_unit_F * spec_.cap.v_dd_V * spec_.cap.v_dd_V
                               : scale * scale * v * v * spec_.cell.t_read_s;
  EnergyQ total = 0;
  for (double p : row_sums) total += energy_q(p * unit);
  return total;
}

template <typename T>
EnergyQ Tile::level_energy(const Eigen::Ref<const RowMat<T>>& lv, double scale) const {
  // Per row, summed in double in row order (one sum per pass beside a product per pass and
  // column), so equal levels give the same bits in either precision and whatever the SIMD width
  // a build vectorises with (a vectorised dot's order follows its packet size). Charge
  // accumulation: the supply charge is linear in |drive| (crossbar/charge_domain.h); resistive
  // cells: drive^2 x G.
  std::vector<double> part(std::size_t(lv.rows()));
  const bool linear = charge();
  const double* g_d = g_row_sum_.data();
  auto row = [&](Eigen::Index r) {
    const T* l = lv.row(r).data();
    double sum = 0.0;
    if (linear) {
      for (Eigen::Index i = 0; i < lv.cols(); ++i) sum += std::abs(double(l[i])) * g_d[i];
    } else {
      for (Eigen::Index i = 0; i < lv.cols(); ++i) sum += double(l[i]) * double(l[i]) * g_d[i];
    }
    part[std::size_t(r)] = sum;
  };
  if (lv.size() >= (Eigen::Index(1) << 20)) {
#pragma omp parallel for schedule(static) num_threads(threads())
    for (Eigen::Index r = 0; r < lv.rows(); ++r) row(r);
  } else {
    for (Eigen::Index r = 0; r < lv.rows(); ++r) row(r);
  }
  return cells_energy(part, scale);
}

template <typename T>
double Tile::analog_currents(const Eigen::Ref<const RowMat<T>>& x, std::int64_t first_sample,
                             bool noise, RowMat<T>* levels, RowMat<T>* currents,
                             RowMat<T>* variance, PassTotals* totals,
                             std::vector<std::uint8_t>* driven) const {
  RowMat<T>& lv = *levels;
  if (driven) driven->clear();
  if (charge_readout_terms()) driven = nullptr;  // no pass reads an exact zero
  RowMat<T>& cur = *currents;
  // The lines' injection offsets, on every readout (calibration's included).
  auto add_offsets = [&]() {
    if (!charge_offset_) return;
    const T* off = charge_offset<T>().data();
    for (Eigen::Index r = 0; r < cur.rows(); ++r) {
      T* row = cur.row(r).data();
      for (Eigen::Index c = 0; c < cur.cols(); ++c) row[c] += off[c];
    }
  };
  variance->resize(0, 0);
  const double v = spec_.cell.v_read_V;
  const bool nonlinear = this->nonlinear();
  const bool use_noise = noise && spec_.read_noise && has_read_noise_;
  // An ideal DAC with one pass drives levels x / x_max: the product can take x itself and
  // fold 1 / x_max into the units.
  const bool direct = dac_.is_ideal() && dac_.num_planes() == 1 && !nonlinear && !use_noise && !charge_readout_terms();
  const std::int64_t chunk = gemm_chunk_rows(std::int64_t(gemm_cols_.size()), n_in_);
  if (direct) {
    if (totals) *totals = {level_energy<T>(x, 1.0 / x_max_), nonzeros<T>(x)};
    cur.resize(x.rows(), gemm_matrix<T>().cols());
    gemm_aligned<T>(x, gemm_matrix<T>(), cur, first_sample, chunk);
    return 1.0 / x_max_;
  }
  dac_.encode<T>(x, x_max_, lv);
  // What the drivers see (before any transform, which keeps zeros zero): the driven-rows
  // product counts it in its own pass; every other path counts it here.
  const bool counted_in_product = sums_driven_rows() && !(use_noise && spec_.read_noise_method == "per_cell");
  if (totals && !counted_in_product) totals->driven_rows = nonzeros<T>(lv);
  if (nonlinear) {
    // I = G f(V): without wire resistance the cell voltage is the row voltage, so the
    // nonlinearity is a per-row transform of the drive, ahead of the product.
    // The cells dissipate V f(V) G: summed in the same pass, per row.
    std::vector<double> part(std::size_t(lv.rows()));
    const double* g = g_row_sum_.data();
#pragma omp parallel for schedule(static) num_threads(threads())
    for (Eigen::Index r = 0; r < lv.rows(); ++r) {
      T* row = lv.row(r).data();
      double sum = 0.0;
      for (int i = 0; i < n_in_; ++i) {
        const T f = T(cell_.iv_voltage(double(row[i]) * v) / v);
        sum += double(row[i]) * double(f) * g[i];
        row[i] = f;
      }
      part[std::size_t(r)] = sum;
    }
    if (totals) totals->cell_energy = cells_energy(part, 1.0);
  } else if (totals) {
    totals->cell_energy = level_energy<T>(lv, 1.0);
  }
  const Eigen::Index B = x.rows();
  const int ncols = int(gemm_cols_.size());
  if (use_noise && spec_.read_noise_method == "per_cell") {
    const StreamKey key(spec_.seed, chip_, tile_id_, Purpose::kReadNoise);
    // Reference path: one draw per cell per read, on the cells drawn again.
    Eigen::MatrixXd g_t, sig2_t;
    aged_cells(t_s_, programmed_cells(), &g_t, &sig2_t);
    cur.resize(lv.rows(), ncols);
#pragma omp parallel for schedule(static) num_threads(threads())
    for (Eigen::Index r = 0; r < lv.rows(); ++r) {
      const int k = int(r / B);
      const std::uint64_t sample = std::uint64_t(first_sample + r % B);
      for (int c = 0; c < ncols; ++c) {
        double acc = 0.0;
        for (std::size_t q = 0; q < gemm_cols_[c].size(); ++q) {
          const Component& comp = gemm_cols_[c][q];
          ElementEngine eng(key, sample, sub_index(k, c, int(q)) | (1u << 31));
          double part = 0.0;
          for (int i = 0; i < n_in_; ++i) {
            const double gi = g_t(i, comp.phys_col) +
                              std::sqrt(sig2_t(i, comp.phys_col)) * normal_draw(eng);
            part += double(lv(r, i)) * gi;
          }
          acc += comp.sign * part;
        }
        cur(r, c) = T(acc);
      }
    }
    return 1.0;
  }
  if (sums_driven_rows()) {
    // One-bit planes: sum the driven rows only (crossbar/level_product.h), both products at once.
    if (driven) driven->resize(std::size_t(lv.rows()));
    std::uint64_t drives = 0;
    driven_rows_product<T>(lv, gemm_matrix<T>(), use_noise ? &gemm_variance<T>() : nullptr, cur,
                           use_noise ? variance : nullptr, driven ? driven->data() : nullptr, &drives);
    if (totals) totals->driven_rows = drives;
    add_offsets();
    return 1.0;
  }
  // One aligned product per plane: plane k's rows are samples first_sample .. + B.
  // When the block is whole chunks (every interior block of a stream), the planes' rows sit at
  // multiples of the chunk in one stacked call; otherwise each plane is aligned on its own.
  const bool stacked = first_sample % chunk == 0 && B % chunk == 0;
  auto per_plane = [&](const RowMat<T>& m, RowMat<T>& out) {
    out.resize(lv.rows(), m.cols());
    if (stacked) {
      gemm_aligned<T>(lv, m, out, 0, chunk);
      return;
    }
    for (int k = 0; k < dac_.num_planes(); ++k)
      gemm_aligned<T>(lv.middleRows(Eigen::Index(k) * B, B), m, out.middleRows(Eigen::Index(k) * B, B),
                      first_sample, chunk);
  };
  per_plane(gemm_matrix<T>(), cur);
  if (use_noise) {
    // Exact aggregate: the column sum of independent Gaussians is Gaussian with variance
    // sum_i V_i^2 sigma_ij^2 -- one more product, and one draw per output (in forward()).
    lv = lv.cwiseAbs2();
    per_plane(gemm_variance<T>(), *variance);
  }
  add_offsets();
  return 1.0;
}

template <typename T>
void Tile::calibrate(const Eigen::Ref<const RowMat<T>>& x) {
  check_input<T>(x, "calibrate");
  if (x.rows() == 0) reject("Tile.calibrate input", "0 rows", "needs at least one sample");
  hold_operands<T>();
  if (spec_.dac.range == "calibrated") x_max_ = dac_.calibrated_range<T>(x);
  if (spec_.adc.range == "calibrated" && spec_.adc.bits > 0) {
    // |current| samples per (plane, group), gathered block by block (memory bounded like
    // forward()); single precision suffices for a percentile.
    const int P = dac_.num_planes(), G = int(groups_.size());
    std::vector<std::vector<float>> samples(std::size_t(P) * G);
    const Eigen::Index block = Eigen::Index(block_samples());
    RowMat<T> lv, cur, var;
    for (Eigen::Index b0 = 0; b0 < x.rows(); b0 += block) {
      const Eigen::Index nb = std::min(block, x.rows() - b0);
      const double to_amps = analog_currents<T>(x.middleRows(b0, nb), b0, false, &lv, &cur, &var) * spec_.cell.v_read_V;
      for (int k = 0; k < P; ++k)
        for (int g = 0; g < G; ++g) {
          const Group& gr = groups_[std::size_t(g)];
          std::vector<float>& a = samples[std::size_t(k) * G + g];
          for (Eigen::Index b = 0; b < nb; ++b)
            for (int j = 0; j < gr.width; ++j) {
              double i = double(cur(k * nb + b, gr.gemm_col0 + j));
              if (gr.analog_ref >= 0) i -= double(cur(k * nb + b, gr.analog_ref));
              a.push_back(float(std::abs(i) * to_amps));
            }
        }
    }
    for (int k = 0; k < P; ++k)
      for (int g = 0; g < G; ++g) {
        std::vector<float>& a = samples[std::size_t(k) * G + g];
        const double r = nearest_rank_percentile(a, spec_.adc.percentile);
        std::vector<float>().swap(a);
        adc_range_[k][g] = r > 0.0 ? r : fixed_adc_range(groups_[std::size_t(g)]);
      }
  }
  calibrated_ = true;
  // The reference reads go through the new ranges.
  baseline_valid_ = false;
  update_drift_compensation();
}


template <typename T>
RowMat<T> Tile::read(const Eigen::Ref<const RowMat<T>>& x, std::int64_t first, bool compensate,
                     PassTotals* totals) const {
  const Eigen::Index B = x.rows();
  const int P = dac_.num_planes();
  const int G = int(groups_.size());
  const int ncols = int(gemm_cols_.size());
  // Normalised current -> weight * input units: sum(level * G) = dG sum(level * code).
  const Eigen::VectorXd out_scale =
      compensate ? Eigen::VectorXd(w_unit_.cwiseProduct(alpha_) / delta_g_) : Eigen::VectorXd(w_unit_ / delta_g_);

  RowMat<T> out;
  PassTotals sum;
  const bool exact_linear = dac_.is_ideal() && P == 1 && G == 1 && spec_.adc.bits == 0 &&
                            groups_[0].analog_ref < 0 && !(spec_.read_noise && has_read_noise_) &&
                            !nonlinear() && !charge_readout_terms();
  if (exact_linear) {
    // Nothing between the product and the output but scales: fold them into the matrix.
    const double w0 = dac_.multiplier(0, x_max_) * groups_[0].coeff / x_max_;
    const RowMat<T> m = (gemm_matrix<T>() * (out_scale * w0).template cast<T>().asDiagonal());
    out.resize(B, m.cols());
    gemm_aligned<T>(x, m, out, first, gemm_chunk_rows(ncols, n_in_));
    sum = {level_energy<T>(x, 1.0 / x_max_), nonzeros<T>(x)};
  } else {
    const std::int64_t block = block_samples();
    const double v = spec_.cell.v_read_V;
    const bool adc_noise = spec_.adc.bits > 0 && spec_.adc.noise_lsb > 0.0;
    const StreamKey read_key(spec_.seed, chip_, tile_id_, charge() ? Purpose::kThermalNoise : Purpose::kReadNoise);
    const StreamKey adc_key(spec_.seed, chip_, tile_id_, Purpose::kAdcNoise);
    out.resize(B, n_out_);
    const Eigen::Matrix<T, Eigen::Dynamic, 1> scale_t = out_scale.cast<T>();
    const T* scale = scale_t.data();
    // An undriven pass reads exactly zero current: its read noise is 0 * z, and with no ADC noise
    // or nonlinearity its conversion adds an exact 0. Skipping both changes no bit.
    bool zero_converts_to_zero = true;
    for (const Group& g : groups_) zero_converts_to_zero &= Adc(spec_.adc, 1.0, g.is_signed).maps_zero_to_zero();
    // One block of samples b0 .. b0 + nb, start to finish; returns what its passes did.
    auto run_block = [&](Eigen::Index b0, Eigen::Index nb, RowMat<T>& lv, RowMat<T>& cur, RowMat<T>& var,
                         std::vector<std::uint8_t>& driven) {
      PassTotals block_totals;
      const double unit =
          analog_currents<T>(x.middleRows(b0, nb), first + b0, true, &lv, &cur, &var, &block_totals, &driven);
      const bool read_noise = var.size() > 0 || charge_noise_;
      const bool know_driven = !driven.empty();
      // The ADC sees amperes = cur * unit * v: express its range in the units of cur. One
      // conversion with its shift-and-add weight per (plane, group), set up once per block.
      std::vector<ShiftAdd<T>> converts;
      converts.reserve(std::size_t(P) * G);
      for (int k = 0; k < P; ++k)
        for (int g = 0; g < G; ++g)
          converts.emplace_back(Adc(spec_.adc, adc_range_[k][g] / (unit * v), groups_[g].is_signed),
                                dac_.multiplier(k, x_max_) * groups_[g].coeff * unit);
      // Pass row `row` (noise added) of plane k through group g's conversion into one sample's
      // outputs acc.
      auto convert_group = [&](int k, int g, const T* row, const float* zp, T* acc) {
        const Group& gr = groups_[g];
        const T ref = gr.analog_ref >= 0 ? row[gr.analog_ref] : T(0);
        if (gr.width == n_out_) {
          converts[std::size_t(k * G + g)](row + gr.gemm_col0, ref, n_out_, zp, acc);
        } else {  // a reference column converted on its own: subtracted from every output
          T one = T(0);
          converts[std::size_t(k * G + g)](row + gr.gemm_col0, ref, 1, zp, &one);
          for (int j = 0; j < n_out_; ++j) acc[j] += one;
        }
      };
      // (Only where this block runs on one thread anyway: the loop below splits samples.)
      if (n_out_ <= narrow_outputs && (omp_in_parallel() || threads() == 1)) {
        // Pass by pass over the block: one noise call per block and each conversion's set-up
        // once per (plane, group), where a narrow array (a depthwise group: one output, a few
        // GEMM columns) would pay both per sample. Each output adds its passes in the same
        // (plane, group) order with the same operations as the loop below. An undriven pass is
        // converted here rather than skipped: with zero_converts_to_zero it reads an exact 0
        // and adds +0 to a sum that is never -0 (it starts at +0, and x + -x is +0): the same
        // bits (test_tile_narrow).
        thread_local std::vector<std::uint64_t> ids;
        thread_local std::vector<std::uint32_t> subs;
        thread_local std::vector<Eigen::Index> rows;
        thread_local std::vector<float> zs, zfull;
        thread_local std::vector<T> acc, d;
        const Eigen::Index R = Eigen::Index(P) * nb;
        if (read_noise) {
          // The driven passes listed branch-free: every entry written, the count advanced if driven.
          ids.resize(std::size_t(R));
          subs.resize(std::size_t(R));
          rows.resize(std::size_t(R));
          std::uint64_t* id = ids.data();
          std::uint32_t* su = subs.data();
          Eigen::Index* ro = rows.data();
          const std::uint8_t* dr = driven.data();
          std::size_t n = 0;
          for (Eigen::Index b = 0; b < nb; ++b)
            for (int k = 0; k < P; ++k) {
              id[n] = std::uint64_t(first + b0 + b);
              su[n] = sub_index(k, 0);
              ro[n] = k * nb + b;
              n += !know_driven || dr[std::size_t(k * nb + b)] != 0;
            }
          rows.resize(n);
          zs.resize(n * std::size_t(ncols));
          fill_normals_samples(read_key, ids.data(), subs.data(), int(n), zs.data(), ncols);
          // The draws in pass-row order, 0 on undriven rows: one vector loop over the block,
          // where an undriven row (current and variance +0) stays +0 + 0 * 0 = +0.
          zfull.assign(std::size_t(R) * std::size_t(ncols), 0.0f);
          for (std::size_t t = 0; t < rows.size(); ++t) {
            float* to = zfull.data() + std::size_t(rows[t]) * std::size_t(ncols);
            const float* from = zs.data() + t * std::size_t(ncols);
            for (int j = 0; j < ncols; ++j) to[j] = from[j];  // a few floats: no library call
          }
          T* c = cur.data();
          const float* zk = zfull.data();
          if (charge_noise_) {
            const T* sg = charge_sigma<T>().data();
            for (Eigen::Index r = 0; r < R; ++r, c += ncols, zk += ncols)
              for (int j = 0; j < ncols; ++j) c[j] = c[j] + sg[j] * T(zk[j]);
          } else {
            const T* vr = var.data();
            const std::size_t n = std::size_t(R) * std::size_t(ncols);
            for (std::size_t e = 0; e < n; ++e) c[e] = c[e] + std::sqrt(std::max(vr[e], T(0))) * T(zk[e]);
          }
        }
        acc.assign(std::size_t(nb) * std::size_t(n_out_), T(0));
        if (adc_noise) {
          ids.resize(std::size_t(nb));
          subs.resize(std::size_t(nb));
          for (Eigen::Index b = 0; b < nb; ++b) ids[std::size_t(b)] = std::uint64_t(first + b0 + b);
        }
        for (int k = 0; k < P; ++k)
          for (int g = 0; g < G; ++g) {
            const Group& gr = groups_[g];
            if (adc_noise) {
              std::fill(subs.begin(), subs.end(), sub_index(k, g));
              zs.resize(std::size_t(nb) * std::size_t(gr.width));
              fill_normals_samples(adc_key, ids.data(), subs.data(), int(nb), zs.data(), gr.width);
            }
            if (n_out_ == 1) {
              // One output (a depthwise group): the block's currents of this column side by side,
              // less the reference (d - 0 is d: the same value the ADC sees below), converted in
              // one vector loop.
              d.resize(std::size_t(nb));
              const T* c = cur.data() + std::size_t(k * nb) * std::size_t(ncols);
              for (Eigen::Index b = 0; b < nb; ++b, c += ncols)
                d[std::size_t(b)] = c[gr.gemm_col0] - (gr.analog_ref >= 0 ? c[gr.analog_ref] : T(0));
              converts[std::size_t(k * G + g)](d.data(), T(0), int(nb), adc_noise ? zs.data() : nullptr, acc.data());
              continue;
            }
            for (Eigen::Index b = 0; b < nb; ++b)
              convert_group(k, g, cur.row(k * nb + b).data(),
                            adc_noise ? zs.data() + std::size_t(b) * std::size_t(gr.width) : nullptr,
                            acc.data() + std::size_t(b) * std::size_t(n_out_));
          }
        for (Eigen::Index b = 0; b < nb; ++b) {
          T* o = out.row(b0 + b).data();
          const T* a = acc.data() + std::size_t(b) * std::size_t(n_out_);
          for (int j = 0; j < n_out_; ++j) o[j] = a[j] * scale[j];
        }
        return block_totals;
      }
      // Noise draws for the whole block, one vectorised pass per plane (and group); inside the
      // block-parallel loop below, this block's thread does them alone.
#pragma omp parallel if (!omp_in_parallel()) num_threads(threads())
      {
        std::vector<T> acc(static_cast<std::size_t>(n_out_));
        std::vector<float> z(static_cast<std::size_t>(std::max(ncols, n_out_)));
        std::vector<float> z_read(read_noise ? std::size_t(P) * ncols : 0);
        std::vector<T> noisy(static_cast<std::size_t>(ncols));
        std::vector<std::uint32_t> subs(static_cast<std::size_t>(P));
#pragma omp for schedule(static)
        for (Eigen::Index b = 0; b < nb; ++b) {
          std::fill(acc.begin(), acc.end(), T(0));
          const std::uint64_t sample = std::uint64_t(first + b0 + b);
          auto is_driven = [&](int k) { return !know_driven || driven[std::size_t(k * nb + b)] != 0; };
          int n_driven = 0;
          for (int k = 0; k < P; ++k)
            if (is_driven(k)) subs[std::size_t(n_driven++)] = sub_index(k, 0);
          // The read-noise rows of this sample's driven planes in one call (a draw depends on its
          // row and position only, never on which other rows are drawn).
          if (read_noise) fill_normals_rows(read_key, sample, subs.data(), n_driven, z_read.data(), ncols);
          for (int k = 0, t = 0; k < P; ++k) {
            const bool on = is_driven(k);
            if (!on && zero_converts_to_zero) continue;
            const Eigen::Index r = k * nb + b;
            const T* row = cur.row(r).data();
            if (read_noise && on) {
              const float* zk = z_read.data() + std::size_t(t) * ncols;
              if (charge_noise_) {
                const T* sg = charge_sigma<T>().data();
                for (int j = 0; j < ncols; ++j) noisy[j] = row[j] + sg[j] * T(zk[j]);
              } else {
                const T* vr = var.row(r).data();
                for (int j = 0; j < ncols; ++j)
                  noisy[j] = row[j] + std::sqrt(std::max(vr[j], T(0))) * T(zk[j]);
              }
              row = noisy.data();
            }
            t += on;
            for (int g = 0; g < G; ++g) {
              if (adc_noise) fill_normals(adc_key, sample, sub_index(k, g), z.data(), groups_[g].width);
              convert_group(k, g, row, adc_noise ? z.data() : nullptr, acc.data());
            }
          }
          T* o = out.row(b0 + b).data();
          for (int j = 0; j < n_out_; ++j) o[j] = acc[j] * scale[j];
        }
      }
      return block_totals;
    };
    // Blocks end at multiples of `block` in the sample stream (see sample_block()).
    const Eigen::Index blk = Eigen::Index(block);
    const Eigen::Index head = std::min<Eigen::Index>(B, blk - Eigen::Index(first % block));
    const Eigen::Index n_blocks = B == 0 ? 0 : 1 + (B - head + blk - 1) / blk;
    auto start = [&](Eigen::Index q) { return q == 0 ? Eigen::Index(0) : head + (q - 1) * blk; };
    auto length = [&](Eigen::Index q) { return std::min<Eigen::Index>(B - start(q), q == 0 ? head : blk); };
    if (sums_driven_rows() && n_blocks > 1 && !omp_in_parallel()) {
      // Small blocks with no BLAS call: each thread takes whole blocks (one parallel region per
      // forward, not three per block). A block's bits do not depend on who computes it, and the
      // energy is summed exactly.
#pragma omp parallel num_threads(threads())
      {
        RowMat<T> lv, cur, var;
        std::vector<std::uint8_t> driven;
        PassTotals mine;
#pragma omp for schedule(dynamic, 1)
        for (Eigen::Index q = 0; q < n_blocks; ++q) mine += run_block(start(q), length(q), lv, cur, var, driven);
#pragma omp critical(mho_tile_energy)
        sum += mine;
      }
    } else {
      RowMat<T> lv, cur, var;
      std::vector<std::uint8_t> driven;
      for (Eigen::Index q = 0; q < n_blocks; ++q) sum += run_block(start(q), length(q), lv, cur, var, driven);
    }
  }

  *totals += sum;
  return out;
}

template <typename T>
RowMat<T> Tile::forward(const Eigen::Ref<const RowMat<T>>& x, std::int64_t sample_offset) {
  check_input<T>(x, "forward");
  const bool need_dac = spec_.dac.range == "calibrated" && !dac_.is_ideal();
  const bool need_adc = spec_.adc.range == "calibrated" && spec_.adc.bits > 0;
  if ((need_dac || need_adc) && !calibrated_)
    throw std::logic_error(std::string("Tile.forward: the ") + (need_dac ? "DAC" : "ADC") +
                           " range is 'calibrated' but calibrate(X) was not called after program()");
  const std::int64_t first = sample_offset < 0 ? samples_seen_ : sample_offset;
  const Eigen::Index B = x.rows();
  const int P = dac_.num_planes();
  const int G = int(groups_.size());
  hold_operands<T>();
  PassTotals done;
  RowMat<T> out = read<T>(x, first, true, &done);

  std::uint64_t converted = 0;
  for (const Group& g : groups_) converted += std::uint64_t(g.width);
  last_ = TileCounters();
  const std::uint64_t passes = std::uint64_t(P) * std::uint64_t(B);
  last_.cell_reads = passes * std::uint64_t(n_in_) * std::uint64_t(n_phys_);
  last_.dac_conversions = passes * std::uint64_t(n_in_);
  last_.driven_rows = done.driven_rows;
  last_.adc_conversions = passes * converted;
  last_.shift_adds = std::uint64_t(B) * std::uint64_t(n_out_) * (std::uint64_t(P) * G - 1);
  last_.cell_energy_q = done.cell_energy;
  last_.samples = std::uint64_t(B);
  last_.forward_calls = 1;
  total_ += last_;
  samples_seen_ = first + B;
  return out;
}

#define MHO_TILE_INSTANTIATE(T)                                                              \
  template void Tile::calibrate<T>(const Eigen::Ref<const RowMat<T>>&);                      \
  template RowMat<T> Tile::forward<T>(const Eigen::Ref<const RowMat<T>>&, std::int64_t);
MHO_TILE_INSTANTIATE(float)
MHO_TILE_INSTANTIATE(double)

}  // namespace mho
