"""Writes the libFuzzer seed corpora under tests/fuzz/corpus/ (run from the repository root
with .venv/bin/python; the committed files came from this script):

    corpus/model/      small model files covering every layer kind, from both writers
                       (mho.export.export_torch and the C++ save_model)
    corpus/structure/  inputs of model_structure_fuzzer (bytes that drive its file builder):
                       256 zero bytes and four 512-byte strings from random.Random(0)
    corpus/tech/       data/tech.yaml and a minimal one-node table
"""
import random
import shutil
from pathlib import Path

import torch
import torch.nn as nn

import mho
import mho.export

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class Tiny(nn.Module):
    """Every layer kind of the format in a few hundred weights."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.c2 = nn.Conv2d(2, 2, 3, padding=2, dilation=2, groups=2, bias=False)
        self.b = nn.Conv2d(1, 1, 1)
        self.mp = nn.MaxPool2d(2)
        self.ap = nn.AvgPool2d(3, stride=1, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = y + self.c2(y)
        y = torch.cat([y, self.b(x)], dim=1)
        y = self.ap(self.mp(y))
        return self.fc(torch.flatten(self.gap(y), 1))


def main():
    torch.manual_seed(0)
    model_dir, tech_dir, struct_dir = (HERE / "corpus" / k for k in ("model", "tech", "structure"))
    for d in (model_dir, tech_dir, struct_dir):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    tiny = mho.export.export_torch(Tiny(), model_dir / "tiny_export.h5", (1, 6, 6), name="tiny",
                                   dataset="none", float_test_accuracy=0.5, source="fuzz seed")
    lin = mho.export.export_torch(nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)),
                                  model_dir / "linear_export.h5", (1, 2, 2), name="lin")
    net, info = mho._core.load_model(str(tiny))
    mho._core.save_model(net, str(model_dir / "tiny_cpp.h5"), info)
    (struct_dir / "zeros").write_bytes(bytes(256))
    rng = random.Random(0)
    for i in range(4):
        (struct_dir / f"random{i}").write_bytes(bytes(rng.randrange(256) for _ in range(512)))
    shutil.copy(ROOT / "data" / "tech.yaml", tech_dir / "tech.yaml")
    (tech_dir / "minimal.yaml").write_text("""version: 1
scaling: {reference_node_nm: 45, reference_vdd_V: 0.9}
reference_45nm:
  add: {bits: [8], energy_pJ: [0.03], area_um2: [36], scale: logic, source: s}
  mult: {bits: [8], energy_pJ: [0.2], area_um2: [282], scale: logic, source: s}
  sram_read_64b: {capacity_bytes: [8192, 32768], energy_pJ: [10, 20], scale: logic, source: s}
  wire: {energy_pJ_per_bit_mm: 0.04, scale: wire, source: s}
  dac_bit: {energy_pJ: 0.03, area_um2: 36, scale: none, source: s}
dram: {energy_pJ_per_64b: 1950, source: s}
eyeriss: {rf_access_per_mac: 1.0, pe_to_pe_per_mac: 2.0, source: s}
sram_cell: {area_F2: 280, array_efficiency: 0.7, source: s}
cells:
  c: {node_nm: 22, r_on_ohm: 1.0e+3, on_off: 10, area_F2: 4, source: s}
nodes:
  22nm:
    node_nm: 22
    vdd_V: 0.8
    clock_hz: 1.0e9
    adc:
      sar: {bits: [4, 8], energy_pJ: [0.4, 0.8], area_um2: [2771, 5136], time_ns: [5, 9], source: s}
""")
    for p in sorted(model_dir.iterdir()) + sorted(struct_dir.iterdir()) + sorted(tech_dir.iterdir()):
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
