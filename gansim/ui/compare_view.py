"""Compare mode: 2–4 panes trained in lockstep, each with its own settings.

A pane is the comparison's base config plus the pane's changes: a compact form of the
most used settings (the sidebar's own widgets under a per-pane key prefix) and a
key=value box for any other field. "Compare from here" branches the panes from the
single run as it is (weights, optimiser moments, step, history); any change sends every
pane back to that branch point (step 0 when a change needs fresh networks), with the
same weights and batches, so what differs between the panes is only what was changed.
"""
from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import streamlit as st

from ..compare import MAX_PANES, MIN_PANES
from ..config import Config, coerce, split_setting
from ..diagnosis import settled
from . import arena_canvas, charts, controls, keys, transport
from .arena_payload import arena_payload
from .keys import (CMP_PLAYING, COMPARE, PANE_EXTRA, PANE_FILM, PANE_OPEN, PANE_SETTING,
                   SHOW_ARROWS, SHOW_CIRCLES, SHOW_MANIFOLD, VIEW as VIEW_KEY, button)
from .session import Comparison

VIEW = "Compare"
NAMES = "ABCD"
# The settings most ablations change; anything else goes in the pane's key=value box.
PANE_FIELDS = ("loss", "lr_g", "lr_d", "d_steps", "gp", "unroll", "minibatch", "pack")
TRAIN_S = 0.08  # training per frame, shared by all panes: the frame rate stays ~the single view's
ARENA_PX = {2: 400, 3: 250, 4: 180}  # arena side per pane count: the row fits a 1400 px window
EXTRA_HELP = ("Any other setting, one key=value per line (e.g. mbstd=true, r1=1, "
              "g_hidden=64). The boxes above win for their own settings.")


def comparison() -> Comparison | None:
    return COMPARE.get()


def _prefix(i: int) -> str:
    return PANE_SETTING.name(i, "")


def _extra_key(i: int) -> str:
    return PANE_EXTRA.name(i)


# --- starting, adding, removing (callbacks: they run before the widgets are drawn) -----

def start() -> None:
    """"Compare from here": pane A is the current run's settings, pane B a copy."""
    _new()
    VIEW_KEY.set(VIEW)


def _new() -> None:
    run = transport.run()
    with run.lock:  # the panes branch from the run as it is now: weights, moments, step
        start = run.trainer.state()
    COMPARE.set(Comparison(run.cfg, [run.cfg, run.cfg], run.lock, run.dataset, start=start))
    transport.pause()
    _seed_all(force=True)


def _seed_all(force: bool) -> None:
    """Fill the panes' widgets from the running configs (force=False: only missing keys)."""
    comp = comparison()
    for i, cfg in enumerate(comp.configs):
        controls.seed_widgets(cfg, force=force, prefix=_prefix(i), fields=PANE_FIELDS)
        if force or not keys.has(_extra_key(i)):
            keys.write(_extra_key(i), extras_text(cfg, comp.base))


def _add_pane() -> None:
    comp = comparison()
    configs = comp.configs
    if len(configs) < MAX_PANES:
        comp.restart(configs + [configs[-1]])
        _seed_all(force=True)


def _remove_pane() -> None:
    comp = comparison()
    configs = comp.configs
    if len(configs) > MIN_PANES:
        comp.restart(configs[:-1])
        gone = len(configs) - 1
        for k in [controls.key(f, _prefix(gone)) for f in PANE_FIELDS] + [_extra_key(gone)]:
            keys.drop(k)


def _step() -> None:
    comparison().train(1)


def _reset() -> None:
    comparison().restart()


# --- pane settings ↔ configs (pure apart from reading session state) --------------------

def value_text(value: Any) -> str:
    """A value as one types it: JSON lists, lower-case booleans, short floats."""
    if isinstance(value, tuple):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def extras_text(cfg: Config, base: Config) -> str:
    """The key=value lines that turn `base` into `cfg`, outside the compact form."""
    changed = controls.changed_fields(base, cfg)
    return "\n".join(f"{k}={value_text(v)}" for k, v in changed.items() if k not in PANE_FIELDS)


def parse_extras(text: str) -> dict[str, Any]:
    """"key=value" lines → typed changes; ValueError names the line and the fix."""
    out: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pair = split_setting(line)
        if pair is None:
            raise ValueError(f"line {n}: expected key=value, got {line!r}")
        k, v = pair
        if k in PANE_FIELDS:
            raise ValueError(f"line {n}: {k} has its own box above; change it there")
        if k in out:
            raise ValueError(f"line {n}: {k} is given twice; keep one line")
        out[k] = coerce(k, v)
    return out


def _read_pane(i: int, base: Config) -> Config:
    values = {f: coerce(f, keys.read(controls.key(f, _prefix(i)))) for f in PANE_FIELDS}
    return base.replace(**values, **parse_extras(keys.read(_extra_key(i), "")))


def _apply(comp: Comparison) -> tuple[list[str | None], tuple[str, str] | None]:
    """Restart the panes with what their widgets say; (per-pane errors, a notice)."""
    configs, errors = [], []
    for i in range(len(comp.configs)):
        try:
            configs.append(_read_pane(i, comp.base))
            errors.append(None)
        except ValueError as err:
            errors.append(f"{err}. This pane keeps its last good settings.")
    if any(errors) or configs == comp.configs:
        return errors, None
    try:
        comp.restart(configs)
    except ValueError as err:  # e.g. a pane with another seed: Lockstep's own words
        return errors, ("error", f"{err}. The panes keep their previous settings.")
    return errors, ("info", _restart_note(comp))


def _restart_note(comp: Comparison) -> str:
    if comp.branched:
        return (f"Settings changed: every pane went back to step {comp.start['g_step']:,}, "
                f"where the comparison branched from the run, so they stay comparable.")
    if comp.start is not None:
        return ("Settings changed: a pane changes a setting that needs fresh networks, so "
                "every pane restarted at step 0 from the same new weights.")
    return ("Settings changed: every pane restarted at step 0 from the same weights, so "
            "they stay comparable.")


# --- drawing ---------------------------------------------------------------------------

def page() -> None:
    """The compare view: buttons, the differences, each pane's settings, the live frame."""
    if comparison() is None:
        _new()
    _seed_all(force=False)  # refill widgets dropped while another view was shown
    comp = comparison()
    errors, notice = _apply(comp)
    _top_bar(comp)
    if notice:
        (st.error if notice[0] == "error" else st.info)(notice[1])
    diffs, _, _ = comp.read()
    st.caption(_differences_line(diffs))
    for i, col in enumerate(st.columns(len(comp.configs), gap="medium")):
        with col:
            st.markdown(_pane_title(i, diffs))
            # Keyed and tracked: the panel stays open while its settings are edited (each
            # edit reruns the page and used to remount it closed).
            with st.expander("Settings", key=PANE_OPEN.name(i), on_change="rerun"):
                for field in PANE_FIELDS:
                    controls.draw(field, _prefix(i))
                st.text_area("Other settings", key=_extra_key(i), help=EXTRA_HELP,
                             placeholder="mbstd=true\nr1=1", height=90)
            if errors[i]:
                st.error(errors[i])
    st.fragment(frame, run_every=transport.TICK_S if CMP_PLAYING.get() else None)()


def _top_bar(comp: Comparison) -> None:
    n = len(comp.configs)
    cols = st.columns([1, 1, 1, 1.2, 1.3, 2.2])
    if CMP_PLAYING.get():
        cols[0].button("Pause", icon=":material/pause:", key=button("cmp_pause"),
                       on_click=transport.pause,
                       type="primary", help="Stop training every pane.")
    else:
        cols[0].button("Play", icon=":material/play_arrow:", key=button("cmp_play"),
                       on_click=transport.play_comparison,
                       type="primary", help="Train every pane, step for step together.")
    cols[1].button("Step", key=button("cmp_step"), on_click=_step,
                   help="One full training step on every pane.")
    cols[2].button("Reset", icon=":material/restart_alt:", key=button("cmp_reset"), on_click=_reset,
                   help="Every pane back to where the comparison branched from the run (step 0 "
                        "when a pane's settings need fresh networks).")
    cols[3].button("Add pane", icon=":material/add:", key=button("cmp_add"), on_click=_add_pane,
                   disabled=n >= MAX_PANES,
                   help=f"A copy of the last pane (at most {MAX_PANES}); restarts all panes.")
    cols[4].button(f"Remove pane {NAMES[n - 1]}", key=button("cmp_remove"), on_click=_remove_pane,
                   disabled=n <= MIN_PANES, help="Drop the last pane; restarts the others.")
    cols[5].button("New comparison from the sidebar", key=button("cmp_new"), on_click=_new,
                   help="Pane A and pane B become the sidebar's current settings again.")


def _differences_line(diffs: dict[str, list]) -> str:
    if not diffs:
        return ("The panes are identical so far: open a pane's **Settings** and change "
                "something. Every pane starts from the same weights and sees the same batches.")
    parts = [f"**{k}** (" + ", ".join(f"{NAMES[i]}: {value_text(v)}" for i, v in enumerate(vs))
             + ")" for k, vs in diffs.items()]
    return "Differences: " + "; ".join(parts) + ". Everything else is the same in every pane."


def _pane_title(i: int, diffs: dict[str, list]) -> str:
    # Brackets would end the badge's markdown directive: list values show with parentheses.
    plain = {k: value_text(vs[i]).replace("[", "(").replace("]", ")") for k, vs in diffs.items()}
    badges = [f":orange-badge[{k}={v}]" for k, v in plain.items()]
    return f"**Pane {NAMES[i]}** " + " ".join(badges)


def frame() -> None:
    """Train every pane a little (when playing), then draw each pane and the summary."""
    comp = comparison()
    if comp is None:
        return
    transport.yield_to_clicks()
    if CMP_PLAYING.get():
        comp.train_for(TRAIN_S)
        if comp.all_diverged():  # nothing left to train; the timer lives in the page
            transport.stop()
            st.rerun(scope="app")
    snaps = comp.snapshots()
    _, rows, diverged = comp.read()
    px = ARENA_PX[len(snaps)]
    toggles = {"show_arrows": SHOW_ARROWS.get(), "show_manifold": SHOW_MANIFOLD.get(),
               "show_rings": SHOW_CIRCLES.get()}
    for i, (col, snap) in enumerate(zip(st.columns(len(snaps), gap="medium"), snaps)):
        with col:
            st.markdown(_counters(i, snap))
            with st.container():  # keeps the charts at a fixed place in the page tree
                if diverged[i]:
                    st.error(diverged[i])
            # A film per pane (arena_canvas.js): points glide between the frames.
            arena_canvas.draw(arena_payload(snap, **toggles), key=PANE_FILM.name(i), max_side=px)
            st.vega_lite_chart(charts.modes_curve(snap, width=px - 40), theme=None,
                               width="content", key=f"cmp_modes_{i}")
    st.dataframe(summary_frame(rows), hide_index=True, column_config=SUMMARY_FORMATS)


def _counters(i: int, snap) -> str:
    modes, hq = (settled(snap.history, key) for key in ("modes", "hq"))  # as live.py's
    n_modes = 0 if snap.centers is None else len(snap.centers)
    text = f"**{NAMES[i]}** · step {snap.step:,}"
    if not math.isnan(modes):
        text += f" · modes {modes:.0f}/{n_modes}"
    if not math.isnan(hq):
        text += f" · HQ {100 * hq:.0f}%"
    return text


# Short numbers (the default shows "0.000000" for a zero KL before the first evaluation).
SUMMARY_FORMATS = {
    "HQ %": st.column_config.NumberColumn(format="%.0f%%"),
    "reverse KL": st.column_config.NumberColumn(format="%.3g"),
    "distance": st.column_config.NumberColumn(format="%.3g"),
    "seconds": st.column_config.NumberColumn(format="%.1f"),
}


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """Lockstep.summary() as a table for people: percentages, rounded numbers."""
    df = pd.DataFrame(rows)
    return pd.DataFrame({
        "pane": df["pane"], "settings": df["settings"], "step": df["step"],
        "modes covered": df["modes"], "HQ %": (100 * df["hq"]).round(1),
        "reverse KL": df["reverse_kl"].round(3), "distance": df["distance"].round(3),
        "diverged": df["diverged"], "seconds": df["seconds"],
    })
