"""The settings reference (docs/settings.md), written from config.FIELDS.

Every fact here is read from the code: the groups from the `# --- group ---` comments in
`Config`'s source, the allowed values and the help from FIELDS (through
`config.describe`, so the CLI's --help and this page say the same), the defaults from
`DEFAULT`, live or restart from `Field.restarts`. `python -m gansim settings --markdown`
prints it; tests/test_settings_doc.py fails when the committed copy is stale.
"""
from __future__ import annotations

import inspect
import json
import re

from .config import DEFAULT, FIELDS, Config, describe

FIX_COMMAND = "python -m gansim settings --markdown > docs/settings.md"

_GROUP = re.compile(r"^\s*# --- (.+?) ---\s*$")
_FIELD = re.compile(r"^\s*(\w+)\s*:")

_INTRO = f"""\
# Settings

<!-- Generated from gansim/config.py by `{FIX_COMMAND}`; do not edit by hand. -->

Every setting is a field of `gansim.config.Config`; the same names are used by
`--set key=value` and `--grid` on the command line, the app's shareable URL and the
lesson files. Each field is declared once in `gansim.config.FIELDS` (its range or
options, a help sentence, whether it restarts a run): the validation, the sidebar's
widget limits and help, `python -m gansim run --help` and this page all read it, and a
field without an entry fails at import. An out-of-range value is refused when the
Config is built, with the field, the value and the allowed range.

*Applies*: **live** settings change a running run without losing it; **restart**
settings change the networks' shape, the data or the random streams
(`gansim.config.RESTART_FIELDS`), so the run starts again. Same settings and seed give
identical samples on the CPU.
"""


def groups() -> list[tuple[str, list[str]]]:
    """(group title, field names) in Config's order, from its `# --- x ---` comments."""
    out: list[tuple[str, list[str]]] = []
    for line in inspect.getsource(Config).splitlines():
        group, field = _GROUP.match(line), _FIELD.match(line)
        if group:
            out.append((group.group(1), []))
        elif field and field.group(1) in FIELDS and out:
            out[-1][1].append(field.group(1))
    placed = {name for _, names in out for name in names}
    rest = [name for name in FIELDS if name not in placed]  # a field before any group comment
    return out + ([("other", rest)] if rest else [])


def allowed(name: str) -> str:
    """The allowed values as `describe` words them ("number in [0, 1000]", "one of ...")."""
    text = describe(name)
    return text[len(name) + 2:text.index("; default ")]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def row(name: str) -> str:
    """One table row: name, allowed values, default, live or restart, help."""
    shown = json.dumps(getattr(DEFAULT, name))  # tuples print as JSON lists
    applies = "restart" if FIELDS[name].restarts else "live"
    cells = (f"`{name}`", allowed(name), f"`{shown}`", applies, FIELDS[name].help)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown() -> str:
    """docs/settings.md: one table per group of Config's fields."""
    parts = [_INTRO]
    for title, names in groups():
        parts.append(f"## {title[0].upper()}{title[1:]}\n")
        parts.append("| setting | allowed | default | applies | what it does |")
        parts.append("|---|---|---|---|---|")
        parts.extend(row(name) for name in names)
        parts.append("")
    return "\n".join(parts)
