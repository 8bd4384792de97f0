#include "nets/pim_network.h"

#include "common/validate.h"

namespace mho {

namespace {
// Calibration reads use a disjoint part of each tile's noise stream.
constexpr std::int64_t kCalibrationStream = std::int64_t(1) << 50;
// Input rows a tile's ranges are calibrated on at most: an evenly strided subsample of its
// calibration inputs (percentiles of 1e4+ samples per column group are stable).
constexpr Eigen::Index kCalibrationRows = 16384;
}  // namespace

std::vector<MatrixLayer> matrix_layers(const Network& net) {
  std::vector<MatrixLayer> out;
  for (int i = 0; i < int(net.layers().size()); ++i) {
    const Layer& l = net.layers()[i];
    if (l.has_weights()) out.push_back({i, l.name, l.groups, l.matrix_rows(), l.matrix_cols()});
  }
  return out;
}

PimNetwork::PimNetwork(Network net, const TileSpec& spec, const std::map<int, int>& replication,
                       const LayerHardware& hardware)
    : net_(std::move(net)), mapping_(matrix_layers(net_), spec, replication, hardware) {
  for (const Layer& l : net_.layers())
    if (l.shape_only())
      reject("network '" + net_.name() + "'", "shape-only layers", "PIM inference needs weights (a zoo network is for cost studies)");
  const auto& pl = mapping_.placements();
  tiles_.reserve(pl.size());
  for (std::size_t k = 0; k < pl.size(); ++k) {
    tiles_.emplace_back(mapping_.spec(pl[k].layer), std::uint64_t(k));
    by_group_[{pl[k].layer, pl[k].group}].push_back(int(k));
  }
  for (int d : mapping_.digital_layers())
    for (int g = 0; g < net_.layers()[d].groups; ++g) digital_w_[{d, g}] = net_.weight_matrix(d, g);
  for (const auto& lm : mapping_.layers()) {
    const Shape& o = net_.output_shape(lm.layer);
    rows_per_sample_[lm.layer] = net_.layers()[lm.layer].kind == LayerKind::kConv2d ? (long long)o.h * o.w : 1;
  }
}

void PimNetwork::program(std::uint64_t chip) {
  const auto& pl = mapping_.placements();
  std::map<std::pair<int, int>, RowMat<float>> mats;
  for (std::size_t k = 0; k < pl.size(); ++k) {
    const Placement& p = pl[k];
    auto key = std::make_pair(p.layer, p.group);
    if (!mats.count(key)) mats[key] = net_.weight_matrix(p.layer, p.group);
    const RowMat<float>& w = mats[key];
    tiles_[k].program(w.block(p.row0, p.col0, p.rows, p.cols).cast<double>(), chip);
  }
  programmed_ = true;
  samples_ = 0;
  layer_counted_.clear();
}

void PimNetwork::set_time(double t_s) {
  if (!programmed_) throw std::logic_error("PimNetwork.set_time: call program(chip) first");
  for (Tile& t : tiles_) t.set_time(t_s);
}

void PimNetwork::calibrate(const Eigen::Ref<const RowMat<float>>& x) {
  if (!programmed_) throw std::logic_error("PimNetwork.calibrate: call program(chip) first");
  run(x, true);
}

RowMat<float> PimNetwork::forward(const Eigen::Ref<const RowMat<float>>& x) {
  if (!programmed_) throw std::logic_error("PimNetwork.forward: call program(chip) first");
  RowMat<float> y = run(x, false);
  samples_ += x.rows();
  return y;
}

RowMat<float> PimNetwork::run(const Eigen::Ref<const RowMat<float>>& x, bool calibrating) {
  // Called for several groups of a layer at once (each group's tiles are its own): shared
  // state is only read, except the counters, whose integer sums do not depend on the order.
  MatMul mm = [&](int layer, int group, const Eigen::Ref<const RowMat<float>>& p) {
    const Layer& l = net_.layers()[layer];
    if (mapping_.digital(layer)) {
      // The float network's own product (the same GEMM as Network::forward without tiles).
      RowMat<float> y;
      gemm<float>(p, digital_w_.at({layer, group}), y);
      return y;
    }
    RowMat<float> y = RowMat<float>::Zero(p.rows(), l.matrix_cols());
    const std::int64_t offset =
        (calibrating ? kCalibrationStream : 0) + samples_ * rows_per_sample_.at(layer);
    TileCounters counted;
    for (int k : by_group_.at({layer, group})) {
      const Placement& pl = mapping_.placements()[k];
      Tile& t = tiles_[k];
      const auto block = p.middleCols(pl.row0, pl.rows);
      if (calibrating) {
        const Eigen::Index stride = (block.rows() + kCalibrationRows - 1) / kCalibrationRows;
        if (stride <= 1) {
          t.calibrate<float>(block);
        } else {
          RowMat<float> sub((block.rows() + stride - 1) / stride, block.cols());
          for (Eigen::Index r = 0; r < sub.rows(); ++r) sub.row(r) = block.row(r * stride);
          t.calibrate<float>(sub);
        }
      }
      y.middleCols(pl.col0, pl.cols) += t.forward<float>(block, offset);
      counted += t.last_counters();
    }
    if (!calibrating) {
#pragma omp critical(mho_pim_network_counters)
      layer_counted_[layer] += counted;
    }
    return y;
  };
  return net_.forward(x, mm, true);
}

TileCounters PimNetwork::counters() const {
  TileCounters total;
  for (const auto& kv : layer_counted_) total += kv.second;
  return total;
}

}  // namespace mho
