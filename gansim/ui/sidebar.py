"""The sidebar beyond the settings table: CSV upload, exports and rewind."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ..data import MAX_KMEANS, MAX_POINTS, load_points_csv
from . import controls, export, transport
from .keys import NOTICE, REWIND_TO, UPLOAD, UPLOAD_ERROR, UPLOAD_K, button


def upload() -> None:
    """Upload x,y points as the real data (validated; errors say what to fix)."""
    st.file_uploader("Upload points (CSV)", type=["csv"], key=UPLOAD.name,
                     on_change=_uploaded,
                     help=f"A CSV of x,y rows (a header is fine), 10 to {MAX_POINTS:,} rows; "
                          f"it becomes the real data.")
    st.number_input("Modes to find in the upload", min_value=0, max_value=MAX_KMEANS,
                    step=1, key=UPLOAD_K.name,
                    help="k-means finds this many modes so coverage can be measured; "
                         "0 skips it.")
    error = UPLOAD_ERROR.get()
    if error:
        st.error(error)


def _uploaded() -> None:
    file = UPLOAD.get()
    UPLOAD_ERROR.set(None)
    if file is None:
        return
    try:
        points = load_points_csv(file.getvalue(), k=int(UPLOAD_K.get()))
    except ValueError as err:
        UPLOAD_ERROR.set(f"{file.name}: {err}. Fix the file and upload it again.")
        return
    transport.change_config(transport.run().cfg.replace(data="points"), dataset=points)


def exports() -> None:
    """Downloads; each file is made only when its button is pressed."""
    run = transport.run()
    download("Config (TOML)", lambda: export.config_toml(run.cfg), "gansim-config.toml",
             "application/toml", "Every setting, readable by python -m gansim --config.")
    download("Config (JSON)", lambda: export.config_json(run.cfg), "gansim-config.json",
             "application/json", "Every setting as JSON.")
    download("Samples (CSV)", lambda: export.samples_csv(run.snapshot()),
             "gansim-samples.csv", "text/csv",
             "The real points and G's current samples, with each fake's mode.")
    download("Animation (GIF)", lambda: _gif(run), "gansim-run.gif", "image/gif",
             "G's samples over the run so far (the most recent frames).")


def download(label: str, data: str | bytes | Callable[[], str | bytes], file_name: str,
             mime: str, words: str, key: str | None = None) -> None:
    """Every download button of the page (the exports here, the sweep's runs): `data`,
    or what `data()` makes when the button is pressed."""
    # on_click="ignore": a download changes nothing on the page, so it must not rerun it.
    # A full rerun also replaces every download's file id (Streamlit makes a new one per
    # run and drops the old ones when the run ends), so a click that reran the page raced
    # its own request for the file; losing it gives no file, only an error under the button.
    st.download_button(label, data=data, file_name=file_name, mime=mime, help=words,
                       key=key, on_click="ignore")


def _gif(run) -> bytes:
    snap = run.snapshot()
    return export.gif(list(run.frames), snap.extent, snap.real, snap.centers, snap.stds)


def rewind() -> None:
    """Go back to a checkpoint and branch from it with different settings."""
    steps = transport.run().checkpoint_steps()
    st.selectbox("Checkpoint", steps[::-1], key=REWIND_TO.name, format_func=lambda s: f"step {s:,}",
                 help="Checkpoints are kept every 250 steps (older ones thinned out).")
    st.button("Go back to this step", on_click=_rewind, key=button("rewind_go"),
              help="Restore the networks and history from then; change a setting to branch.")


def _rewind() -> None:
    target = REWIND_TO.get()
    if target is not None:
        rewind_to(int(target))


def rewind_to(step: int) -> None:
    """Back to the newest checkpoint at or before `step`, paused, with a notice."""
    run = transport.run()
    try:
        reached = run.rewind(step)
    except ValueError as err:
        NOTICE.set(("error", str(err)))
        return
    transport.pause()
    controls.seed_widgets(run.cfg)  # the checkpoint carries the settings of that time
    NOTICE.set(("info", f"Rewound to step {reached:,}."))
