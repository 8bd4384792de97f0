// Network: a graph of layers with an input shape, validated on construction.
//
// Promises: shapes of every layer are inferred and checked (a mismatch names the layer);
// fold_batchnorm() folds each BatchNorm that directly follows a conv/linear whose output
// nothing else reads into that layer's weights and bias; forward() runs a batch through the
// graph with the products of conv/linear layers delegated to a MatMul (float GEMM for the
// reference, mapped crossbar tiles for PIM inference), everything else in float.
// MAC and weight counts follow the convention in count_macs(). Thread-safety: const methods
// are safe; forward() is as safe as the MatMul it is given.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "crossbar/gemm.h"
#include "nets/layer.h"

namespace mho {

// Computes X * W_g for layer `layer`, group `group`: X is (rows x matrix_rows) im2col
// patches, the result (rows x matrix_cols) without bias.
using MatMul = std::function<RowMat<float>(int layer, int group, const Eigen::Ref<const RowMat<float>>& x)>;

class Network {
 public:
  Network(std::string name, Shape input, std::vector<Layer> layers);

  const std::string& name() const { return name_; }
  const Shape& input_shape() const { return input_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const Shape& output_shape(int layer) const { return shapes_.at(std::size_t(layer)); }
  int output_layer() const { return int(layers_.size()) - 1; }

  // One group's weight matrix: (in/groups * kh * kw) x (out/groups), row order (c, r, s).
  RowMat<float> weight_matrix(int layer, int group) const;

  // Returns the number of BatchNorm layers folded.
  int fold_batchnorm();

  // x: batch x input_shape.size() -> batch x output size. Without a MatMul: float GEMM.
  // concurrent_groups: mm may be called for several groups of one layer at once (from
  // OpenMP threads, each group once); a grouped convolution then runs its groups side by side
  // instead of parallelising each small product on its own.
  RowMat<float> forward(const Eigen::Ref<const RowMat<float>>& x, const MatMul& mm = nullptr,
                        bool concurrent_groups = false) const;

  // MACs per inference of one layer: conv = out_h * out_w * out_ch * (in_ch/groups) * kh * kw,
  // linear = in * out; other layers 0 (pooling, BN, adds are not MACs).
  long long macs(int layer) const;
  long long total_macs() const;
  // Weights (no biases) of one layer.
  long long weights(int layer) const;
  long long total_weights() const;

 private:
  void infer_shapes();
  std::string name_;
  Shape input_;
  std::vector<Layer> layers_;
  std::vector<Shape> shapes_;
};

}  // namespace mho
