"""Shared fixtures: deterministic random generators and small spin states."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh generator with a fixed seed for every test."""
    return np.random.default_rng(20231188)
