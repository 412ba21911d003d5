"""Small sweeps from the app: a grid × a few seeds, run in this session, then summarised.

The base is the sidebar's settings. Bigger grids belong to the CLI (every core,
resumable): the panel refuses them, saying the limit and the command to run instead.
A sweep runs in a thread of its own (`Worker`), not inside a script run: any click
starts a new script run, which used to stop a sweep running in the old one silently.
"""
from __future__ import annotations

import shlex
import tempfile
import threading
from pathlib import Path

import streamlit as st

from .. import sweep
from ..grid import UsageError, parse_grid
from ..config import Config
from .compare_view import value_text
from .keys import (SWEEP_ERROR, SWEEP_GRID, SWEEP_GRID_KEPT, SWEEP_RESULT, SWEEP_SEEDS,
                   SWEEP_STEPS, SWEEP_WORKER, button)
from .sidebar import download

VIEW = "Sweep"
MAX_SETTINGS, MAX_SEEDS, MAX_STEPS = 8, 3, 3000  # ≤ 24 short runs: a minute or two here
GRID_HELP = ("One setting per line: key=v1,v2,... (e.g. loss=nonsaturating,hinge). Every "
             "combination runs once per seed, starting from the sidebar's settings.")


def plan(base: Config, grid_text: str, seeds: int, steps: int) -> list[sweep.Job]:
    """The sweep's jobs, or ValueError with the engine's message or the app's limit."""
    lines = [line.strip() for line in grid_text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the grid is empty: add a line such as loss=nonsaturating,hinge")
    if not 1 <= seeds <= MAX_SEEDS or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"the app runs 1 to {MAX_SEEDS} seeds and 1 to {MAX_STEPS:,} steps "
                         f"(got {seeds} seeds, {steps:,} steps); {_cli_hint()}")
    try:
        grid = parse_grid(lines)
    except UsageError as err:
        raise ValueError(str(err)) from None
    jobs = sweep.expand(base, grid, list(range(seeds)))
    settings = len(jobs) // seeds
    if settings > MAX_SETTINGS:
        raise ValueError(f"this grid has {settings} settings; the app runs at most "
                         f"{MAX_SETTINGS} settings × {MAX_SEEDS} seeds; {_cli_hint()}")
    return jobs


def _cli_hint() -> str:
    return "run bigger sweeps from the command line (the command is below)"


def cli_command(base: Config, grid_text: str, seeds: int, steps: int) -> str:
    """The same sweep as a `python -m gansim sweep` command line."""
    parts = ["python", "-m", "gansim", "sweep"]
    for k, v in base.changed().items():
        parts += ["--set", f"{k}={value_text(v)}"]
    for line in grid_text.splitlines():
        if line.strip():
            parts += ["--grid", line.strip()]
    parts += ["--seeds", str(seeds), "--steps", str(steps), "--out", "runs/my-sweep"]
    return " ".join(shlex.quote(p) for p in parts)


def page(base: Config) -> None:
    """The sweep view: grid, seeds, steps, Run; then the table and the chart."""
    st.subheader("A small sweep")
    st.caption(f"Starts from the sidebar's settings; up to {MAX_SETTINGS} settings × "
               f"{MAX_SEEDS} seeds × {MAX_STEPS:,} steps, one run after another in this "
               f"page. Each run is judged on the mean of its last evaluations; cells are "
               f"mean ± standard error over seeds.")
    # Widget state is dropped while another view shows: keep the grid in a plain key.
    SWEEP_GRID.set(SWEEP_GRID_KEPT.get())
    grid_col, num_col = st.columns([3, 1])
    grid_col.text_area("Grid", key=SWEEP_GRID.name, help=GRID_HELP, height=110,
                       on_change=_keep_grid)
    seeds = num_col.number_input("Seeds", min_value=1, step=1, key=SWEEP_SEEDS.name,
                                 help=f"Seeds 0..N-1 per setting (at most {MAX_SEEDS} here).")
    steps = num_col.number_input("Steps", min_value=1, step=100, key=SWEEP_STEPS.name,
                                 help=f"G steps per run (at most {MAX_STEPS:,} here).")
    grid_text = SWEEP_GRID.get()
    command = cli_command(base, grid_text, int(seeds), int(steps))
    if st.button("Run sweep", key=button("sweep_run"), type="primary", icon=":material/play_arrow:",
                 disabled=_busy(), help="Runs in the background: other clicks do not stop it."):
        _start(base, grid_text, int(seeds), int(steps))
    st.fragment(_progress, run_every=0.5 if _busy() else None)()
    st.caption("The same sweep from the command line (every core, resumable):")
    st.code(command, language="bash", wrap_lines=True)
    _results()


# The sweep's first grid, seeds and steps are their keys' defaults (why these: keys.py).
DEFAULT_GRID, DEFAULT_SEEDS, DEFAULT_STEPS = (SWEEP_GRID_KEPT.default, SWEEP_SEEDS.default,
                                              SWEEP_STEPS.default)


def _keep_grid() -> None:
    SWEEP_GRID_KEPT.set(SWEEP_GRID.get())


def _busy() -> bool:
    worker = SWEEP_WORKER.get()
    return worker is not None and worker.running


class Worker:
    """One sweep in a background thread; the page reads its progress and result."""

    def __init__(self, jobs: list[sweep.Job], steps: int):
        self.total, self.done, self.last = len(jobs), 0, ""
        self.result, self.error = None, None
        self._thread = threading.Thread(target=self._work, args=(jobs, steps), daemon=True,
                                        name="gansim-sweep")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _work(self, jobs: list[sweep.Job], steps: int) -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="gansim-sweep-") as out:
                self.result = sweep.run_jobs(jobs, steps, Path(out), n_jobs=1,
                                             progress=self._progress)
        except Exception as err:  # shown on the page; the thread must not die silently
            self.error = f"The sweep stopped: {err}"

    def _progress(self, done: int, total: int, row: dict) -> None:
        self.done, self.total = done, total
        if row:
            self.last = f" · last: {row['setting']} seed {row['seed']}"


def _start(base: Config, grid_text: str, seeds: int, steps: int) -> None:
    try:
        jobs = plan(base, grid_text, seeds, steps)
    except ValueError as err:
        st.error(str(err))  # the engine's own words: they name the setting and the fix
        return
    SWEEP_WORKER.set(Worker(jobs, steps))
    SWEEP_RESULT.set(None)
    SWEEP_ERROR.set(None)


def _progress() -> None:
    """The running sweep's progress; when it ends, its table (a full rerun shows it)."""
    worker = SWEEP_WORKER.get()
    if worker is None:
        return
    if worker.running:
        st.progress(worker.done / max(worker.total, 1),
                    text=f"{worker.done} of {worker.total} runs{worker.last} (it runs in the "
                         f"background: you can click elsewhere and come back)")
        return
    SWEEP_WORKER.set(None)
    SWEEP_ERROR.set(worker.error)
    SWEEP_RESULT.set(worker.result)
    st.rerun(scope="app")


def _results() -> None:
    error = SWEEP_ERROR.get()
    if error:
        st.error(error)
    df = SWEEP_RESULT.get()
    if df is None:
        return
    st.markdown(sweep.summary_table(sweep.summarize(df)))
    st.vega_lite_chart(sweep.chart_spec(df), theme=None, key="sweep_chart")
    download("Runs (CSV)", df.to_csv(index=False).encode(), "gansim-sweep-runs.csv",
             "text/csv", "One row per run: the setting, the seed and every metric.",
             key=button("sweep_csv"))
