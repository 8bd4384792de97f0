import mho  # noqa: F401  (first: mho settles the BLAS kernel before numpy loads OpenBLAS)
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
