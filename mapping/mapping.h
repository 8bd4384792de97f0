// Mapping: each conv/linear layer of a Network onto crossbar tiles of one TileSpec.
//
// A layer's weight matrix per group, (in/groups * kh * kw) rows x (out/groups) columns
// (im2col order), is cut into row blocks of at most `rows` (their partial sums are added
// digitally after the ADCs) and column blocks of at most TileSpec::max_outputs() outputs
// (slices and sign or reference columns count as physical columns). Groups whose whole
// matrix fits one array (depthwise convolutions) are packed block-diagonally, as many per
// array as fit in rows and columns; each packed group is driven in its own pass (the other
// groups' rows at 0 V), so it computes exactly as if alone. The other groups' cells on the
// driven rows (programmed zero weights, at g_min) are taken as carrying no current: their
// columns are not selected in that pass. With every bitline held at virtual ground they would
// conduct, and neither the tiles nor the cost model count that energy (an assumption).
// PimNetwork simulates each packed group as its own Tile (tile id = placement index). replication[layer] = r
// allocates r copies of a layer's arrays (throughput; every copy holds the same weights).
// Utilization = cells holding weight data (each weight's slice and sign cells) / cells of
// all allocated arrays (rows x cols each).
// Per-layer hardware (LayerHardware): a layer may use its own TileSpec (its arrays are that
// spec's) or stay digital: then it has no placements and no LayerMapping, and its products
// run on the chip's digital datapath (PimNetwork computes them in float; the cost model
// prices them as digital MACs, evaluator/pim_cost.h).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "crossbar/tile_spec.h"

namespace mho {

// One layer's weight matrices, as nets/ describes them: `groups` matrices of rows x cols.
struct MatrixLayer {
  int layer;
  std::string name;
  int groups, rows, cols;
};

struct Placement {
  int layer, group;
  int row0, rows;  // block of the group's weight matrix
  int col0, cols;
  int array;       // physical array index (packed groups share one)
};

// Which hardware each conv/linear layer uses, by layer index: `specs` overrides the mapping's
// TileSpec for a layer; a layer in `digital` is not mapped on arrays.
struct LayerHardware {
  std::map<int, TileSpec> specs;
  std::set<int> digital;
  bool empty() const { return specs.empty() && digital.empty(); }
};

struct LayerMapping {
  int layer;
  std::string name;
  int groups, matrix_rows, matrix_cols;  // per group
  int row_blocks, col_blocks, groups_per_array, replication;
  int arrays;                            // including replicas
  long long weight_cells, allocated_cells;
  double utilization() const { return allocated_cells ? double(weight_cells) / allocated_cells : 0.0; }
};

class Mapping {
 public:
  Mapping(const std::vector<MatrixLayer>& layers, const TileSpec& spec,
          const std::map<int, int>& replication = {}, const LayerHardware& hardware = {});

  const std::vector<Placement>& placements() const { return placements_; }
  // Layers on arrays, in network order (digital layers are not among them).
  const std::vector<LayerMapping>& layers() const { return layers_; }
  // The mapping's TileSpec: every mapped layer's unless `hardware` gave it its own.
  const TileSpec& spec() const { return spec_; }
  const TileSpec& spec(int layer) const;
  const std::set<int>& digital_layers() const { return digital_; }
  bool digital(int layer) const { return digital_.count(layer) > 0; }
  int arrays() const { return arrays_; }
  long long weight_cells() const;
  long long allocated_cells() const;
  double utilization() const;
  std::string summary() const;

 private:
  TileSpec spec_;
  std::map<int, TileSpec> layer_specs_;  // layers whose spec differs from spec_
  std::set<int> digital_;
  std::vector<Placement> placements_;
  std::vector<LayerMapping> layers_;
  int arrays_ = 0;
};

}  // namespace mho
