"""`python -m gansim serve`: nginx in front of Streamlit workers, sessions stick.

Two workers, two real Chromium sessions with their own settings: both train, neither
sees the other's settings, every request of a browser (page, static files, websocket,
reload) reaches one worker, a reload keeps the tab's run, and the two browsers land on
different workers. Also: no
nginx → exit 2 with the install command; SIGTERM stops every child. Skipped without
nginx or Chromium unless GANSIM_REQUIRE_EXTRAS=1 (CI) turns the skip into a failure.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from gansim import serve

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
METRIC = '[data-testid="stMetricValue"]'
LOG_LINE = re.compile(r'"(\S+) (\S+) [^"]*" (\d+) upstream=(\S+) cookie=(\S*)')


def require(what: str, present: bool, install: str) -> None:
    if present:
        return
    message = f"{what} not found; install it with: {install}"
    if os.environ.get("GANSIM_REQUIRE_EXTRAS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def have_nginx() -> bool:
    try:
        serve.find_nginx()
        return True
    except serve.NginxMissing:
        return False


def test_missing_nginx_exits_2_with_the_install_command(tmp_path):
    p = subprocess.run([sys.executable, "-m", "gansim", "serve", "--workers", "1",
                        "--nginx", str(tmp_path / "no-nginx-here")], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "apt-get install -y nginx" in p.stderr and "Traceback" not in p.stderr


def test_the_config_pins_by_cookie_and_upgrades_websockets(tmp_path):
    require("nginx", have_nginx(), "apt-get install -y nginx")
    conf = tmp_path / "nginx.conf"
    conf.write_text(serve.nginx_config(tmp_path, "127.0.0.1", 8080, [4001, 4002]))
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / d).mkdir()
    p = subprocess.run([serve.find_nginx(), "-t", "-p", str(tmp_path), "-e",
                        str(tmp_path / "error.log"), "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr  # nginx itself accepts it, as any user
    text = conf.read_text()
    assert '"127.0.0.1:4001" w4001;' in text and "upstream w4002 { server 127.0.0.1:4002; }" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "/var/" not in text


def access_by_cookie(tmp: Path) -> dict[str, set[str]]:
    """cookie value → the workers that served requests carrying it."""
    seen = defaultdict(set)
    for line in (tmp / "access.log").read_text().splitlines():
        m = LOG_LINE.search(line)
        if m and m.group(5) != "-":
            seen[m.group(5)].add(m.group(4))
    return seen


def shows_seed(page, seed: int) -> None:
    """The Seed box shows the session's own seed (a widget the page seeded from the link
    or the kept run). Within seconds: the sidebar is drawn after the counters, and a
    number box Streamlit mounts shows its default for a moment before its value."""
    from playwright.sync_api import expect

    box = page.locator('input[aria-label="Seed ↺"]').first
    expect(box, "a session shows another's seed").to_have_value(str(seed), timeout=5_000)


def test_two_workers_two_browsers_sessions_stick(tmp_path):
    require("nginx", have_nginx(), "apt-get install -y nginx")
    require("chromium", Path(CHROMIUM).exists(), "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    server = serve.start(2, serve.free_port(), "127.0.0.1", tmp=tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for seed, lr_d in ((1, "0.0005"), (2, "0.002")):  # each its own cookie jar
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(f"{server.url}/?seed={seed}&lr_d={lr_d}")
                page.wait_for_selector(METRIC, timeout=90_000)
                page.get_by_role("button", name="Play").click()
                pages.append((seed, lr_d, context, page))
            steps = lambda page: int(page.locator(METRIC).first.inner_text().replace(",", ""))
            for seed, _, _, page in pages:
                deadline = time.monotonic() + 60
                while steps(page) < 20 and time.monotonic() < deadline:
                    time.sleep(0.3)
                assert steps(page) >= 20, f"session seed={seed} did not train through nginx"
            for seed, lr_d, _, page in pages:
                shows_seed(page, seed)
                assert f"lr_d={lr_d}" in page.url
            pages[0][3].screenshot(path=str(tmp_path / "serve.png"))
            for seed, lr_d, _, page in pages:  # a reload comes back to the same worker
                before = steps(page)  # and to the same run (gansim/ui/runstore.py)
                page.reload()
                page.wait_for_selector(METRIC, timeout=90_000)
                shows_seed(page, seed)
                assert steps(page) >= before >= 20, "the reload started a fresh run"
            cookies = [c["value"] for _, _, ctx, _ in pages for c in ctx.cookies()
                       if c["name"] == serve.COOKIE]
            browser.close()
        assert server.dead() is None
    finally:
        server.stop()
    seen = access_by_cookie(tmp_path)
    assert len(cookies) == 2 and cookies[0] != cookies[1], "both browsers on one worker"
    for cookie in cookies:
        assert seen[cookie] == {cookie}, f"requests of one browser reached {seen[cookie]}"
    log = (tmp_path / "access.log").read_text()
    assert log.count('"GET /_stcore/stream HTTP/1.1" 101') >= 4  # 2 pages + 2 reloads
    # The films fetched their payloads through nginx, from their own workers (above).
    assert re.search(r'"GET /gansim/film/[A-Za-z0-9_-]{22} HTTP/1.1" 200', log)


def test_sigterm_stops_nginx_and_every_worker(tmp_path):
    require("nginx", have_nginx(), "apt-get install -y nginx")
    port = serve.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gansim", "serve", "--workers", "2",
                             "--port", str(port), "--host", "127.0.0.1"], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stderr.readline()  # printed once nginx answers
        assert f"http://127.0.0.1:{port}/" in banner, banner
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 3, children  # two workers and nginx
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists() or \
                "zombie" in Path(f"/proc/{pid}/status").read_text(), f"child {pid} survived"
    finally:
        if proc.poll() is None:
            proc.kill()
