"""Shared fixtures and hypothesis profiles ("dev" by default, "ci" in CI)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI decides whether a change lands, so its examples are the same on every run: a
# failure there is reproducible, never luck. Local runs ("dev") explore new examples.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    print_blob=True, derandomize=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded Generator, fresh for each test."""
    return np.random.default_rng(0)
