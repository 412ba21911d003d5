"""Compiling the step (gansim.compile, gansim.aot): a package built once per machine in a
child process, loaded in milliseconds; engine "auto" trains eagerly until it is built and
never switches a run midway; the compiled step equals the eager one; a failure falls back.

One real build for the module (~30-60 s on a shared 2-core machine), into a temporary
directory: the rest reuse it."""
import threading
import time

import pytest
import torch

from gansim import Config, Trainer, ahead, aot, compile as compiling

SMALL = dict(g_hidden=32, d_hidden=32, z_dim=8, batch=64, device="cpu")
# Most cures on, so the one build covers their traced branches.
TRICKS = Config(**SMALL, gp=1.0, label_flip=0.1, instance_noise=0.1, replay=0.5,
                feature_matching=0.5, d_steps=2)
SEEDS = [1, 2]


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Packages in a directory of this module's own, and an empty in-process table."""
    where = tmp_path_factory.mktemp("packages")
    with pytest.MonkeyPatch.context() as mp:
        # Read by compile.package_path here and in the build's child, which inherits it.
        mp.setenv("TORCHINDUCTOR_CACHE_DIR", str(where))
        mp.setattr(compiling, "_COMPILED", {})
        mp.delenv("GANSIM_COMPILE", raising=False)  # conftest's "0": this module compiles
        yield where


@pytest.fixture
def fresh(packages, monkeypatch):
    """As in a new process: nothing loaded yet (the packages stay on disk)."""
    monkeypatch.setattr(compiling, "_COMPILED", {})
    monkeypatch.delenv("GANSIM_COMPILE", raising=False)
    return packages


def close(a: dict, b: dict) -> None:
    for k, v in b.items():
        torch.testing.assert_close(a[k], v, rtol=1e-4, atol=1e-5)


def test_auto_trains_eagerly_at_once_builds_for_the_next_run_which_matches_eager(fresh):
    """A fresh machine: the first run starts eagerly without waiting and stays eager;
    a child builds the step meanwhile; the next run loads it and trains compiled, to the
    eager step's numbers up to float rounding."""
    start = time.perf_counter()
    first = Trainer(TRICKS, seeds=SEEDS)
    first.step()
    assert time.perf_counter() - start < 1.0, "the first step waited for the build"
    assert first.engine == "eager"
    step = compiling._COMPILED[first.key]
    step.wait(900)
    assert step.loaded and step.fell_back is None, step.fell_back
    first.train(2)
    first.update(lr_d=2e-4)  # a live change keeps the path the run started on
    first.step()
    assert first.engine == "eager", "a run switched from eager to compiled midway"
    assert first.replay_config().engine == "eager" and first.cfg.engine == "auto"

    compiled = Trainer(TRICKS, seeds=SEEDS)
    assert compiled.engine == "compiled"
    eager = Trainer(TRICKS, seeds=SEEDS, compile=False)
    for _ in range(3):
        compiled.step()
        eager.step()
    close(compiled.g, eager.g)
    close(compiled.d, eager.d)
    assert eager.engine == "eager"
    compiled.update(engine="eager")  # asked for by name: from the next step on
    compiled.step()
    assert compiled.engine == "eager"


def test_a_new_process_loads_a_built_step_in_milliseconds(fresh):
    Trainer(TRICKS, seeds=SEEDS).wait_compiled(900)  # built by the test above, or now
    compiling._COMPILED.clear()
    start = time.perf_counter()
    t = Trainer(TRICKS, seeds=SEEDS)
    assert t.engine == "compiled"
    assert time.perf_counter() - start < 1.0


def test_a_failing_package_falls_back_to_eager_once_and_training_goes_on(fresh, caplog):
    Trainer(TRICKS, seeds=SEEDS).wait_compiled(900)
    run = Trainer(TRICKS, seeds=SEEDS)
    assert run.engine == "compiled"

    def broken(*args):
        raise RuntimeError("kernel crashed")

    run._compiled.package = broken
    with caplog.at_level("WARNING", logger="gansim.compile"):
        run.train(3)
    assert run._compiled.fell_back == "RuntimeError: kernel crashed"
    assert sum("training eagerly" in r.message for r in caplog.records) == 1
    assert run.g_step == 3 and bool(run.alive.all()) and run.engine == "eager"


def test_ready_builds_without_blocking_and_the_run_starts_compiled(fresh, monkeypatch):
    """The app with engine=compiled (a link that says so): ready() starts the build (a
    child process, then a load in a thread) and returns False at once; the app trains
    only once it says True, so its run is the compiled run from the first step, bit for
    bit what a synchronous Trainer (`gansim run`) trains."""
    Trainer(TRICKS, seeds=SEEDS).wait_compiled(900)
    cfg = TRICKS.replace(engine="compiled")
    sync = Trainer(cfg, seeds=SEEDS)
    sync.train(3)
    assert sync.engine == "compiled"
    compiling._COMPILED.clear()  # a new process, whose child is held at a gate
    gate, children = threading.Event(), []
    monkeypatch.setattr(compiling, "on_disk", lambda key: False)
    monkeypatch.setattr(compiling, "compile_in_child",
                        lambda cfg, runs: (gate.wait(120), children.append(runs))[0])
    t = Trainer(cfg, seeds=SEEDS, background_compile=True)
    t._compiled.package = None  # found on disk at construction: as if it were not
    assert not t.ready() and t.compiling, "ready() must not block on the build"
    assert not t.ready() and t.g_step == 0
    gate.set()
    t.wait_compiled(120)
    assert t.ready() and not t.compiling and t._compiled.fell_back is None
    assert children == [2]
    t.train(3)
    for k, v in sync.g.items():
        assert torch.equal(t.g[k], v), k  # the warm-up drew nothing from the run's streams
    for k, v in sync.d.items():
        assert torch.equal(t.d[k], v), k


def test_a_failed_build_is_recorded_and_never_retried(fresh, monkeypatch):
    """A step inductor cannot build: the child writes why beside the package's name, and
    every later run of that setting trains eagerly without building again."""
    cfg = Config(**SMALL, loss="hinge")

    def cannot(*args):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(aot, "build", cannot)
    ahead._child_compiles([cfg.to_dict()], 1)
    t = Trainer(cfg)
    assert t.engine == "eager" and not t.compiling
    assert t._compiled is None and compiling._COMPILED[t.key].fell_back == "RuntimeError: no C++ compiler"
    assert compiling.on_disk(t.key)


def test_a_build_child_stops_with_its_parent(fresh):
    """No orphan: a child still building when this process stops it is killed."""
    done = []
    thread = threading.Thread(target=lambda: done.append(
        compiling.compile_in_child(Config(**SMALL, loss="least_squares"), 1)))
    thread.start()
    for _ in range(200):
        if compiling._CHILDREN:
            break
        time.sleep(0.05)
    (child,) = list(compiling._CHILDREN)
    compiling.stop_children()
    thread.join(30)
    assert done == [False] and child.poll() is not None


@pytest.mark.parametrize("env, asked, engine, mode", [
    (None, None, "auto", "auto"), (None, None, "eager", "eager"),
    (None, None, "compiled", "compiled"), (None, True, "auto", "compiled"),
    (None, False, "compiled", "eager"), ("1", None, "auto", "compiled"),
    ("1", False, "auto", "eager"), ("0", True, "compiled", "eager"),
    ("0", None, "auto", "eager")])
def test_the_engine_setting_decides_unless_the_caller_or_zero_says_otherwise(
        monkeypatch, env, asked, engine, mode):
    """A run's `engine` setting decides (auto by default); an explicit compile= (the
    benchmarks) overrides it, GANSIM_COMPILE=1 asks for compiled wherever nothing else
    is said, and GANSIM_COMPILE=0 forbids compiling everywhere (the tests)."""
    if env is None:
        monkeypatch.delenv("GANSIM_COMPILE", raising=False)
    else:
        monkeypatch.setenv("GANSIM_COMPILE", env)
    assert compiling.engine_mode(asked, engine) == mode
