"""Sweeps on a Ray cluster: the local pool's tasks, run as Ray tasks (`sweep --ray`).

The sweep loop stays in gansim.sweep (resume, runs.csv, progress, summary); this module
is only a backend: `results(tasks, n_jobs)` yields each finished task's rows as it
finishes, like the local pool. Ray (https://docs.ray.io) schedules the tasks over the
cluster's cores and re-runs a task whose worker process or node died (max_retries), so
a death costs that task alone; rows already yielded are already in runs.csv.

Ray is optional (requirements-cluster.txt). Without an address a small local Ray starts
in this process; with one, the driver joins a cluster started by `ray start`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

from . import sweep

INSTALL_HINT = "Ray is not installed; install it with: pip install -r requirements-cluster.txt"
MAX_RETRIES = 3  # re-runs of a task whose worker died (a Python error is not retried)
LOCAL_OBJECT_STORE = 100 * 1024 ** 2  # rows are tiny: keep a local Ray light on small machines


class RayMissing(RuntimeError):
    """`import ray` failed."""


def _ray():
    try:
        import ray
    except ImportError:
        raise RayMissing(INSTALL_HINT) from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> int:
    """Start a local Ray (no address) or join a cluster; returns the CPUs it offers."""
    ray = _ray()
    if not ray.is_initialized():
        common = {"include_dashboard": False, "log_to_driver": False,
                  "configure_logging": False}
        if address:
            # The cluster's nodes get this copy of the package (they need torch etc.).
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                     **common)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1,
                     object_store_memory=LOCAL_OBJECT_STORE, **common)
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def shutdown() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


def _run_in_worker(fn: Callable, task: tuple) -> list[dict[str, Any]]:
    sweep._init_worker()  # one thread per task, as in the local pool
    return fn(task)


def results(tasks: list, n_jobs: int, fn: Callable = sweep._run_packed
            ) -> Iterator[dict[str, Any]]:
    """Rows of finished tasks in completion order; `fn(task)` trains one task.

    n_jobs is unused: Ray places tasks on every core the cluster offers (one CPU each).
    """
    ray = _ray()
    remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_run_in_worker)
    pending = [remote.remote(fn, task) for task in sweep.costliest_first(tasks)]
    try:
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield from ray.get(finished[0])
    finally:
        for ref in pending:  # Ctrl-C or an error: do not leave the cluster training
            ray.cancel(ref, force=True)
