"""The shareable link: Config ↔ URL query parameters, validated on the way in.

Only fields that differ from the defaults go into the URL, so links stay short. A
link is untrusted input: unknown names, bad values and oversized parameters are
dropped one by one with a message naming the field, and the rest still apply.
The Dirac-GAN game's settings ride along as `dirac_<field>` (gansim/game_config.py),
and `arena` names a view a link may open (arena_modes.LINKS).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..config import DEFAULT, FIELD_NAMES, Config, coerce
from ..game_config import GAME_FIELDS, QUERY_PREFIX, GameConfig

MAX_VALUE_LEN = 2000  # a custom mixture of 100 centres fits; a pasted essay does not
MAX_PARAMS = 80  # above every setting, every dirac_* one and the lesson, run, arena keys (61)
LESSON_KEYS = ("lesson", "lesson_step")
RUN_KEY = "run"  # the tab's token for its kept run (gansim/ui/runstore.py), not a setting
ARENA_KEY = "arena"  # the arena view a link opens (arena_modes.LINKS), not a setting
GAME_KEYS = {QUERY_PREFIX + name for name in GAME_FIELDS}


@dataclass
class Parsed:
    """What a URL asked for, and what was wrong with it."""

    config: Config = DEFAULT
    lesson: str | None = None
    lesson_step: int = 0
    run: str | None = None  # the tab's run token, checked by the run store
    game: GameConfig = GameConfig()  # the Dirac-GAN game's settings (dirac_*)
    arena: str | None = None  # the arena view asked for, checked by the page
    warnings: list[str] = field(default_factory=list)


def parse(params: Mapping[str, Any]) -> Parsed:
    """A Config from query parameters; bad ones are skipped with a warning each."""
    out = Parsed()
    items = list(params.items())
    if len(items) > MAX_PARAMS:
        out.warnings.append(f"the link has {len(items)} parameters (at most {MAX_PARAMS}); "
                            f"it was ignored and the defaults are used")
        return out
    values: dict[str, Any] = {}
    game: dict[str, Any] = {}
    for name, raw in items:
        text = _text(raw)
        problem = _problem(name, text)
        if problem:
            out.warnings.append(problem)
        elif name in LESSON_KEYS:
            _lesson_key(out, name, text)
        elif name == RUN_KEY:
            out.run = text
        elif name == ARENA_KEY:
            out.arena = text
        elif name in GAME_KEYS:
            _game_key(game, name, text, out.warnings)
        else:
            try:
                values[name] = coerce(name, text)
            except ValueError as err:
                out.warnings.append(_dropped(name, err))
    out.config = _build(values, out.warnings)
    out.game = GameConfig.from_dict(game)  # each value was checked alone; fields are independent
    return out


def _game_key(game: dict[str, Any], name: str, text: str, warnings: list[str]) -> None:
    """One dirac_* value, kept if it makes a valid game on its own."""
    field_name = name[len(QUERY_PREFIX):]
    try:
        GameConfig.from_dict({field_name: text})
    except ValueError as err:
        default = getattr(GameConfig(), field_name)
        warnings.append(f"link parameter {name}: {err}; using the default ({default})")
        return
    game[field_name] = text


def _build(values: dict[str, Any], warnings: list[str]) -> Config:
    """Config.from_dict, dropping the field each error names until the rest fit."""
    values = dict(values)
    for _ in range(len(values) + 1):
        try:
            return Config.from_dict(values)
        except ValueError as err:
            name = _leading_field(str(err))
            if name not in values:
                warnings.append(f"the link's settings do not fit together: {err}; "
                                f"using the defaults")
                return DEFAULT
            values.pop(name)
            warnings.append(_dropped(name, err))
    return DEFAULT


def _leading_field(message: str) -> str:
    """The setting an error message starts with ("lr_d must be …" → "lr_d")."""
    head = ""
    for ch in message:
        if not (ch.isalnum() or ch == "_"):
            break
        head += ch
    return head


def _dropped(name: str, err: Exception) -> str:
    return (f"link parameter {name}: {err}; using the default "
            f"({_show(getattr(DEFAULT, name))})")


def _text(raw: Any) -> str:
    # st.query_params gives the last value of a repeated key; a list may still arrive.
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    return str(raw)


def _problem(name: str, text: str) -> str | None:
    shown = name if len(name) <= 40 else name[:40] + "…"
    if name not in FIELD_NAMES | GAME_KEYS and name not in LESSON_KEYS + (RUN_KEY, ARENA_KEY):
        return f"link parameter '{shown}' is not a setting and was ignored"
    if len(text) > MAX_VALUE_LEN:
        return (f"link parameter {name} is {len(text)} characters long (at most "
                f"{MAX_VALUE_LEN}); using the default")
    return None


def _lesson_key(out: Parsed, name: str, text: str) -> None:
    if name == "lesson":
        out.lesson = text
        return
    try:
        out.lesson_step = max(0, int(text))
    except ValueError:
        out.warnings.append(f"link parameter lesson_step must be a whole number, got "
                            f"{text[:20]!r}; starting at step 1")


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (tuple, list)) else str(value)


def to_params(cfg: Config, lesson: str | None = None, lesson_step: int = 0,
              game: GameConfig = GameConfig(), arena: str | None = None) -> dict[str, str]:
    """The query parameters that reproduce cfg (and a lesson step, the game's settings and
    a linked arena view): non-defaults only."""
    params = {name: _encode(value) for name, value in sorted(cfg.changed().items())}
    if lesson:
        params["lesson"] = lesson
        params["lesson_step"] = str(lesson_step)
    params.update(sorted(game.to_query().items()))
    if arena:
        params[ARENA_KEY] = arena
    return params


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)
