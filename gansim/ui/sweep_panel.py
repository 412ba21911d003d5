"""Small sweeps from the app: a grid × a few seeds, run in this session, then summarised.

The base is the sidebar's settings. Bigger grids belong to the CLI (every core,
resumable): the panel refuses them, saying the limit and the command to run instead.
"""
from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import streamlit as st

from .. import sweep
from ..cli import UsageError, parse_grid
from ..config import Config
from .compare_view import value_text

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
    if "sweep_grid" not in st.session_state:
        st.session_state.sweep_grid = "loss=nonsaturating,wasserstein\ngp=0,10"
    grid_col, num_col = st.columns([3, 1])
    grid_col.text_area("Grid", key="sweep_grid", help=GRID_HELP, height=110)
    seeds = num_col.number_input("Seeds", min_value=1, value=2, step=1, key="sweep_seeds",
                                 help=f"Seeds 0..N-1 per setting (at most {MAX_SEEDS} here).")
    steps = num_col.number_input("Steps", min_value=1, value=1000, step=100, key="sweep_steps",
                                 help=f"G steps per run (at most {MAX_STEPS:,} here).")
    grid_text = st.session_state.sweep_grid
    command = cli_command(base, grid_text, int(seeds), int(steps))
    if st.button("Run sweep", key="sweep_run", type="primary", icon=":material/play_arrow:"):
        _run(base, grid_text, int(seeds), int(steps))
    st.caption("The same sweep from the command line (every core, resumable):")
    st.code(command, language="bash", wrap_lines=True)
    _results()


def _run(base: Config, grid_text: str, seeds: int, steps: int) -> None:
    try:
        jobs = plan(base, grid_text, seeds, steps)
    except ValueError as err:
        st.error(str(err))  # the engine's own words: they name the setting and the fix
        return
    bar = st.progress(0.0, text=f"0 of {len(jobs)} runs")

    def progress(done: int, total: int, row: dict) -> None:
        last = f" · last: {row['setting']} seed {row['seed']}" if row else ""
        bar.progress(done / max(total, 1), text=f"{done} of {total} runs{last}")

    with tempfile.TemporaryDirectory(prefix="gansim-sweep-") as out:
        df = sweep.run_jobs(jobs, steps, Path(out), n_jobs=1, progress=progress)
    bar.empty()
    st.session_state.sweep_result = df


def _results() -> None:
    df = st.session_state.get("sweep_result")
    if df is None:
        return
    st.markdown(sweep.summary_table(sweep.summarize(df)))
    st.vega_lite_chart(sweep.chart_spec(df), theme=None, key="sweep_chart")
    st.download_button("Runs (CSV)", data=df.to_csv(index=False).encode(),
                       file_name="gansim-sweep-runs.csv", mime="text/csv", key="sweep_csv",
                       help="One row per run: the setting, the seed and every metric.")
