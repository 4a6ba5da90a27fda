"""FL014 floating-promise beyond its examples (near-misses, options, real-code cases)."""

from __future__ import annotations

from faultline.analyzers.core.rule import Valid
from faultline.analyzers.core.testing import run_example
from faultline.analyzers.rules.frontend.floating_promise import FloatingPromise


def test_a_near_miss_is_not_reported() -> None:
    assert run_example(FloatingPromise, Valid("safer_code()\n")) == []
