"""Headless gansim: `python -m gansim run | sweep | serve | settings | lessons check`.

Bad input (an unknown setting, a bad value, an unreadable config file) exits with code 2
and one line on stderr; a run that diverges keeps what it trained, writes its files and
exits with code 3.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
import tomllib
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from .config import FIELDS, Config, describe, split_setting
from .grid import UsageError, parse_grid

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


# --- configuration from files and --set ------------------------------------------

def load_config_file(path: str | Path) -> dict[str, Any]:
    """A flat {setting: value} table from a .json or .toml file."""
    path = Path(path)
    readers = {".json": lambda text: json.loads(text), ".toml": tomllib.loads}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise UsageError(f"config file {path} must end in .json or .toml")
    try:
        values = reader(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read config file {path}: {e.strerror or e}") from None
    except (ValueError, tomllib.TOMLDecodeError) as e:  # JSONDecodeError is a ValueError
        raise UsageError(f"config file {path} is not valid {path.suffix[1:].upper()}: "
                         f"{str(e).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise UsageError(f"config file {path} must hold a table of settings, "
                         f"e.g. {{\"loss\": \"wasserstein\"}}")
    return values


def parse_sets(items: Sequence[str], flag: str = "--set") -> dict[str, str]:
    """["key=value", ...] → {key: value} (text; Config.from_dict coerces it)."""
    out: dict[str, str] = {}
    for item in items:
        pair = split_setting(item)
        if pair is None:
            raise UsageError(f"{flag} expects key=value, got {item!r}")
        out[pair[0]] = pair[1].strip()
    return out


def resolve_config(file: str | None, sets: Sequence[str], seed: int | None = None) -> Config:
    """Defaults, then the config file, then --set, then --seed; validated as one Config."""
    values: dict[str, Any] = load_config_file(file) if file else {}
    values.update(parse_sets(sets))
    if seed is not None:
        values["seed"] = seed
    try:
        return Config.from_dict(values)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None


# --- progress bar -----------------------------------------------------------------

def progress_bar(total: int, label: str, unit: str = "steps", quiet: bool = False,
                 stream=None) -> tqdm:
    """tqdm on stderr; a log file (not a terminal) gets a line every 2 s, not thousands."""
    stream = stream or sys.stderr
    tty = getattr(stream, "isatty", lambda: False)()
    return tqdm(total=max(total, 1), desc=label, unit=unit, file=stream, disable=quiet,
                mininterval=0.1 if tty else 2.0, dynamic_ncols=tty, leave=True)


# --- run ----------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    """JSON has no NaN/Inf: write null; numpy scalars become plain numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_run(trainer, out: Path, seconds: float, requested: int) -> dict[str, Any]:
    """config.json, samples.npy, metrics.csv and summary.json for one trainer."""
    import numpy as np
    import pandas as pd

    from .metrics import EVAL_SAMPLES, precision_recall
    from .snapshot import verdict

    out.mkdir(parents=True, exist_ok=True)
    replay = trainer.replay_config()  # the step it trained with, not "auto"
    (out / "config.json").write_text(json.dumps(replay.to_dict(), indent=2) + "\n")
    samples = np.asarray(trainer.sample(EVAL_SAMPLES), dtype=np.float32)  # evaluation size
    np.save(out / "samples.npy", samples)
    history = trainer.history.as_arrays()
    pd.DataFrame(history).astype({"step": int}).to_csv(out / "metrics.csv", index=False)
    final = trainer.evaluate()
    precision, recall = precision_recall(trainer.real_eval.cpu().numpy(), samples)
    diag = verdict(trainer, history)
    summary = {
        "steps": trainer.g_step, "steps_requested": requested, "d_steps": trainer.d_step,
        "seconds": round(seconds, 3),
        "steps_per_s": round(trainer.g_step / seconds, 2) if seconds > 0 else None,
        "diverged": trainer.diverged,
        "final": {**final, "precision": precision, "recall": recall},
        "diagnosis": {"kind": getattr(diag, "kind", None),
                      "explanation": getattr(diag, "explanation", None)},
        "engine": trainer.engine,
        "changed": replay.changed(),
    }
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    return summary


def cmd_run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args.config, args.set, args.seed)
    if args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    import torch

    from .trainer import Diverged, Trainer

    torch.set_num_threads(1)  # one run, one core: sweeps and the app run beside it
    out = Path(args.out or f"runs/run-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        trainer = Trainer(cfg)
    except ValueError as e:  # e.g. device=cuda without a GPU, data=points without points
        raise UsageError(str(e)) from None
    bar = progress_bar(args.steps, "run", quiet=args.quiet)
    code, start = EXIT_OK, time.perf_counter()
    try:
        for _ in range(args.steps):
            trainer.step()
            bar.set_postfix_str(_note(trainer), refresh=False)
            bar.update(1)
    except Diverged as e:
        code = EXIT_DIVERGED
        bar.close()
        print(f"gansim: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
        bar.close()
        print(f"gansim: interrupted at step {trainer.g_step}; writing what was trained",
              file=sys.stderr)
    else:
        bar.close()
    seconds = time.perf_counter() - start
    summary = write_run(trainer, out, seconds, args.steps)
    if not args.quiet or code:
        f = summary["final"]
        print(f"gansim: {summary['steps']} steps in {seconds:.1f} s "
              f"({summary['steps_per_s'] or 0:.0f} steps/s, {trainer.engine} step); "
              f"modes {f.get('modes', 'n/a')}, "
              f"HQ {_pct(f.get('hq'))}; diagnosis: {summary['diagnosis']['kind']}; "
              f"files in {out}", file=sys.stderr)
    return code


def _note(trainer) -> str:
    modes = trainer.history.last("modes")
    return "" if math.isnan(modes) else f"modes {modes:.0f}"


def _pct(value) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.1f}%"


# --- sweep --------------------------------------------------------------------------

def cmd_sweep(args: argparse.Namespace) -> int:
    from . import sweep

    base = resolve_config(args.config, args.set)
    if args.seeds < 1 or args.steps < 1 or args.eval_last < 1:
        raise UsageError("--seeds, --steps and --eval-last must be >= 1")
    if args.seed_batch < 0:
        raise UsageError(f"--seed-batch must be >= 0 (0: automatic), got {args.seed_batch}")
    try:
        jobs = sweep.expand(base, parse_grid(args.grid), list(range(args.seeds)))
    except ValueError as e:
        raise UsageError(str(e)) from None
    import torch

    torch.set_num_threads(1)
    out = Path(args.out or f"runs/sweep-{time.strftime('%Y%m%d-%H%M%S')}")
    n_jobs, backend = _sweep_backend(args)
    bar = progress_bar(len(jobs), "sweep", unit="runs", quiet=args.quiet)
    start = time.perf_counter()

    def progress(done: int, total: int, row: dict) -> None:
        bar.total = max(total, 1)
        note = f"last: {row['setting']} seed {row['seed']}" if row else ""
        bar.set_postfix_str(note[:60], refresh=False)
        bar.update(done - bar.n)

    try:
        df = sweep.run_jobs(jobs, args.steps, out, n_jobs, args.eval_last, progress,
                            args.seed_batch, backend)
    except ValueError as e:  # e.g. runs.csv made with other settings
        bar.close()
        raise UsageError(str(e)) from None
    except KeyboardInterrupt:
        bar.close()
        print(f"gansim: interrupted; finished runs are in {out / 'runs.csv'}, "
              f"rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    bar.close()
    if not args.quiet:
        print(sweep.summary_table(sweep.summarize(df)))
        print(f"gansim: {len(df)} runs ({int(df['diverged'].sum())} diverged) in "
              f"{time.perf_counter() - start:.0f} s; summary in {out}", file=sys.stderr)
    return EXIT_OK


def _sweep_backend(args: argparse.Namespace):
    """(cores to plan for, backend): the local pool, or Ray with --ray [ADDRESS]."""
    if args.ray is None:
        return args.jobs or os.cpu_count() or 1, None
    from . import sweep_ray

    try:
        cpus = sweep_ray.connect(args.ray or None, args.jobs)
    except sweep_ray.RayMissing as e:
        raise UsageError(str(e)) from None
    except ConnectionError as e:
        raise UsageError(f"--ray {args.ray}: {e}") from None
    return args.jobs or cpus, sweep_ray.results


# --- serve --------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    import shutil

    from . import serve

    try:
        server = serve.start(args.workers or len(os.sched_getaffinity(0)), args.port,
                             args.host, args.nginx)
    except serve.NginxMissing as e:
        raise UsageError(str(e)) from None
    except ValueError as e:
        raise UsageError(str(e)) from None
    except RuntimeError as e:
        print(f"gansim serve: {e}", file=sys.stderr)
        return EXIT_FAILED
    print(f"gansim serve: {server.url}/ -> {len(server.workers)} workers on ports "
          f"{', '.join(map(str, server.worker_ports))} (logs in {server.tmp}); "
          f"Ctrl-C stops", file=sys.stderr, flush=True)
    code = serve.serve_forever(server)
    if code == EXIT_OK:
        shutil.rmtree(server.tmp, ignore_errors=True)
    return code


# --- lessons ------------------------------------------------------------------------

def cmd_lessons(args: argparse.Namespace) -> int:
    from . import lesson_check

    return lesson_check.main(seeds=args.seeds, lesson_id=args.lesson, jobs=args.jobs,
                             out=args.out)


# --- settings -----------------------------------------------------------------------

def cmd_settings(args: argparse.Namespace) -> int:
    """Every setting: one line each, or docs/settings.md's Markdown with --markdown."""
    if args.markdown:
        from .settings_doc import markdown

        sys.stdout.write(markdown())
    else:
        print("\n".join(describe(name) for name in FIELDS))
    return EXIT_OK


# --- build ----------------------------------------------------------------------------

def cmd_build(args: argparse.Namespace) -> int:
    """Build compiled steps now: the given settings', or the default and every lesson's."""
    from . import ahead
    from .lessons import load_all

    if args.config or args.set:
        cfgs = [resolve_config(args.config, args.set, None)]
    else:
        cfgs = list(ahead.lesson_settings(load_all()))
    if args.runs < 1:
        raise UsageError(f"--runs must be >= 1, got {args.runs}")
    start = time.perf_counter()
    built, failed = ahead.build_now(cfgs, args.runs)
    print(f"gansim build: {built} built, {failed} failed (those train eagerly), the rest "
          f"already on this machine; {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return EXIT_OK


# --- wiring -------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like a bad setting."""

    def error(self, message: str):
        raise UsageError(f"{message} (see: python -m {self.prog.split()[0]} -h)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gansim", description="Headless GAN runs and sweeps.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(sp):
        sp.add_argument("--config", metavar="FILE", help="settings as .json or .toml")
        sp.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="one setting (repeatable); beats the config file")
        sp.add_argument("--steps", type=int, default=3000, help="G steps per run")
        sp.add_argument("--out", metavar="DIR", help="output folder (default runs/...)")
        sp.add_argument("--quiet", action="store_true", help="no progress bar")

    settings = "settings for --set KEY=VALUE and --grid:\n" + "\n".join(
        textwrap.fill(describe(name), 88, initial_indent="  ", subsequent_indent="      ")
        for name in FIELDS)
    listed = {"epilog": settings, "formatter_class": argparse.RawDescriptionHelpFormatter}
    run = sub.add_parser("run", help="train one run and write its files", **listed)
    common(run)
    run.add_argument("--seed", type=int, help="the run's seed (beats --set seed=)")
    run.set_defaults(func=cmd_run)

    sw = sub.add_parser("sweep", help="a grid of settings × seeds on every core", **listed)
    common(sw)
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                    help="values to sweep for one setting (repeatable)")
    sw.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per setting")
    sw.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    sw.add_argument("--eval-last", type=int, default=3,
                    help="judge each run on the mean of its last K evaluations")
    sw.add_argument("--seed-batch", type=int, default=0, metavar="N",
                    help="train up to N seeds of a setting as one stacked model "
                         "(0: automatic, 1: one run per process)")
    sw.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                    help="run the tasks on Ray: a local Ray, or the cluster at ADDRESS "
                         "(host:port of `ray start --head`)")
    sw.set_defaults(func=cmd_sweep)

    srv = sub.add_parser("serve", help="a class server: N app workers behind nginx")
    srv.add_argument("--workers", type=int, help="app processes (default: all cores)")
    srv.add_argument("--port", type=int, default=8080, help="the port students open")
    srv.add_argument("--host", default="0.0.0.0", help="address to listen on")
    srv.add_argument("--nginx", metavar="PATH", help="the nginx binary (default: PATH, /usr/sbin)")
    srv.set_defaults(func=cmd_serve)

    st = sub.add_parser("settings", help="list every setting (--markdown: docs/settings.md)")
    st.add_argument("--markdown", action="store_true",
                    help="print the settings reference as Markdown (docs/settings.md)")
    st.set_defaults(func=cmd_settings)

    bd = sub.add_parser("build", help="build the compiled steps now (default: the default "
                                      "settings' and every lesson's), ~30 s each", **listed)
    bd.add_argument("--config", metavar="FILE", help="settings as .json or .toml")
    bd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="one setting (repeatable): build only these settings' step")
    bd.add_argument("--runs", type=int, default=1, help="seeds stacked in one step (sweeps)")
    bd.set_defaults(func=cmd_build)

    lessons = sub.add_parser("lessons", help="lesson tools")
    lsub = lessons.add_subparsers(dest="action", required=True, parser_class=_Parser)
    check = lsub.add_parser("check", help="check every lesson's claims over seeds")
    check.add_argument("--seeds", type=int, default=20,
                       help="seeds 0..N-1; a claim may miss on at most 5 %% of them, rounded up")
    check.add_argument("--lesson", help="only this lesson id")
    check.add_argument("--jobs", type=int)
    check.add_argument("--out", help="also write the table to this file")
    check.set_defaults(func=cmd_lessons)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as e:
        print(f"gansim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
