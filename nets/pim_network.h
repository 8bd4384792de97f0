// PimNetwork: a Network whose conv/linear layers run on crossbar tiles placed by a Mapping;
// every other layer runs digitally in float.
//
// Life cycle: program(chip) draws one simulated chip (each placement is a Tile with its own
// tile id, so programming error, faults and noise are independent per array and keyed by
// (seed, chip, tile)); set_time(t) ages it; calibrate(x) sets the DAC/ADC ranges of every
// tile from the inputs it sees when x (training data, never the test set) flows through the
// network -- layer by layer, so each tile is calibrated on the outputs of the tiles before
// it; forward(x) runs a batch. Row blocks' partial sums are added digitally after the ADCs.
// Replicas (Mapping replication) are counted for cost; all inputs run on the first copy.
// Per-layer hardware (mapping/mapping.h LayerHardware): a layer's tiles use its own TileSpec;
// a digital layer's product is computed in float (the network's own weights, exact).
// Read noise of a tile is keyed by the position of each input row in the tile's stream since
// program(), so a dataset streamed in any batch split gives identical results.
// Thread-safety: not safe for concurrent calls on one object; parallel inside. Separate
// objects (e.g. two chips) may run on separate threads (Python releases the GIL for them).
#pragma once

#include <map>
#include <vector>

#include "crossbar/tile.h"
#include "mapping/mapping.h"
#include "nets/network.h"

namespace mho {

std::vector<MatrixLayer> matrix_layers(const Network& net);

class PimNetwork {
 public:
  PimNetwork(Network net, const TileSpec& spec, const std::map<int, int>& replication = {},
             const LayerHardware& hardware = {});

  const Network& network() const { return net_; }
  const Mapping& mapping() const { return mapping_; }

  void program(std::uint64_t chip);
  void set_time(double t_s);
  void calibrate(const Eigen::Ref<const RowMat<float>>& x);
  RowMat<float> forward(const Eigen::Ref<const RowMat<float>>& x);

  // Cumulative action counts of all tiles since program() (calibration not counted).
  TileCounters counters() const;
  // The same per conv/linear layer (layer index -> counts), and the inferences they cover.
  const std::map<int, TileCounters>& layer_counters() const { return layer_counted_; }
  long long inferences() const { return samples_; }

 private:
  RowMat<float> run(const Eigen::Ref<const RowMat<float>>& x, bool calibrating);
  Network net_;
  Mapping mapping_;
  std::vector<Tile> tiles_;                     // one per placement
  std::map<std::pair<int, int>, std::vector<int>> by_group_;  // (layer, group) -> placements
  std::map<std::pair<int, int>, RowMat<float>> digital_w_;     // (layer, group) -> a digital layer's weights
  std::map<int, long long> rows_per_sample_;   // layer -> im2col rows per input sample
  bool programmed_ = false;
  long long samples_ = 0;
  std::map<int, TileCounters> layer_counted_;
};

}  // namespace mho
