"""The live run's game spectrum beside the Dirac-GAN: the same eigenvalue picture for the
networks that train in the arena (gansim/spectrum.py computes it by Arnoldi iteration,
about 1–2 s on a lesson's networks; this module only asks for it and draws it)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from .. import spectrum
from . import game_view
from .keys import GAME_SPECTRUM, button

TOP = 6  # eigenvalues shown: the largest in magnitude are the fastest motions
# |imaginary| / |real| above this: the top eigenvalues turn far more than they pull.
ROTATION = 2.0


def panel(run) -> None:
    """A button that computes the run's spectrum, and the last one computed."""
    st.button("Spectrum of this run's game", key=button("game_spectrum"),
              on_click=_compute, args=(run,),
              help="The largest eigenvalues of the live networks' game at their current "
                   "weights (one fixed batch): the Dirac-GAN's picture for the real run.")
    kept = GAME_SPECTRUM.get()
    if kept is None:
        return
    step, result = kept
    if isinstance(result, str):
        st.info(result)
        return
    st.altair_chart(game_view.eigen_chart(result.eigenvalues,
                                          f"The run's game at step {step:,}", circle=False),
                    theme=None, width="content")
    st.caption(sentence(result))


def _compute(run) -> None:
    """The spectrum at the run's weights now (a callback: the page draws it next)."""
    with run.lock:
        step = run.step
        try:
            result = spectrum.spectrum(run.trainer.run(0), k=TOP)
        except ValueError as err:  # a D add-on the field cannot hold: say which
            result = f"No spectrum for this run: {err}."
    GAME_SPECTRUM.set((step, result))


def sentence(result: spectrum.Spectrum) -> str:
    """What the picture says, in the Dirac-GAN's words."""
    eig = result.eigenvalues
    real, imag = float(np.abs(eig.real).max()), float(np.abs(eig.imag).max())
    shape = ("they turn far more than they pull, as the Dirac-GAN's do: near this point the "
             "weights circle rather than settle" if imag > ROTATION * real else
             "their real parts are as large as their imaginary parts: no strong turn here")
    left = f" (left out of the field: {', '.join(result.left_out)})" if result.left_out else ""
    return (f"The {len(eig)} largest eigenvalues of the game's Jacobian over its "
            f"{result.weights:,} weights{left}: largest |imaginary part| {imag:.3g}, "
            f"largest |real part| {real:.3g}; {shape}.")
