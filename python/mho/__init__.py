"""mho: a processing-in-memory crossbar simulator.

The compiled core (``mho._core``) holds the physics; this package re-exports it and adds
conveniences. Units are SI throughout (siemens, volts, amperes, seconds).

    >>> import numpy as np, mho
    >>> spec = mho.TileSpec(rows=64, cols=64, cell="rram_neurosim_22nm",
    ...                     adc=mho.AdcSpec(bits=8), dac=mho.DacSpec(input_bits=8))
    >>> tile = mho.Tile(spec)
    >>> tile.program(np.random.default_rng(0).normal(size=(64, 16)))
    >>> x = np.random.default_rng(1).normal(size=(32, 64))
    >>> tile.calibrate(x)
    >>> y = tile.forward(x)          # 32 x 16, close to x @ W
"""
import os as _os

# mho's element-wise passes (OpenMP) and its matrix products (OpenBLAS) take turns on the
# same cores; OpenMP workers that spin between regions would slow OpenBLAS down. This only
# takes effect if no other module has loaded libgomp yet, and never overrides a user setting.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The OpenBLAS kernel must be settled before the library loads (mho.blas says why).
from . import blas  # noqa: E402

blas.select()

from ._core import (  # noqa: F401,E402
    AdcSpec,
    CapSpec,
    CellModel,
    DigitalSpec,
    PimSystemSpec,
    TechTable,
    CellSpec,
    DacSpec,
    Tile,
    TileSpec,
    WireSpec,
    cap_preset,
    cap_preset_names,
    cell_preset,
    cell_preset_names,
    get_num_threads,
    mom_mismatch_sigma,
    set_num_threads,
)

blas.warn_if_generic()

from . import cost, datasets, export, nets, results, specs, study  # noqa: E402,F401
from .parasitics import IRDropResult, ir_drop  # noqa: E402
from .specs import design_key, from_yaml, to_yaml  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name):
    # mho.torch (torch_analog.py) imports torch, which takes seconds and is optional:
    # `import mho` must stay fast and work without it, so it loads on first use.
    if name == "torch":
        from . import torch_analog
        globals()["torch"] = torch_analog
        return torch_analog
    raise AttributeError(f"module 'mho' has no attribute {name!r}")


__all__ = [
    "AdcSpec", "CapSpec", "CellModel", "CellSpec", "DacSpec", "DigitalSpec", "PimSystemSpec", "TechTable", "IRDropResult", "Tile", "TileSpec",
    "WireSpec", "ir_drop", "cap_preset", "cap_preset_names", "mom_mismatch_sigma",
    "cell_preset", "cell_preset_names", "get_num_threads", "set_num_threads",
    "design_key", "from_yaml", "to_yaml",
]
