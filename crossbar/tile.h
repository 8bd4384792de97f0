// Tile: one crossbar array holding one weight block, with its DAC, ADC and shift-and-add.
//
// Life cycle: Tile(spec, tile_id) -> program(W, chip) once per simulated chip (programming
// error, stuck cells and drift exponents are drawn here, keyed by (seed, chip, tile_id)) ->
// optionally set_time(t) to age the array -> calibrate(X) when a range is "calibrated" ->
// forward(X) on batches. forward() returns batch x outputs in weight * input units, so an
// ideal tile returns X * W.
//
// Reproducibility: read and ADC noise of sample s (the s-th input vector since program(),
// or sample_offset + row) is keyed by s, so the same seed gives bit-identical results for
// any thread count and any split of a batch into calls.
//
// Drift compensation (TileSpec.drift_compensation) is a read, not an oracle: the tile drives
// kDriftReferenceReads known inputs (full-scale 0/1 rows of a Sylvester-Hadamard matrix; the
// first is all ones) through the DAC, the array with its read noise and the ADC, once for the
// state right after programming (t = 0) and once at the current time, and scales output j by
// sum_k |y_kj(0)| / sum_k |y_kj(t)| ("per_column") or the same ratio summed over all outputs
// ("global"). Both reads use the ADC and DAC ranges in place (redone after calibrate()), so
// the estimate's own quantization and noise are part of the result. Reference reads draw
// their noise from samples past 2^62, keyed by the campaign's time, and are not counted.
// Read noise with CellSpec.read_noise_draw = "frozen" is drawn once per cell at set_time(t)
// (keyed by t), so a campaign's reads, reference reads included, share it.
//
// Charge accumulation (TileSpec.accumulation = "charge", crossbar/charge_domain.h): the
// "conductance" matrices hold the charge-sharing array in units such that the line voltage is
// v_read x (drive levels . column), a level worth delta_g = (line volts per level) / v_read.
// The DAC, ADC and shift-and-add paths are shared; the ADC's input and ranges (adc_ranges())
// are then the line voltages in volts.
// Every readout adds the kT/C noise of its lines (one Gaussian per converted column, variance
// summed over the lines it subtracts) and their injection offsets; a readout with no row
// driven still converts noise and offset, so no pass is skipped.
//
// Thread-safety: a Tile is not safe for concurrent calls (forward advances its sample
// counter and action counters); it parallelises internally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <Eigen/Dense>

#include "adc_dac/dac.h"
#include "crossbar/counters.h"
#include "crossbar/gemm.h"
#include "crossbar/tile_spec.h"
#include "devices/cell_model.h"

namespace mho {

class Tile {
 public:
  explicit Tile(TileSpec spec, std::uint64_t tile_id = 0);

  const TileSpec& spec() const { return spec_; }
  std::uint64_t tile_id() const { return tile_id_; }

  // W: inputs x outputs, must fit the array. Resets time to 0, counters' sample stream
  // position to 0 and any calibration.
  void program(const Eigen::Ref<const Eigen::MatrixXd>& w, std::uint64_t chip = 0);
  bool programmed() const { return programmed_; }

  // Ages the programmed array to t_s seconds after programming (drift, 1/f read noise).
  void set_time(double t_s);
  double time() const { return t_s_; }

  template <typename T>
  void calibrate(const Eigen::Ref<const RowMat<T>>& x);
  bool calibrated() const { return calibrated_; }

  // sample_offset < 0: continue after the samples already processed.
  template <typename T>
  RowMat<T> forward(const Eigen::Ref<const RowMat<T>>& x, std::int64_t sample_offset = -1);

  int num_inputs() const { return n_in_; }
  int num_outputs() const { return n_out_; }
  int num_slices() const { return n_slices_; }
  int physical_columns() const { return n_phys_; }
  // Programmed conductances at the current time (rows used x physical columns used), S.
  // The tile keeps no per-cell copy of these (see state_bytes()): each call recomputes them
  // from the weights and the seeded draws, the same bits program() and set_time() used.
  Eigen::MatrixXd conductances() const;
  Eigen::MatrixXd programmed_conductances() const;
  Eigen::MatrixXd drift_exponents() const;
  // Target (error-free) conductances, S.
  Eigen::MatrixXd target_conductances() const;
  // Bytes this tile holds: the object and every buffer it owns (the spec's strings aside, a
  // few KiB whatever the array's size). Per cell: state_bytes() / (num_inputs() x
  // physical_columns()), counting every device (both of a differential pair, every slice,
  // the reference columns). What is kept: the weights (double, one per weight, to redraw
  // the cells), and the product's value matrix and, with read noise, its variance matrix,
  // one copy each in the precision of the last read (double after program() and set_time()).
  std::size_t state_bytes() const;
  double dac_range() const { return x_max_; }
  // Seconds spent solving the wire network at the last program()/set_time() (0 without wires).
  double wire_factor_seconds() const { return wire_factor_seconds_; }
  // Drift-compensation factor per output (all ones with compensation off).
  const Eigen::VectorXd& drift_scale() const { return alpha_; }
  // ADC full scale in amperes for each (plane, conversion group).
  std::vector<std::vector<double>> adc_ranges() const { return adc_range_; }

  const TileCounters& last_counters() const { return last_; }
  const TileCounters& total_counters() const { return total_; }
  void reset_counters() { last_ = total_ = TileCounters(); }

  // Tiles of at most this many outputs convert a block pass by pass instead of sample by
  // sample (the same bits either way). Tests set it to compare the two loops; not thread-safe.
  static int narrow_outputs;

 private:
  // Columns of the GEMM and how their currents become ADC conversions.
  struct Component {
    int phys_col;
    double sign;
  };
  struct Group {
    int gemm_col0;      // first GEMM column
    int width;          // n_out, or 1 for a reference column converted on its own
    int analog_ref;     // GEMM column subtracted in analog before conversion, or -1
    double coeff;       // digital weight: +-2^(slice * bits_per_cell)
    bool is_signed;     // the ADC spans [-R, R]
    double span_S;      // conductance span behind the largest current (fixed range)
  };

  void check_ready(const char* what) const;
  // The array's state t_s after programming: drift, read-noise variances (or the frozen
  // draw), and the product's operands.
  void age(double t_s);
  // Re-estimates alpha_ from reference reads (see above); the baseline is re-read when stale.
  void update_drift_compensation();
  // Per output: sum over the reference inputs of |output| at the current state, uncompensated.
  Eigen::VectorXd reference_read_sums();
  // What the passes of a read did, in integers (exact whatever the grouping of passes): the
  // cells' energy and the row drives with a nonzero code (TileCounters::driven_rows).
  struct PassTotals {
    EnergyQ cell_energy = 0;
    std::uint64_t driven_rows = 0;
    PassTotals& operator+=(const PassTotals& o) {
      cell_energy += o.cell_energy;
      driven_rows += o.driven_rows;
      return *this;
    }
  };
  // The passes, conversions and shift-and-add of forward() for samples first .. first + B;
  // adds what the passes did to *totals. `compensate`: scale by alpha_.
  template <typename T>
  RowMat<T> read(const Eigen::Ref<const RowMat<T>>& x, std::int64_t first, bool compensate,
                 PassTotals* totals) const;
  template <typename T>
  void check_input(const Eigen::Ref<const RowMat<T>>& x, const char* what) const;
  // The cells as programmed (conductances and drift exponents), drawn again from the weights
  // and the (seed, chip, tile) streams: a pure function of them, so every call gives the
  // same bits. `c_line_F` (charge accumulation) receives the lines' capacitances.
  struct Cells {
    Eigen::MatrixXd g0, nu;
  };
  Eigen::MatrixXd target() const;
  // `supply_row` (charge) the charge each row's capacitors draw from the supply per pass at unit
  // drive (ChargeArray::supply summed over the row), units of C_u V_DD.
  Cells programmed_cells(Eigen::VectorXd* c_line_F = nullptr, Eigen::VectorXd* supply_row = nullptr) const;
  // The cells t_s after programming: conductances (frozen read noise included) and per-read
  // noise variances.
  void aged_cells(double t_s, const Cells& c, Eigen::MatrixXd* g_t, Eigen::MatrixXd* sig2) const;
  void rebuild_gemm_operands(const Eigen::MatrixXd& g_t, const Eigen::MatrixXd& sig2);
  // Makes the product's operands available in precision T, keeping one precision only: float
  // ones are the double ones rounded, double ones are rebuilt from the cells (age(t_s_)).
  template <typename T>
  void hold_operands();
  double fixed_adc_range(const Group& g) const;
  bool charge() const { return spec_.accumulation == "charge"; }
  // The I-V nonlinearity applies (current accumulation with a nonlinear cell).
  bool nonlinear() const { return spec_.nonlinear_iv && spec_.cell.iv != "linear" && !charge(); }
  // Charge accumulation: every readout carries noise or an offset (no pass reads an exact zero).
  bool charge_readout_terms() const { return charge_noise_ || charge_offset_; }
  // One-bit planes (levels 0 or +-1) on an array whose matrices fit in L2: the product sums
  // the driven rows (crossbar/level_product.h), no BLAS. Depends on the spec and shape only.
  bool sums_driven_rows() const;
  // Samples per block of forward()/calibrate(); depends on the tile's shape only.
  std::int64_t block_samples() const;
  // Column currents of every pass (rows: plane-major, then sample) in units such that
  // amperes = currents * returned factor * v_read.
  // With read noise on the aggregate path, `variance` receives the per-output read-noise
  // variance (same units squared) and the noise is drawn by the caller; the per-cell path
  // draws it here and leaves `variance` empty.
  // If `totals` is given, it receives the energy the cells dissipate in these passes (fixed
  // point, counters.h) and the row drives with a nonzero code. If `driven` is given, it is left empty, or (one-bit planes)
  // receives per pass whether any row was driven: an undriven pass reads exactly zero current.
  template <typename T>
  double analog_currents(const Eigen::Ref<const RowMat<T>>& x, std::int64_t first_sample,
                         bool noise, RowMat<T>* levels, RowMat<T>* currents,
                         RowMat<T>* variance, PassTotals* totals = nullptr,
                         std::vector<std::uint8_t>* driven = nullptr) const;
  // The cells' energy, J, for linear cells driven at levels lv * scale (of v_read):
  // t_read v^2 scale^2 sum_r sum_i lv_ri^2 g_row_i; charge accumulation: the supply's,
  // C_u V_DD^2 scale sum_r sum_i |lv_ri| g_row_i (crossbar/charge_domain.h).
  template <typename T>
  EnergyQ level_energy(const Eigen::Ref<const RowMat<T>>& lv, double scale) const;
  // t_read v^2 scale^2 times the sum of per-row sums, added in row order.
  EnergyQ cells_energy(const std::vector<double>& row_sums, double scale) const;
  template <typename T>
  const RowMat<T>& gemm_matrix() const;
  template <typename T>
  const RowMat<T>& gemm_variance() const;

  TileSpec spec_;
  std::uint64_t tile_id_;
  CellModel cell_;
  Dac dac_;

  bool programmed_ = false, calibrated_ = false;
  std::uint64_t chip_ = 0;
  int n_in_ = 0, n_out_ = 0, n_slices_ = 1, n_phys_ = 0, level_max_ = 1;
  double delta_g_ = 0.0;
  Eigen::VectorXd w_unit_;  // weight per unit of level difference, per output
  Eigen::MatrixXd w_;       // the programmed weights, from which the cells are redrawn
  Eigen::VectorXd w_lsb_;   // weight per code step, per output
  // Per row: sum over physical columns of the conductances now, S; charge accumulation: of the
  // supply charge at unit drive, C_u V_DD (the cells' energy, level_energy()).
  Eigen::VectorXd g_row_sum_;
  std::vector<std::vector<Component>> gemm_cols_;
  std::vector<Group> groups_;
  // The product's value and variance matrices (rows used x GEMM columns), in one precision
  // at a time (hold_operands()); the variance is empty without read noise.
  enum class Held : std::uint8_t { kNone, kFloat, kDouble };
  Held held_ = Held::kNone;
  RowMat<float> m_f_, s_f_;
  RowMat<double> m_d_, s_d_;
  bool has_read_noise_ = false;
  // Charge accumulation: capacitance per physical line; kT/C sigma and offset per GEMM column,
  // in the units of the column currents.
  Eigen::VectorXd c_line_F_;
  std::vector<float> charge_sigma_f_, charge_offset_f_;
  std::vector<double> charge_sigma_d_, charge_offset_d_;
  bool charge_noise_ = false, charge_offset_ = false;
  template <typename T>
  const std::vector<T>& charge_sigma() const;
  template <typename T>
  const std::vector<T>& charge_offset() const;
  double wire_factor_seconds_ = 0.0;
  double t_s_ = 0.0, x_max_ = 1.0;
  Eigen::VectorXd alpha_;          // drift compensation per output
  Eigen::VectorXd baseline_sums_;  // reference_read_sums() right after programming
  bool baseline_valid_ = false;
  std::vector<std::vector<double>> adc_range_;  // [plane][group], amperes
  std::int64_t samples_seen_ = 0;
  TileCounters last_, total_;
};

}  // namespace mho
