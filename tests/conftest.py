"""Strict test configuration, after equinox: rank promotion raises, so a (B,) vs (B, 1)
slip in hand backprop fails loudly instead of broadcasting to (B, B).

Derivation checks run in float64 through the ``x64`` fixture (``jax.enable_x64``), so the
rest of the suite keeps testing the float32 default users get.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def key():
    return jax.random.key(0)
