"""Shared test hygiene."""
from __future__ import annotations

import os
import sys

import pytest

# Tests train eagerly: compiling a step costs 10-100 s on a shared 2-core machine, and the
# eager step is the same function (tests/test_engine.py compiles one on purpose).
os.environ.setdefault("GANSIM_COMPILE", "0")


@pytest.fixture(autouse=True)
def _keep_main_module():
    """AppTest runs its page as `__main__` (from_function: a temporary file that is
    deleted afterwards). A spawn pool's workers import the parent's `__main__` by path, so
    a sweep after such a test had workers that died at start; put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
