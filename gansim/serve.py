"""A class on one server: N Streamlit workers behind nginx (`python -m gansim serve`).

One `streamlit run` is one Python interpreter, so a class's training shares one core.
Here each worker is its own process on a free loopback port, and nginx (the Debian
package; the web server built for this) spreads the browsers over them. A browser is
pinned to one worker by a cookie: Streamlit keeps a session's run in the worker that
holds its websocket, and its media and download URLs only exist there. The first
request of a browser goes to the worker with the fewest open connections (each open
tab holds one websocket, so that is "the fewest students"); nginx then sets the cookie
to the address of the worker that answered, and every later request of that browser
(its websocket, media, reloads) goes there. Hashing the client address would put a
whole class behind one NAT on one worker.

Everything nginx writes (config, pid, logs, temp files) lives in a fresh temporary
directory, so it runs as any user. No streamlit import here: workers are subprocesses.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"
COOKIE = "gansim_worker"
INSTALL_HINT = ("nginx not found; install it with: sudo apt-get install -y nginx "
                "(Debian/Ubuntu), then run the command again")
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
START_TIMEOUT_S = 90.0  # a cold worker imports torch and streamlit: slow on a busy machine
STOP_TIMEOUT_S = 10.0
IDLE_TIMEOUT = "1d"  # a student may leave a tab open all lesson; Streamlit pings anyway

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    # Which worker served what: the tests read this to check that sessions stick.
    log_format gansim '$remote_addr "$request" $status upstream=$upstream_addr '
                      'cookie=$cookie_{cookie}';
    access_log {tmp}/access.log gansim;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 50m;  # Data -> Upload points

    # A websocket asks to upgrade; anything else is plain keep-alive HTTP.
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}

    # The cookie names the worker that served the browser first; no cookie (or one
    # naming a worker this server does not have) -> the least busy worker.
    map $cookie_{cookie} $gansim_upstream {{
        default workers;
{pins}
    }}
    # Only answers that chose a worker set the cookie; $upstream_addr is the worker
    # that answered, read when the response headers go out.
    map $gansim_upstream $gansim_set_cookie {{
        workers "{cookie}=$upstream_addr; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }}

    upstream workers {{
        least_conn;
{servers}
    }}
{singles}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://$gansim_upstream;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;  # with its port: Streamlit checks the Origin
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout {idle};
            proxy_send_timeout {idle};
            proxy_buffering off;  # frames go out as soon as the worker sends them
            add_header Set-Cookie $gansim_set_cookie always;
        }}
    }}
}}
"""


class NginxMissing(RuntimeError):
    """nginx is not installed (or not where --nginx says)."""


def find_nginx(explicit: str | None = None) -> str:
    """The nginx binary: `explicit` if given, else PATH, else the usual sbin places.

    A plain user's PATH often lacks /usr/sbin, where Debian puts nginx.
    """
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise NginxMissing(f"{INSTALL_HINT} (looked for --nginx {explicit})")
    found = shutil.which("nginx")
    if found:
        return found
    for place in NGINX_PLACES:
        if os.access(place, os.X_OK):
            return place
    raise NginxMissing(INSTALL_HINT)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nginx_config(tmp: Path, host: str, port: int, worker_ports: list[int]) -> str:
    """nginx.conf text: sticky by cookie, websockets upgraded, all paths under `tmp`."""
    addr = [f"127.0.0.1:{p}" for p in worker_ports]
    pins = "\n".join(f'        "{a}" w{p};' for a, p in zip(addr, worker_ports))
    servers = "\n".join(f"        server {a};" for a in addr)
    singles = "\n".join(f"    upstream w{p} {{ server {a}; }}" for a, p in zip(addr, worker_ports))
    return NGINX_CONF.format(tmp=tmp, host=host, port=port, cookie=COOKIE, pins=pins,
                             servers=servers, singles=singles, idle=IDLE_TIMEOUT)


def worker_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true",
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]


@dataclass
class ClassServer:
    """The running workers and nginx; `stop()` ends them all (idempotent)."""

    tmp: Path
    url: str
    worker_ports: list[int]
    workers: list[subprocess.Popen] = field(default_factory=list)
    nginx: subprocess.Popen | None = None

    def processes(self) -> list[subprocess.Popen]:
        return ([self.nginx] if self.nginx else []) + self.workers

    def dead(self) -> str | None:
        """The first child that has exited, described, or None while all run."""
        for port, proc in zip(self.worker_ports, self.workers):
            if proc.poll() is not None:
                return f"worker on port {port} exited with code {proc.returncode}"
        if self.nginx and self.nginx.poll() is not None:
            err = (self.tmp / "error.log").read_text(errors="replace").strip().splitlines()
            return f"nginx exited with code {self.nginx.returncode}: {' | '.join(err[-3:])}"
        return None

    def stop(self) -> None:
        end(self.processes())  # nginx first: no new requests reach a dying worker


def end(processes: list[subprocess.Popen], timeout: float = STOP_TIMEOUT_S) -> None:
    """Ask every process to stop (in order), then kill any still running at `timeout`."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in processes:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start(workers: int, port: int, host: str = "0.0.0.0", nginx: str | None = None,
          tmp: Path | None = None) -> ClassServer:
    """Start `workers` Streamlit workers, wait until they answer, then nginx in front."""
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    binary = find_nginx(nginx)  # before anything starts: a missing nginx costs nothing
    tmp = tmp or Path(tempfile.mkdtemp(prefix="gansim-serve-"))
    ports = [free_port() for _ in range(workers)]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    server = ClassServer(tmp=tmp, url=f"http://{shown}:{port}", worker_ports=ports)
    try:
        for p in ports:
            with open(tmp / f"worker-{p}.log", "w") as log:  # the child keeps its own copy
                server.workers.append(subprocess.Popen(
                    worker_command(p), stdout=log, stderr=subprocess.STDOUT, cwd=APP.parent,
                    env={**os.environ, "OMP_NUM_THREADS": "1"}))
        _wait_healthy(server)
        conf = tmp / "nginx.conf"
        conf.write_text(nginx_config(tmp, host, port, ports))
        with open(tmp / "nginx.out", "w") as out:
            server.nginx = subprocess.Popen(
                [binary, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                stdout=subprocess.DEVNULL, stderr=out)
        _wait_answer(server, server.url + "/_stcore/health")
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: ClassServer) -> None:
    for p in server.worker_ports:
        _wait_answer(server, f"http://127.0.0.1:{p}/_stcore/health")


def _wait_answer(server: ClassServer, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        problem = server.dead()
        if problem:
            raise RuntimeError(f"{problem}; logs in {server.tmp}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT_S:.0f} s; "
                       f"logs in {server.tmp}")


def serve_forever(server: ClassServer) -> int:
    """Block until Ctrl-C, SIGTERM or a child's death; stop everything. Returns 0 or 1."""
    stopping = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.append("SIGTERM"))
    try:
        while not stopping:
            problem = server.dead()
            if problem:
                print(f"gansim serve: {problem}; stopping (logs in {server.tmp})",
                      file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
