#include "nets/zoo.h"

#include <functional>
#include <map>

#include "common/validate.h"

namespace mho {

namespace {

// Appends layers and returns their indices; `x` arguments are producer indices (-1: input).
class Builder {
 public:
  int conv(int x, int in, int out, int k, int stride = 1, int pad = 0, int groups = 1) {
    return conv2(x, in, out, k, k, stride, pad, pad, groups);
  }
  int conv2(int x, int in, int out, int kh, int kw, int stride, int ph, int pw, int groups = 1) {
    Layer l = base(LayerKind::kConv2d, x);
    l.in_ch = in;
    l.out_ch = out;
    l.kh = kh;
    l.kw = kw;
    l.stride_h = l.stride_w = stride;
    l.pad_h = ph;
    l.pad_w = pw;
    l.groups = groups;
    return push(l);
  }
  int conv_relu(int x, int in, int out, int k, int stride = 1, int pad = 0, int groups = 1) {
    return relu(conv(x, in, out, k, stride, pad, groups));
  }
  int linear(int x, int in, int out) {
    Layer l = base(LayerKind::kLinear, x);
    l.in_ch = in;
    l.out_ch = out;
    return push(l);
  }
  int relu(int x) { return push(base(LayerKind::kReLU, x)); }
  int pool(LayerKind kind, int x, int k, int stride, int pad = 0) {
    Layer l = base(kind, x);
    l.kh = l.kw = k;
    l.stride_h = l.stride_w = stride;
    l.pad_h = l.pad_w = pad;
    return push(l);
  }
  int maxpool(int x, int k, int s, int p = 0) { return pool(LayerKind::kMaxPool, x, k, s, p); }
  int avgpool(int x, int k, int s, int p = 0) { return pool(LayerKind::kAvgPool, x, k, s, p); }
  int gap(int x) { return push(base(LayerKind::kGlobalAvgPool, x)); }
  int flatten(int x) { return push(base(LayerKind::kFlatten, x)); }
  int add(int a, int b) {
    Layer l = base(LayerKind::kAdd, a);
    l.inputs.push_back(b);
    return push(l);
  }
  int concat(const std::vector<int>& xs) {
    Layer l = base(LayerKind::kConcat, xs[0]);
    l.inputs = xs;
    return push(l);
  }
  Network build(const std::string& name, Shape in) { return Network(name, in, layers_); }

 private:
  Layer base(LayerKind k, int x) {
    Layer l;
    l.kind = k;
    l.inputs = {x};
    l.name = kind_name(k) + std::to_string(layers_.size());
    return l;
  }
  int push(const Layer& l) {
    layers_.push_back(l);
    return int(layers_.size()) - 1;
  }
  std::vector<Layer> layers_;
};

// The two 4096-wide hidden layers and 1000-class output of AlexNet and VGG.
void fc4096_head(Builder& b, int x, int in) {
  x = b.relu(b.linear(b.flatten(x), in, 4096));
  x = b.relu(b.linear(x, 4096, 4096));
  b.linear(x, 4096, 1000);
}

// LeNet-5 (LeCun et al. 1998) on 28x28 digits padded by 2 (the usual 32x32 geometry).
Network lenet5() {
  Builder b;
  int x = b.maxpool(b.conv_relu(-1, 1, 6, 5, 1, 2), 2, 2);
  x = b.maxpool(b.conv_relu(x, 6, 16, 5), 2, 2);
  x = b.relu(b.linear(b.flatten(x), 400, 120));
  x = b.relu(b.linear(x, 120, 84));
  b.linear(x, 84, 10);
  return b.build("lenet5", {1, 28, 28});
}

// AlexNet, single-tower form (as in torchvision), 224x224.
Network alexnet() {
  Builder b;
  int x = b.maxpool(b.conv_relu(-1, 3, 64, 11, 4, 2), 3, 2);
  x = b.maxpool(b.conv_relu(x, 64, 192, 5, 1, 2), 3, 2);
  x = b.conv_relu(x, 192, 384, 3, 1, 1);
  x = b.conv_relu(x, 384, 256, 3, 1, 1);
  x = b.maxpool(b.conv_relu(x, 256, 256, 3, 1, 1), 3, 2);
  fc4096_head(b, x, 256 * 6 * 6);
  return b.build("alexnet", {3, 224, 224});
}

// AlexNet as published (Krizhevsky et al. 2012; the BVLC Caffe reference shapes, 227x227):
// conv2, conv4 and conv5 split into two groups (the paper's two GPU towers). These are the
// layer shapes of the Eyeriss dataflow study (Chen et al., ISCA 2016, table II): 666 M
// convolution MACs. Local response normalisation is left out (no weights, no MACs).
Network alexnet_caffe() {
  Builder b;
  int x = b.maxpool(b.conv_relu(-1, 3, 96, 11, 4, 0), 3, 2);
  x = b.maxpool(b.conv_relu(x, 96, 256, 5, 1, 2, 2), 3, 2);
  x = b.conv_relu(x, 256, 384, 3, 1, 1);
  x = b.conv_relu(x, 384, 384, 3, 1, 1, 2);
  x = b.maxpool(b.conv_relu(x, 384, 256, 3, 1, 1, 2), 3, 2);
  fc4096_head(b, x, 256 * 6 * 6);
  return b.build("alexnet_caffe", {3, 227, 227});
}

// VGG-8 for 32x32x3 CIFAR-10 images as NeuroSim V1.4 ships it (DNN_NeuroSim_V1.4,
// Inference_pytorch/NeuroSIM/NetWork_VGG8.csv and models/VGG.py): 3x3 convolutions with
// padding 1 and ReLU, 128-128, 256-256, 512-512 channels, a 2x2 max-pool after each pair,
// then 8192 -> 1024 (ReLU) -> 10. The design examples/configs/neurosim_vgg8.yaml costs it.
Network vgg8_neurosim() {
  Builder b;
  int x = -1, c = 3;
  for (int out : {128, 256, 512}) {
    for (int k = 0; k < 2; ++k) {
      x = b.conv_relu(x, c, out, 3, 1, 1);
      c = out;
    }
    x = b.maxpool(x, 2, 2);
  }
  x = b.relu(b.linear(b.flatten(x), 512 * 4 * 4, 1024));
  b.linear(x, 1024, 10);
  return b.build("vgg8_neurosim", {3, 32, 32});
}

// VGG-16 (Simonyan & Zisserman 2015, configuration D).
Network vgg16() {
  Builder b;
  int x = -1, c = 3;
  for (auto block : std::vector<std::pair<int, int>>{{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}}) {
    for (int k = 0; k < block.second; ++k) {
      x = b.conv_relu(x, c, block.first, 3, 1, 1);
      c = block.first;
    }
    x = b.maxpool(x, 2, 2);
  }
  fc4096_head(b, x, 512 * 7 * 7);
  return b.build("vgg16", {3, 224, 224});
}

// GoogLeNet v1 (Szegedy et al. 2015, table 1), without the auxiliary classifiers.
Network googlenet() {
  Builder b;
  int x = b.maxpool(b.conv_relu(-1, 3, 64, 7, 2, 3), 3, 2, 1);
  x = b.conv_relu(x, 64, 64, 1);
  x = b.maxpool(b.conv_relu(x, 64, 192, 3, 1, 1), 3, 2, 1);
  int c = 192;
  auto inception = [&](int n1, int r3, int n3, int r5, int n5, int np) {
    const int a = b.conv_relu(x, c, n1, 1);
    const int b3 = b.conv_relu(b.conv_relu(x, c, r3, 1), r3, n3, 3, 1, 1);
    const int b5 = b.conv_relu(b.conv_relu(x, c, r5, 1), r5, n5, 5, 1, 2);
    const int p = b.conv_relu(b.maxpool(x, 3, 1, 1), c, np, 1);
    x = b.concat({a, b3, b5, p});
    c = n1 + n3 + n5 + np;
  };
  inception(64, 96, 128, 16, 32, 32);    // 3a
  inception(128, 128, 192, 32, 96, 64);  // 3b
  x = b.maxpool(x, 3, 2, 1);
  inception(192, 96, 208, 16, 48, 64);    // 4a
  inception(160, 112, 224, 24, 64, 64);   // 4b
  inception(128, 128, 256, 24, 64, 64);   // 4c
  inception(112, 144, 288, 32, 64, 64);   // 4d
  inception(256, 160, 320, 32, 128, 128); // 4e
  x = b.maxpool(x, 3, 2, 1);
  inception(256, 160, 320, 32, 128, 128); // 5a
  inception(384, 192, 384, 48, 128, 128); // 5b
  b.linear(b.flatten(b.gap(x)), 1024, 1000);
  return b.build("googlenet", {3, 224, 224});
}

// ResNet-50 (He et al. 2016), v1.5 stride placement (stride on the 3x3 conv, as torchvision).
Network resnet50() {
  Builder b;
  int x = b.maxpool(b.conv_relu(-1, 3, 64, 7, 2, 3), 3, 2, 1);
  int c = 64;
  for (auto stage : std::vector<std::pair<int, int>>{{64, 3}, {128, 4}, {256, 6}, {512, 3}}) {
    const int mid = stage.first, out = 4 * mid;
    for (int k = 0; k < stage.second; ++k) {
      const int stride = (k == 0 && mid != 64) ? 2 : 1;
      int y = b.conv_relu(x, c, mid, 1);
      y = b.conv_relu(y, mid, mid, 3, stride, 1);
      y = b.conv(y, mid, out, 1);
      const int shortcut = (k == 0) ? b.conv(x, c, out, 1, stride) : x;
      x = b.relu(b.add(y, shortcut));
      c = out;
    }
  }
  b.linear(b.flatten(b.gap(x)), 2048, 1000);
  return b.build("resnet50", {3, 224, 224});
}

// MobileNet v1 (Howard et al. 2017), width 1.0, 224x224.
Network mobilenet_v1() {
  Builder b;
  int x = b.conv_relu(-1, 3, 32, 3, 2, 1);
  int c = 32;
  const std::vector<std::pair<int, int>> dw = {{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
                                               {512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
                                               {1024, 2}, {1024, 1}};
  for (auto [out, stride] : dw) {
    x = b.conv_relu(x, c, c, 3, stride, 1, c);  // depthwise
    x = b.conv_relu(x, c, out, 1);             // pointwise
    c = out;
  }
  b.linear(b.flatten(b.gap(x)), 1024, 1000);
  return b.build("mobilenet_v1", {3, 224, 224});
}

const std::map<std::string, std::function<Network()>>& registry() {
  static const std::map<std::string, std::function<Network()>> r = {
      {"lenet5", lenet5}, {"alexnet", alexnet}, {"alexnet_caffe", alexnet_caffe}, {"vgg16", vgg16},
      {"googlenet", googlenet}, {"resnet50", resnet50}, {"mobilenet_v1", mobilenet_v1}, {"vgg8_neurosim", vgg8_neurosim}};
  return r;
}

}  // namespace

Network mvm_network(int inputs, int outputs) {
  // 2^24 inputs or outputs is past any array study (a 4096 x 4096 array is 2^24 cells).
  require_in("mvm_network(inputs)", inputs, 1, 1 << 24);
  require_in("mvm_network(outputs)", outputs, 1, 1 << 24);
  Builder b;
  b.linear(b.flatten(-1), inputs, outputs);
  return b.build("mvm_" + std::to_string(inputs) + "x" + std::to_string(outputs), {inputs, 1, 1});
}

Network zoo_network(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) require_one_of("zoo network", name, zoo_names());
  return it->second();
}

std::vector<std::string> zoo_names() {
  std::vector<std::string> n;
  for (const auto& kv : registry()) n.push_back(kv.first);
  return n;
}

}  // namespace mho
