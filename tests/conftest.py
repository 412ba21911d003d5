"""Shared test hygiene."""
from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _keep_main_module():
    """AppTest runs its page as `__main__` (from_function: a temporary file that is
    deleted afterwards). A spawn pool's workers import the parent's `__main__` by path, so
    a sweep after such a test had workers that died at start; put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
