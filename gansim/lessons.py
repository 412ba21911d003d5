"""Lessons: TOML files in lessons/ loaded into validated dataclasses.

A lesson is data: its text, its starting Config, and steps that change settings,
train, ask a question first and state what the run must show. Errors name the file and
the key, so a teacher editing a lesson knows what to fix.
"""
from __future__ import annotations

import math
import operator
import statistics
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import FIELD_NAMES, Config
from .diagnosis import KINDS
from .game_config import CLAIM_NAMES, GameConfig
from .history import KEYS

LESSON_DIR = Path(__file__).resolve().parents[1] / "lessons"
OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt,
       "==": operator.eq}
AGGREGATES = {"mean": lambda v: sum(v) / len(v), "median": statistics.median,
              "min": min, "max": max, "last": lambda v: v[-1],
              # spread over the window: an oscillating run swings, a settled one does not
              "std": statistics.pstdev,
              "range": lambda v: max(v) - min(v)}
# What one training step of a lesson's run is: the full step, or one player alone
# (lesson 1 steps D, then G, so the class sees each phase on its own).
PHASES = {"both": lambda trainer: trainer.step(), "d": lambda trainer: trainer.step_d(),
          "g": lambda trainer: trainer.step_g()}
# How the page draws during a step's run: "normal" leaves the class's speed alone; "fewer"
# switches the app's speed control to fewer, longer frames for a costly run, so more of
# the machine trains (one session at "Normal" trains ~57 % of the time, the rest is
# drawing and waiting for the browser's next tick: gansim/ui/fair.py).
FRAMES = ("normal", "fewer")
# Prose a teacher reads in class stays short: what to point at, what to ask, the common
# misreadings, how long it takes. Recipes tried and seeds that held belong in
# docs/lesson-screening.md, so lab notes do not creep back into the lesson files.
MAX_CHARS = {"teacher_notes": 1200, "minutes": 300}
# Keys a step's [[steps.expect]] may test: history columns plus derived ones.
EXPECT_METRICS = set(KEYS) - {"step"} | {"g_grad_ratio"}


class LessonError(ValueError):
    """A lesson file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: tuple[str, ...]
    answer: int  # index into choices
    feedback: tuple[str, ...]  # one sentence per choice


@dataclass(frozen=True)
class Expectation:
    """A measurable claim, e.g. median of `modes` over the last 5 evaluations <= 3."""

    metric: str
    op: str
    value: float
    window: int = 5  # how many of the newest logged values to aggregate
    agg: str = "median"
    text: str = ""  # the claim in words, for tables and the app

    def describe(self) -> str:
        return self.text or f"{self.agg} {self.metric} (last {self.window}) {self.op} {self.value:g}"

    def measure(self, history: dict[str, list[float]]) -> float:
        """The aggregated metric; nan when the run logged none."""
        if self.metric == "g_grad_ratio":
            values = _grad_ratio(history)
        else:
            values = [v for v in history[self.metric] if not math.isnan(v)]
        values = values[-self.window:]
        return AGGREGATES[self.agg](values) if values else math.nan

    def holds(self, history: dict[str, list[float]]) -> tuple[bool, float]:
        got = self.measure(history)
        return (not math.isnan(got) and OPS[self.op](got, self.value)), got


def _grad_ratio(history: dict[str, list[float]]) -> list[float]:
    """G's gradient norm relative to its first logged value (vanishing gradients)."""
    g = [v for v in history["g_grad"] if not math.isnan(v)]
    return [v / g[0] for v in g] if g and g[0] > 0 else []


@dataclass(frozen=True)
class GameClaim:
    """An exact claim about a step's Dirac-GAN game, e.g. spectral_radius > 1: measured
    once by gansim/dirac.py (no seeds: the game is deterministic)."""

    metric: str  # a name in game_config.CLAIM_NAMES
    op: str
    value: float
    text: str = ""

    def describe(self) -> str:
        return "Dirac-GAN, exact: " + (self.text or f"{self.metric} {self.op} {self.value:g}")

    def judge(self, measured: float) -> bool:
        return not math.isnan(measured) and OPS[self.op](measured, self.value)


@dataclass(frozen=True)
class Step:
    text: str
    changes: dict = field(default_factory=dict)  # Config fields set before the run
    train: int = 0  # training steps to run (0: a reading step)
    reset: bool = False  # start a fresh Trainer (new weights) before this run
    question: Question | None = None  # asked before the run
    expect: tuple[Expectation, ...] = ()
    label: str = ""  # short name of the run for tables ("collapse", "cure")
    phase: str = "both"  # "d" or "g": train only that player for `train` steps
    frames: str = "normal"  # "fewer": the app draws fewer frames during this run (FRAMES)
    # The same idea on the Dirac-GAN (gansim/dirac.py): its settings (unset = defaults;
    # not carried to later steps) and exact claims about it.
    game: GameConfig | None = None
    game_claims: tuple[GameClaim, ...] = ()
    # The banner's verdicts (gansim.diagnosis.KINDS) this run may end on: a cure's run
    # ends "healthy", a collapse's "mode_collapse". The check and the lesson panel judge
    # the verdict the stopped run shows, so the page never contradicts the lesson.
    verdicts: tuple[str, ...] = ()

    def verdict_claim(self) -> str:
        """The step's verdict claim in words, for the check's table and the lesson panel."""
        return "the banner ends on " + " or ".join(f"“{KINDS[k]}”" for k in self.verdicts)

    def run(self, trainer) -> None:
        """Train this step's run on `trainer` (the app and the check both call this)."""
        advance = PHASES[self.phase]
        for _ in range(self.train):
            advance(trainer)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    goal: str
    config: Config
    steps: tuple[Step, ...]
    teacher_notes: str = ""
    controls: tuple[str, ...] = ()  # Config fields the lesson shows; others locked
    minutes: str = ""  # honest note on how long the runs take on a laptop
    path: str = ""

    def config_at(self, index: int) -> Config:
        """The Config in force during step `index` (all earlier changes applied)."""
        cfg = self.config
        for step in self.steps[: index + 1]:
            cfg = cfg.replace(**step.changes)
        return cfg


# --- loading ----------------------------------------------------------------------

def load_lesson(path: str | Path) -> Lesson:
    """Read and validate one lesson file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise LessonError(f"{path.name}: not valid TOML: {err}") from None
    return _lesson(raw, path.name)


def load_all(directory: str | Path = LESSON_DIR) -> list[Lesson]:
    """Every lesson in the folder, in file-name order (files are numbered)."""
    lessons = [load_lesson(p) for p in sorted(Path(directory).glob("*.toml"))]
    ids = [lesson.id for lesson in lessons]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise LessonError(f"lesson ids must be unique; repeated: {', '.join(sorted(dupes))}")
    return lessons


def _need(raw: dict, key: str, kind: type, where: str) -> Any:
    if key not in raw:
        raise LessonError(f"{where}: missing key '{key}'")
    value = raw[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LessonError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _no_extra(raw: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise LessonError(f"{where}: unknown key '{extra[0]}' (allowed: {', '.join(sorted(allowed))})")


def _lesson(raw: dict, name: str) -> Lesson:
    _no_extra(raw, {"id", "title", "goal", "config", "steps", "teacher_notes", "controls",
                    "minutes"}, name)
    try:
        cfg = Config.from_dict(_need(raw, "config", dict, name))
    except ValueError as err:
        raise LessonError(f"{name}: [config]: {err}") from None
    for key, limit in MAX_CHARS.items():
        _short(raw.get(key, ""), limit, f"{name}: '{key}'")
    raw_steps = _need(raw, "steps", list, name)
    if not raw_steps:
        raise LessonError(f"{name}: a lesson needs at least one [[steps]]")
    steps = tuple(_step(s, f"{name}: steps[{i}]") for i, s in enumerate(raw_steps))
    controls = tuple(raw.get("controls", ()))
    bad = [c for c in controls if c not in FIELD_NAMES]
    if bad:
        raise LessonError(f"{name}: controls: unknown setting '{bad[0]}'")
    lesson = Lesson(id=_need(raw, "id", str, name), title=_need(raw, "title", str, name),
                    goal=_need(raw, "goal", str, name), config=cfg, steps=steps,
                    teacher_notes=raw.get("teacher_notes", ""), controls=controls,
                    minutes=raw.get("minutes", ""), path=name)
    labels = [s.label or f"step {i + 1}" for i, s in enumerate(steps)
              if s.expect or s.game_claims or s.verdicts]
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:  # the check's table keys its rows on the run's label
        raise LessonError(f"{name}: steps with 'expect' need distinct labels; repeated: "
                          f"{', '.join(repeated)}")
    for i in range(len(steps)):  # every step's changes must give a valid Config
        try:
            lesson.config_at(i)
        except ValueError as err:
            raise LessonError(f"{name}: steps[{i}].changes: {err}") from None
    return lesson


def _short(text: Any, limit: int, where: str) -> None:
    if not isinstance(text, str):
        raise LessonError(f"{where} must be text, got {text!r}")
    if len(text) > limit:
        raise LessonError(f"{where} has {len(text)} characters; keep it to {limit} (what to "
                          f"point at, what to ask, the misreadings) and move screening "
                          f"records to docs/lesson-screening.md")


def _step(raw: dict, where: str) -> Step:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: must be a table")
    _no_extra(raw, {"text", "changes", "train", "reset", "question", "expect", "label", "phase",
                    "frames", "game", "game_claims", "verdicts"}, where)
    train = raw.get("train", 0)
    if not isinstance(train, int) or isinstance(train, bool) or not 0 <= train <= 100_000:
        raise LessonError(f"{where}: 'train' must be an integer in [0, 100000], got {train!r}")
    expect = tuple(_expect(e, f"{where}.expect[{i}]") for i, e in enumerate(raw.get("expect", [])))
    if expect and not train:
        raise LessonError(f"{where}: 'expect' needs a run: set 'train' > 0")
    changes = raw.get("changes", {})
    if not isinstance(changes, dict):
        raise LessonError(f"{where}: 'changes' must be a table of settings")
    question = _question(raw["question"], f"{where}.question") if "question" in raw else None
    phase = raw.get("phase", "both")
    if phase not in PHASES:
        raise LessonError(f"{where}: 'phase' must be one of {', '.join(PHASES)}, got {phase!r}")
    if phase == "d" and expect:
        raise LessonError(f"{where}: 'expect' needs G steps (phase \"both\" or \"g\"): "
                          f"metrics are logged after G steps")
    frames = raw.get("frames", "normal")
    if frames not in FRAMES:
        raise LessonError(f"{where}: 'frames' must be one of {', '.join(FRAMES)}, got {frames!r}")
    game, game_claims = _game(raw, where)
    verdicts = _verdicts(raw.get("verdicts", []), where)
    if verdicts and (not train or phase == "d"):
        raise LessonError(f"{where}: 'verdicts' judge the end of a run with G steps: set "
                          f"'train' > 0 (phase \"both\" or \"g\")")
    return Step(text=_need(raw, "text", str, where), changes=changes, train=train,
                reset=bool(raw.get("reset", False)), question=question, expect=expect,
                label=raw.get("label", ""), phase=phase, frames=frames, game=game,
                game_claims=game_claims, verdicts=verdicts)


def _verdicts(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise LessonError(f"{where}: 'verdicts' must be a list of verdict names, got {raw!r}")
    bad = [v for v in raw if v not in KINDS]
    if bad:
        raise LessonError(f"{where}: unknown verdict '{bad[0]}' (one of {', '.join(KINDS)})")
    return tuple(raw)


def _game(raw: dict, where: str) -> tuple[GameConfig | None, tuple[GameClaim, ...]]:
    """A step's [steps.game] settings and [[steps.game_claims]] (both optional)."""
    game = None
    if "game" in raw:
        if not isinstance(raw["game"], dict):
            raise LessonError(f"{where}: 'game' must be a table of Dirac-GAN settings")
        try:
            game = GameConfig.from_dict(raw["game"])
        except ValueError as err:
            raise LessonError(f"{where}.game: {err}") from None
    claims = raw.get("game_claims", [])
    if not isinstance(claims, list):
        raise LessonError(f"{where}: 'game_claims' must be a list of tables "
                          f"([[steps.game_claims]])")
    if claims and game is None:
        raise LessonError(f"{where}: 'game_claims' needs a game: add a [steps.game] table "
                          f"(it may be empty for the default game)")
    return game, tuple(_game_claim(c, f"{where}.game_claims[{i}]") for i, c in enumerate(claims))


def _game_claim(raw: dict, where: str) -> GameClaim:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: must be a table")
    _no_extra(raw, {"metric", "op", "value", "text"}, where)
    metric = _need(raw, "metric", str, where)
    if metric not in CLAIM_NAMES:
        raise LessonError(f"{where}: unknown game metric '{metric}' (one of "
                          f"{', '.join(CLAIM_NAMES)})")
    op = _need(raw, "op", str, where)
    if op not in OPS:
        raise LessonError(f"{where}: 'op' must be one of {' '.join(OPS)}, got {op!r}")
    return GameClaim(metric, op, _need(raw, "value", float, where), raw.get("text", ""))


def _question(raw: dict, where: str) -> Question:
    _no_extra(raw, {"prompt", "choices", "answer", "feedback"}, where)
    choices = tuple(_need(raw, "choices", list, where))
    feedback = tuple(_need(raw, "feedback", list, where))
    answer = _need(raw, "answer", int, where)
    if len(choices) < 2:
        raise LessonError(f"{where}: 'choices' needs at least two answers")
    if not 0 <= answer < len(choices):
        raise LessonError(f"{where}: 'answer' must index 'choices' (0..{len(choices) - 1}), got {answer}")
    if len(feedback) != len(choices):
        raise LessonError(f"{where}: 'feedback' needs one entry per choice ({len(choices)}), got {len(feedback)}")
    return Question(_need(raw, "prompt", str, where), choices, answer, feedback)


def _expect(raw: dict, where: str) -> Expectation:
    _no_extra(raw, {"metric", "op", "value", "window", "agg", "text"}, where)
    metric = _need(raw, "metric", str, where)
    if metric not in EXPECT_METRICS:
        raise LessonError(f"{where}: unknown metric '{metric}' (one of {', '.join(sorted(EXPECT_METRICS))})")
    op = _need(raw, "op", str, where)
    if op not in OPS:
        raise LessonError(f"{where}: 'op' must be one of {' '.join(OPS)}, got {op!r}")
    agg = raw.get("agg", "median")
    if agg not in AGGREGATES:
        raise LessonError(f"{where}: 'agg' must be one of {', '.join(AGGREGATES)}, got {agg!r}")
    window = raw.get("window", 5)
    if not isinstance(window, int) or window < 1:
        raise LessonError(f"{where}: 'window' must be a positive integer, got {window!r}")
    return Expectation(metric, op, _need(raw, "value", float, where), window, agg, raw.get("text", ""))
