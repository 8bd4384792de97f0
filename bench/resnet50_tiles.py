"""bench case resnet50_tiles: ResNet-50 (random weights, seeded) converted by mho.torch onto the
default design (data/default_design.yaml: 256x256 arrays, 8-bit weights on four 2-bit slices,
differential pairs, 8-bit bit-serial inputs, 8-bit calibrated ADCs), programmed as one chip,
calibrated on CALIB_IMAGES 224x224 images, then run on IMAGES images in one batch. Prints one
JSON line: peak_rss_mib (the process's peak resident memory), program_calibrate_seconds,
seconds_per_image, the tiles and cells placed and the tiles' state bytes per cell
(Tile.state_bytes).

The network is torchvision's resnet50() definition written out here (torchvision is not a
Debian package for this torch): He et al., "Deep Residual Learning for Image Recognition",
CVPR 2016, Table 1 (50-layer: bottleneck blocks [3, 4, 6, 3], widths 64-128-256-512, expansion
4), with torchvision's choices: the stride on each block's 3x3 convolution (ResNet v1.5),
1x1 projection shortcuts with batch norm, Kaiming-normal (fan_out) convolution weights, batch
norm weight 1 and bias 0, a 1000-way nn.Linear."""
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mho  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

IMAGES = int(os.environ.get("MHO_BENCH_IMAGES", "4"))
CALIB_IMAGES = int(os.environ.get("MHO_BENCH_CALIB_IMAGES", "2"))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._layer(64, 3)
        self.layer2 = self._layer(128, 4, stride=2)
        self.layer3 = self._layer(256, 6, stride=2)
        self.layer4 = self._layer(512, 3, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride,
                                                 bias=False), nn.BatchNorm2d(planes * Bottleneck.expansion))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    # torch picks its count of physical cores (1 on a 2-vCPU machine); mho keeps its own count
    # (common/threads.h). Both run on every core given.
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    mho.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet50().eval()
    spec = mho.study.default_spec()
    # Images in [0, 1]: the default design's inputs are unsigned.
    calib = torch.rand(CALIB_IMAGES, 3, 224, 224)
    x = torch.rand(IMAGES, 3, 224, 224)
    t0 = time.perf_counter()
    analog = mho.torch.convert(model, spec).program(0).calibrate(calib)
    program_calibrate = time.perf_counter() - t0
    tiles = [t for layer in analog.tile_layers().values() for _, m, _ in layer.matrices() for t in m.tiles]
    cells = sum(t.num_inputs * t.physical_columns for t in tiles)
    state = sum(t.state_bytes for t in tiles)
    with torch.no_grad():
        t0 = time.perf_counter()
        y = analog(x)
        per_image = (time.perf_counter() - t0) / IMAGES
    assert y.shape == (IMAGES, 1000) and bool(torch.isfinite(y).all())
    print(json.dumps({
        "case": "resnet50_tiles",
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "program_calibrate_seconds": round(program_calibrate, 3),
        "seconds_per_image": round(per_image, 3),
        "tiles": len(tiles), "cells": cells, "state_bytes_per_cell": round(state / cells, 3),
        "images": IMAGES, "calibration_images": CALIB_IMAGES, "threads": mho.get_num_threads(),
        "weights": sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))),
    }))


if __name__ == "__main__":
    main()
