"""Compiling ahead (gansim.ahead): a lesson's settings prepared once each, every lesson's
compiled in one background child at the app's first start."""
import threading

import torch

from gansim import Config, Trainer, ahead, compile as compiling
from gansim.stacking import StepKey

SMALL = dict(g_hidden=32, d_hidden=32, z_dim=8, batch=64, device="cpu")


def test_prepare_readies_each_setting_once_and_a_later_process_skips_the_child(monkeypatch,
                                                                             tmp_path):
    """A lesson opening prepares its runs' steps: each compiled once in a child (faked:
    a real compile costs 17-40 s) and loaded here, so a run that starts later is ready at
    once; a new process (an empty in-memory cache) finds the marker and skips the child."""
    monkeypatch.setenv("GANSIM_COMPILE", "1")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)  # the eager step stands in
    monkeypatch.setattr(compiling, "_marker", lambda key: tmp_path / str(abs(hash(key))))
    monkeypatch.setattr(ahead, "_QUEUED", set())
    monkeypatch.setattr(compiling, "_COMPILED", {})
    children = []

    def child(cfg, runs):  # what the real child does, less the compile
        children.append(StepKey.of(cfg, runs))
        compiling.mark_on_disk(StepKey.of(cfg, runs))
        return True

    monkeypatch.setattr(compiling, "compile_in_child", child)

    def prepared(cfgs):
        ahead.prepare(cfgs)
        for thread in threading.enumerate():
            if thread.name == "gansim-prepare":
                thread.join(60)

    a, b = Config(**SMALL), Config(**SMALL, loss="hinge")
    prepared([a, b, a.replace(lr_d=1e-3)])  # a live value: the same step as a
    assert children == [StepKey.of(a, 1), StepKey.of(b, 1)]
    assert Trainer(a, compile=True, background_compile=True).ready(), "prepared, yet not ready"
    monkeypatch.setattr(compiling, "_COMPILED", {})  # as in a new process
    monkeypatch.setattr(ahead, "_QUEUED", set())
    prepared([b])
    assert len(children) == 2, "a step already compiled by a child was compiled again"
    assert compiling._COMPILED[StepKey.of(b, 1)].loaded


def test_compile_ahead_runs_one_child_once_in_order_and_skips_what_is_on_disk(monkeypatch,
                                                                            tmp_path):
    """The app's first start compiles every lesson's steps in one background child: each
    setting once (live values do not make a new step), in order, none already on disk."""
    monkeypatch.setenv("GANSIM_COMPILE", "1")
    monkeypatch.setattr(compiling, "_marker", lambda key: tmp_path / str(abs(hash(key))))
    monkeypatch.setattr(ahead, "_AHEAD", [])
    a, b, c = Config(**SMALL), Config(**SMALL, loss="hinge"), Config(**SMALL, d_steps=2)
    compiling.mark_on_disk(StepKey.of(c, 1))
    children = []
    monkeypatch.setattr(ahead, "child_compile", lambda cfgs, runs, timeout: children.append(cfgs))
    ahead.compile_ahead([a, b, a.replace(lr_d=1e-3), c])
    ahead._AHEAD[0].join(10)
    ahead.compile_ahead([a])  # once per process
    assert children == [[a, b]]

    trained = []  # the child's side: compile each, mark it, skip what a marker names

    class Fake:
        def __init__(self, cfg, **kw):
            self.cfg = cfg

        def step(self):
            trained.append(self.cfg.loss)

    monkeypatch.setattr(ahead, "Trainer", Fake)
    ahead._child_compiles([a.to_dict(), b.to_dict(), c.to_dict()], 1)
    assert trained == ["nonsaturating", "hinge"]
    assert compiling.on_disk(StepKey.of(b, 1))
