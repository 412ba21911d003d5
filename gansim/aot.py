"""The whole step as an AOTInductor package: built once per machine, loaded in milliseconds.

A package is Step.whole for one StepKey, recorded as a graph of plain tensor operations
(`make_fx` traces through both backward passes, so the graph needs no autograd), exported
and compiled to C++ by inductor (`torch._inductor.aoti_compile_and_package`). Loading one
(`aoti_load_package`) takes a few milliseconds and no tracing, where a cached
`torch.compile` step took ~3 s to trace again in every new process.

Building costs ~30 s of one core (2-core AMD EPYC, torch 2.13) and patches the step into
its traced branches (stack.tracing), so it only ever runs in a child process
(compile.child_compile); this process only loads. Packages live beside inductor's caches,
named by the code and torch version, this CPU and the StepKey: a package built on one
CPU is never loaded on another (its kernels use the builder's vector instructions).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import platform
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.utils import _pytree as pytree

from . import stack
from .step import Step

SUFFIX = ".pt2"
FAILED = ".failed"  # beside a package that could not be built: the error, never retried


@functools.lru_cache(maxsize=1)
def cpu_id() -> str:
    """This CPU's model and instruction-set flags (Linux), else what platform knows."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    wanted = [ln for ln in lines if ln.startswith(("model name", "flags", "Features"))]
    return "\n".join(dict.fromkeys(wanted)) or f"{platform.machine()} {platform.processor()}"


def package_file(directory: Path, version: str, key: Any) -> Path:
    """Where `key`'s package lives for this code (`version`) and this CPU."""
    name = hashlib.sha1(f"{version}\n{cpu_id()}\n{key!r}".encode()).hexdigest()[:24]
    return directory / (name + SUFFIX)


def failure_file(path: Path) -> Path:
    return path.with_suffix(FAILED)


@contextlib.contextmanager
def tracing():
    """The step's graph-friendly branches (stack.traced) while make_fx records it."""
    stack._TRACING[0] = True
    try:
        yield
    finally:
        stack._TRACING[0] = False


def build(step: Step, args: tuple, path: Path) -> None:
    """Trace step.whole on args' shapes, compile it and write the package to `path`
    (and the outputs' structure beside it). Written under a temporary name and then
    renamed, so a reader never sees half a package."""
    from torch.fx.experimental.proxy_tensor import make_fx

    _, in_spec = pytree.tree_flatten(args)
    leaves: list = []
    dense_leaves(args, leaves)
    out_spec = []

    def whole(*flat):
        out, spec = pytree.tree_flatten(step.whole(*pytree.tree_unflatten(list(flat), in_spec)))
        out_spec.append(spec)
        return out

    with tracing():
        graph = make_fx(whole, tracing_mode="fake")(*leaves)
    program = torch.export.export(_Module(graph), tuple(leaves), strict=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part" + SUFFIX)
    torch._inductor.aoti_compile_and_package(program, package_path=str(part))
    _spec_file(path).write_text(pytree.treespec_dumps(out_spec[0]))
    part.replace(path)


class _Module(torch.nn.Module):
    """torch.export takes a module; the traced graph is one already, wrapped to take
    the flat leaves as positional inputs."""

    def __init__(self, graph: torch.fx.GraphModule):
        super().__init__()
        self.graph_module = graph

    def forward(self, *leaves):
        return self.graph_module(*leaves)


def _spec_file(path: Path) -> Path:
    return path.with_suffix(".spec.json")


class Package:
    """A loaded package, called like Step.whole (the same nested inputs and outputs).

    torch's C++ loader directly, not torch._inductor.aoti_load_package: importing
    torch._inductor costs ~3 s in a new process, and its wrapper parses the call's
    structure again on every call. The inputs are flattened and the outputs rebuilt by
    small functions of their own, not pytree's general ones (~0.4 ms a step, ~15 % of
    a compiled one-run step on a 2-core AMD EPYC): the same order (dicts in insertion
    order, None holding nothing), checked against pytree in tests/test_aot.py."""

    def __init__(self, path: Path):
        self.loader = torch._C._aoti.AOTIModelPackageLoader(str(path), "model", False, 1, -1)
        self.rebuild = rebuilder(pytree.treespec_loads(_spec_file(path).read_text()))

    def __call__(self, *args):
        leaves: list = []
        dense_leaves(args, leaves)
        return self.rebuild(iter(self.loader.boxed_run(leaves)))


def dense_leaves(tree: Any, out: list) -> None:
    """tree's tensors in pytree's order, each laid out row-major. The compiled kernels
    index their inputs with the strides they were traced with and check none of them;
    the Trainer's weights are views into one flat buffer per player (optim.flat_views:
    a run's rows are N apart), while the moments a package returns are dense. Dense in,
    dense traced: the same layout every call (a copy only where S > 1 makes a weight
    view non-contiguous)."""
    if isinstance(tree, torch.Tensor):
        out.append(tree.contiguous())
    elif isinstance(tree, dict):
        for v in tree.values():
            dense_leaves(v, out)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            dense_leaves(v, out)
    elif tree is not None:
        raise TypeError(f"a step input that is no tensor: {type(tree).__name__}")


def rebuilder(spec: pytree.TreeSpec) -> Callable[[Iterator], Any]:
    """A function that rebuilds spec's structure from an iterator over its leaves."""
    if spec.is_leaf():
        return next
    kids = [rebuilder(c) for c in spec.children()]
    if spec.type is dict:
        keys = list(spec.context)
        return lambda it: {k: f(it) for k, f in zip(keys, kids)}
    if spec.type in (tuple, list):
        kind = spec.type
        return lambda it: kind(f(it) for f in kids)
    if spec.type is type(None):
        return lambda it: None
    raise TypeError(f"a step output of type {spec.type.__name__}")
