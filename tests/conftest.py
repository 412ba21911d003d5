"""Shared test hygiene, and the fixtures more than one test file uses (their plain
helpers: tests/apphelpers.py, tests/browserhelpers.py; a test file never imports another)."""
from __future__ import annotations

import os
import sys

import pytest

from browserhelpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium, streamlit_server

# Tests train eagerly: compiling a step costs 10-100 s on a shared 2-core machine, and the
# eager step is the same function (tests/test_compile.py compiles one on purpose).
os.environ.setdefault("GANSIM_COMPILE", "0")


@pytest.fixture(autouse=True)
def _keep_main_module():
    """AppTest runs its page as `__main__` (from_function: a temporary file that is
    deleted afterwards). A spawn pool's workers import the parent's `__main__` by path, so
    a sweep after such a test had workers that died at start; put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


# --- the browser tests' server and Chromium (one of each per test module) ---------------

@pytest.fixture(scope="module")
def server():
    require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with streamlit_server() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _no_worker_left():
    """Every AppTest page starts its own training worker (gansim/ui/worker.py), which
    would otherwise go on until its heartbeat runs out and take turns from the next
    test's run: stop them all after each test."""
    yield
    from gansim.ui import worker

    worker.stop_all()
