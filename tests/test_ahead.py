"""Compiling ahead (gansim.ahead): a lesson's settings prepared once each, every lesson's
built in one background child at the app's first start. The builds are faked here (a
real one costs ~30-60 s: tests/test_compile.py builds one)."""
import os
import threading

import pytest

from gansim import Config, Trainer, ahead, aot, compile as compiling
from gansim.stacking import StepKey

SMALL = dict(g_hidden=32, d_hidden=32, z_dim=8, batch=64, device="cpu")


@pytest.fixture
def disk(monkeypatch, tmp_path):
    """Packages in tmp_path, nothing loaded, engine "auto" (conftest says "0"), and a
    stand-in for a loaded package."""
    monkeypatch.delenv("GANSIM_COMPILE", raising=False)
    monkeypatch.setattr(compiling, "package_path", lambda key: aot.package_file(tmp_path, "t", key))
    monkeypatch.setattr(compiling, "_COMPILED", {})
    monkeypatch.setattr(ahead, "_QUEUED", set())
    monkeypatch.setattr(aot, "Package", lambda path: (lambda *args: None))
    return tmp_path


def test_prepare_builds_each_setting_once_and_a_later_process_skips_the_child(disk, monkeypatch):
    """A lesson opening prepares its runs' steps: each built once in a child (faked) and
    loaded here, so a run that starts later trains compiled at once; a new process (an
    empty in-memory table) finds the package on disk and starts no child."""
    children = []

    def child(cfg, runs):  # what the real child leaves behind, less the build
        children.append(StepKey.of(cfg, runs))
        compiling.package_path(StepKey.of(cfg, runs)).touch()
        return True

    monkeypatch.setattr(compiling, "compile_in_child", child)

    def prepared(cfgs):
        ahead.prepare(cfgs)
        for thread in threading.enumerate():
            if thread.name == "gansim-prepare":
                thread.join(60)

    a, b = Config(**SMALL), Config(**SMALL, loss="hinge")
    prepared([a, b, a.replace(lr_d=1e-3), a.replace(engine="eager")])  # live value: a's step
    assert children == [StepKey.of(a, 1), StepKey.of(b, 1)]
    assert Trainer(a, background_compile=True).engine == "compiled", "prepared, yet eager"
    monkeypatch.setattr(compiling, "_COMPILED", {})  # as in a new process
    monkeypatch.setattr(ahead, "_QUEUED", set())
    prepared([b])
    assert len(children) == 2, "a step already built by a child was built again"
    assert compiling._COMPILED[StepKey.of(b, 1)].loaded


def test_compile_ahead_runs_one_child_once_in_order_and_skips_what_is_on_disk(disk, monkeypatch):
    """The app's first start builds every lesson's steps in one background child: each
    setting once (live values do not make a new step), in order, none already on disk."""
    monkeypatch.setattr(ahead, "_AHEAD", [])
    a, b, c = Config(**SMALL), Config(**SMALL, loss="hinge"), Config(**SMALL, d_steps=2)
    compiling.package_path(StepKey.of(c, 1)).touch()
    children = []
    monkeypatch.setattr(compiling, "child_compile",
                        lambda cfgs, runs, timeout: children.append(cfgs))
    ahead.compile_ahead([a, b, a.replace(lr_d=1e-3), c])
    ahead._AHEAD[0].join(10)
    ahead.compile_ahead([a])  # once per process
    assert children == [[a, b]]

    built = []  # the child's side: build each, skip what is on disk or claimed

    def build(step, args, path):
        built.append(step.key.loss)
        path.touch()

    monkeypatch.setattr(aot, "build", build)
    ahead._child_compiles([a.to_dict(), b.to_dict(), c.to_dict()], 1)
    assert built == ["nonsaturating", "hinge"]
    assert compiling.on_disk(StepKey.of(b, 1))
    d = Config(**SMALL, loss="least_squares")
    lock = compiling.build_lock(compiling.package_path(StepKey.of(d, 1)))
    lock.write_text(str(os.getppid()))  # another live process builds it
    ahead._child_compiles([d.to_dict()], 1)
    assert built == ["nonsaturating", "hinge"], "a step another process is building was built"
    lock.write_text("999999999")  # ...or built it until it was killed: taken over
    ahead._child_compiles([d.to_dict()], 1)
    assert built == ["nonsaturating", "hinge", "least_squares"] and not lock.exists()


def test_a_run_waits_for_a_build_another_process_has_under_way(disk, monkeypatch):
    """The app's first start builds every lesson's steps in one child while the default
    run asks for its own: the second builder finds the first one's lock and waits for its
    package instead of giving up on compiling."""
    cfg = Config(**SMALL)
    path = compiling.package_path(StepKey.of(cfg, 1))
    lock = compiling.build_lock(path)
    lock.write_text(str(os.getpid()))
    monkeypatch.setattr(compiling, "compile_in_child", lambda cfg, runs: True)  # it skipped
    timer = threading.Timer(1.0, lambda: (path.touch(), lock.unlink()))
    timer.start()
    step = compiling.compiled_step(StepKey.of(cfg, 1), cfg)
    step.warm_in_background()
    step.wait(30)
    timer.join()
    assert step.loaded and step.fell_back is None


def test_build_now_builds_the_default_and_every_lesson_step_once(disk, monkeypatch):
    """`gansim build` (a class server before class): the default settings' step and each
    lesson run's, each distinct step once, those on disk skipped, failures counted."""
    from gansim.cli import main
    from gansim.lessons import load_all

    wanted = {StepKey.of(c, 1) for c in ahead.lesson_settings(load_all())}
    calls = []

    def child(cfgs, runs, timeout):
        calls.append(len(cfgs))
        for cfg in cfgs[1:]:  # the first one fails: no package
            compiling.package_path(StepKey.of(cfg, runs)).touch()
        return True

    monkeypatch.setattr(compiling, "child_compile", child)
    assert main(["build"]) == 0
    assert calls == [len(wanted)] and len(wanted) > 15
    assert main(["build", "--set", "loss=hinge", "--set", "g_hidden=48"]) == 0
    assert calls == [len(wanted), 1]
    assert ahead.build_now(ahead.lesson_settings(load_all())) == (0, 1)  # only the failed one
