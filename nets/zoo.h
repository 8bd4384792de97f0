// Model zoo: layer shapes (no weights) of well-known networks, for cost and mapping studies.
// Counting convention (Network::macs): conv and linear layers only; a conv layer performs
// out_h * out_w * out_ch * (in_ch / groups) * kh * kw MACs, a linear layer in * out;
// weights exclude biases and BatchNorm parameters. BatchNorm is left out of the shapes (it
// folds into the preceding conv at inference). Auxiliary classifiers are not included.
#pragma once

#include <string>
#include <vector>

#include "nets/network.h"

namespace mho {

// Names: lenet5, alexnet (torchvision), alexnet_caffe (as published, grouped), vgg16,
// googlenet, resnet50, mobilenet_v1. Throws
// std::invalid_argument naming the allowed names for an unknown one.
Network zoo_network(const std::string& name);
std::vector<std::string> zoo_names();

// One matrix-vector product: a linear layer of `inputs` x `outputs` weights on an input of
// `inputs` channels (1 x 1), named mvm_<inputs>x<outputs>. What a macro's published figures
// describe (evaluator: mho validate). Throws std::invalid_argument outside 1 to 2^24.
Network mvm_network(int inputs, int outputs);

}  // namespace mho
