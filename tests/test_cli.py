"""`python -m gansim run`: files, exit codes and one-line errors."""
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gansim import Config
from gansim.cli import UsageError, main, parse_grid, progress_bar
from gansim.config import FIELD_NAMES
from gansim.history import KEYS

ROOT = Path(__file__).resolve().parents[1]
# Reliably NaN within a few steps (checked on seeds 0-2): SGD at lr 1 on an unbounded critic.
DIVERGING = ["--set", "optimizer=sgd", "--set", "lr_d=1", "--set", "lr_g=1",
             "--set", "loss=wasserstein"]


def cli(*argv):
    """Run `python -m gansim` in a fresh process: exit code and stderr as a person sees them."""
    p = subprocess.run([sys.executable, "-m", "gansim", *argv], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stderr


def one_line_error(err: str) -> str:
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_short_run_writes_the_four_files(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--steps", "30", "--seed", "3", "--set", "loss=hinge", "--out",
                 str(out), "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert set(cfg) == FIELD_NAMES
    # The step it trained with, not "auto", so the file replays it (eager: conftest).
    assert Config.from_dict(cfg) == Config(loss="hinge", seed=3, engine="eager")
    samples = np.load(out / "samples.npy")
    assert samples.shape == (2500, 2) and samples.dtype == np.float32
    assert np.isfinite(samples).all()
    metrics = pd.read_csv(out / "metrics.csv")
    assert tuple(metrics.columns) == KEYS
    assert metrics["step"].tolist() == [10, 20, 30]  # one row per logged step
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 30 and summary["diverged"] is None
    assert summary["engine"] == "eager"
    assert summary["seconds"] > 0 and summary["steps_per_s"] > 0
    for key in ("modes", "hq", "reverse_kl", "distance", "precision", "recall"):
        assert key in summary["final"]
    assert 0 <= summary["final"]["precision"] <= 1
    assert summary["diagnosis"]["kind"] and summary["diagnosis"]["explanation"]


def test_config_files_json_and_toml_then_set_then_seed(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"loss": "wasserstein", "gp": 10, "seed": 1}))
    (tmp_path / "a.toml").write_text('loss = "wasserstein"\ngp = 10\nseed = 1\n')
    for name in ("a.json", "a.toml"):
        out = tmp_path / name.replace(".", "_")
        assert main(["run", "--config", str(tmp_path / name), "--set", "gp=5", "--seed", "2",
                     "--steps", "1", "--out", str(out), "--quiet"]) == 0
        cfg = Config.from_dict(json.loads((out / "config.json").read_text()))
        assert cfg == Config(loss="wasserstein", gp=5.0, seed=2, engine="eager")


def test_a_resolved_config_json_runs_again_unchanged(tmp_path):
    assert main(["run", "--steps", "1", "--set", "mbstd=true", "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert main(["run", "--steps", "1", "--config", str(tmp_path / "a" / "config.json"),
                 "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert (tmp_path / "a" / "config.json").read_text() == (tmp_path / "b" / "config.json").read_text()


def test_a_typo_in_set_exits_2_naming_the_field():
    code, err = cli("run", "--set", "los=hinge", "--steps", "5", "--out", "/nonexistent/x")
    assert code == 2
    line = one_line_error(err)
    assert "'los'" in line and "did you mean 'loss'" in line


@pytest.mark.parametrize("setting, named", [("gp=abc", "gp"), ("gp=-1", "gp"),
                                            ("loss=hingee", "loss"), ("batch", "key=value")])
def test_a_bad_value_exits_2_with_one_line(capsys, setting, named):
    assert main(["run", "--set", setting, "--out", "/nonexistent/x"]) == 2
    assert named in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("name, text, says", [
    ("missing.json", None, "cannot read"),
    ("bad.json", '{"loss": "hinge",', "not valid JSON"),
    ("bad.toml", 'loss = "hinge\n', "not valid TOML"),
    ("list.json", "[1, 2]", "table of settings"),
    ("typo.toml", 'lossx = "hinge"\n', "lossx"),
    ("cfg.yaml", "loss: hinge", ".json or .toml"),
])
def test_a_bad_config_file_exits_2_with_one_line(tmp_path, capsys, name, text, says):
    if text is not None:
        (tmp_path / name).write_text(text)
    assert main(["run", "--config", str(tmp_path / name), "--out", str(tmp_path / "o")]) == 2
    assert says in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()  # nothing ran


def test_a_usage_mistake_is_one_line_and_exit_2():
    code, err = cli("run", "--steps", "many")
    assert code == 2
    assert "--steps" in one_line_error(err)


def test_a_diverging_run_exits_3_and_keeps_its_files(tmp_path):
    out = tmp_path / "boom"
    code, err = cli("run", *DIVERGING, "--steps", "200", "--out", str(out), "--quiet")
    assert code == 3, err
    assert "diverged" in err and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["diverged"] and summary["steps"] < 200
    assert summary["diagnosis"]["kind"]
    assert np.load(out / "samples.npy").shape == (2500, 2)
    assert (out / "metrics.csv").exists() and (out / "config.json").exists()


def test_grid_values_split_on_commas_outside_brackets():
    grid = parse_grid(["gp=0,10", "custom_centers=[[0,0],[2,2]],[[1,1]]"])
    assert grid == {"gp": ["0", "10"], "custom_centers": ["[[0,0],[2,2]]", "[[1,1]]"]}
    with pytest.raises(UsageError, match="twice"):
        parse_grid(["gp=0", "gp=10"])
    with pytest.raises(UsageError, match="comma-separated"):
        parse_grid(["gp=0,,1"])


def test_run_help_lists_every_setting_from_the_field_table(capsys):
    from gansim.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    assert "  pack: integer in [1, 8]; default 1. D judges this many" in text
    assert "  lr_d: number in (0, 1]; default 0.0001." in text
    assert "  seed: integer in [0, 2147483647]" in text
    assert all(f"  {name}: " in text for name in FIELD_NAMES)


def test_the_progress_bar_is_sparse_in_a_log_and_silent_when_quiet():
    log = io.StringIO()  # not a terminal: a log file gets a line every 2 s, not one a step
    bar = progress_bar(100, "run", stream=log)
    for _ in range(100):
        bar.set_postfix_str("modes 3", refresh=False)
        bar.update(1)
    bar.close()
    assert log.getvalue().count("\r") == 2 and "100/100" in log.getvalue()
    assert "modes 3" in log.getvalue()
    quiet = io.StringIO()
    bar = progress_bar(100, "run", quiet=True, stream=quiet)
    bar.update(100)
    bar.close()
    assert quiet.getvalue() == ""
