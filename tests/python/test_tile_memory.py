"""Tile.state_bytes on the default design: within 12 bytes per device (both of a differential
pair, every slice), and what the tiles of a converted layer hold adds up to it."""
import numpy as np

import mho


def test_default_design_tile_within_twelve_bytes_per_cell(rng):
    spec = mho.study.default_spec()
    t = mho.Tile(spec, 0)
    slices = -(-spec.weight_bits // spec.bits_per_cell)
    w = rng.normal(size=(spec.rows, spec.cols // (2 * slices)))  # a full array
    t.program(w, 0)
    cells = t.num_inputs * t.physical_columns
    assert cells == spec.rows * spec.cols
    assert t.state_bytes / cells <= 12.0
    x = rng.random((8, spec.rows)).astype(np.float32)
    t.calibrate(x)
    t.forward(x)
    # One float each of the value and variance matrices per output and slice (4 bytes per
    # 2 devices each) and the weights (8 bytes per 8 devices): 5 bytes per device, and about
    # 13 KiB of per-column lists and vectors.
    assert 5.0 <= t.state_bytes / cells <= 5.25
