"""Helpers for the tests that write their own lesson files (plain functions and data: a
test file never imports another): the tiny networks every test lesson trains on, and
writing a lesson's TOML into a folder."""
from __future__ import annotations

import textwrap
from pathlib import Path

# Two blobs and 8-unit networks: a test lesson's runs take a fraction of a second.
TINY_CONFIG = """
[config]
data = "two_gaussians"
g_hidden = 8
d_hidden = 8
batch = 16
z_dim = 2
"""


def write_lesson(folder: Path, text: str, name: str) -> Path:
    """`text` (indentation removed) as the lesson file `name` in `folder`."""
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
