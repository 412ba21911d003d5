"""The live film's own route: the arena's newest payload, fetched by the browser.

While the page plays, the film (arena_canvas.js) asks `GET <base>/gansim/film/<token>`
every `transport.live_tick()` seconds and eases to each answer. Before, every payload
was a rerun of the live fragment: the browser rebuilt the counters, the banner and the
story 2.5 times a second to move the points, about a seventh of its core beside the
painting (docs/benchmarks.md, "The film's own route"). Now the fragment reruns once a
second for the words and the story, and the points come here.

`streamlit run app.py` serves the route (app.py is an `st.App` with these routes). A
page served without it (`streamlit run page.py`) still works: its film takes the
payloads its reruns carry, once a second.

Each tab gets a random token; the route answers only tokens of live tabs (the session
keeps its `Source`, and this module holds it weakly, so a closed tab's token dies with
its session). No streamlit import: testable without a page.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
import weakref
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import fair
from .arena_payload import arena_payload

PATH = "/gansim/film"  # under the server's baseUrlPath; outside Streamlit's reserved routes
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # what secrets.token_urlsafe(16) makes
NOT_FOUND = Response("no film under this token (the tab has closed?)", status_code=404,
                     media_type="text/plain")


def payload(run, snap, options: dict) -> dict:
    """The arena of `snap` as the film draws it, with the run's line: the film never eases
    back to an older snapshot of the same line (a payload may overtake another)."""
    return {**arena_payload(snap, **options), "line": run.line}


class Source:
    """What one tab's film shows: its run, seen with the display toggles it has now."""

    def __init__(self, run, options: dict):
        self.token = secrets.token_urlsafe(16)
        self.run, self.options = run, dict(options)

    def show(self, options: dict) -> None:
        """The page's display toggles changed (or were read again)."""
        self.options = dict(options)

    def body(self) -> bytes:
        """The newest snapshot's payload as JSON. Another page's click goes first, as it
        does for the page's own frames (fair.Clicks)."""
        fair.CLICKS.wait_for_others(self.run.lock)
        snap = self.run.snapshot(max_age_s=0.0)
        return json.dumps(payload(self.run, snap, self.options), separators=(",", ":"),
                          allow_nan=False).encode()


_SOURCES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # token → Source
_LOCK = threading.Lock()


def register(run, options: dict) -> Source:
    """A new Source for one tab; keep it in the session's state (it lives as long)."""
    source = Source(run, options)
    with _LOCK:
        _SOURCES[source.token] = source
    return source


def find(token: Any) -> Source | None:
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    with _LOCK:
        return _SOURCES.get(token)


def url(base_path: str, token: str) -> str:
    """The route's address for `token` on a server whose baseUrlPath is `base_path`."""
    base = base_path.strip("/")
    return f"/{base}{PATH}/{token}" if base else f"{PATH}/{token}"


async def serve(request: Request) -> Response:
    source = find(request.path_params["token"])
    if source is None:
        return NOT_FOUND
    # The snapshot waits for the worker's turn to end (Run.lock): off the event loop.
    body = await run_in_threadpool(source.body)
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def routes(base_path: str = "") -> list[Route]:
    """The route for app.py's `st.App` (which does not prefix an app's own routes)."""
    return [Route(url(base_path, "{token}"), serve, methods=["GET"])]
