"""Fingerprints of training trajectories: a hash of every weight after a few steps, per
setting, so a refactor or a speed-up can show it changed no number (or say which
setting it changed). Same machine only: float rounding differs across CPU families.

    python bench/trajectory_hash.py            # one line per setting, then a total
"""
from __future__ import annotations

import hashlib
import os
import sys

os.environ.setdefault("GANSIM_COMPILE", "0")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import torch  # noqa: E402

from gansim.config import Config  # noqa: E402
from gansim.trainer import Trainer  # noqa: E402

STEPS = 30
# One setting per cure or switch the step treats differently, plus a stack of seeds.
SETTINGS = {
    "default": {},
    "minimax": {"loss": "minimax"},
    "wgan-gp": {"loss": "wasserstein", "gp": 10.0, "d_steps": 5},
    "wgan-clip": {"loss": "wasserstein", "clip": 0.01},
    "hinge-r1": {"loss": "hinge", "r1": 1.0, "r2": 0.5},
    "lsgan-smooth-flip": {"loss": "least_squares", "label_smoothing": 0.1, "label_flip": 0.05},
    "noise-decay": {"instance_noise": 0.2, "lr_decay_start": 10, "lr_decay_end": 25},
    "unroll": {"unroll": 3},
    "unroll-first-order-dropout": {"unroll": 2, "unroll_first_order": True, "dropout": 0.2},
    "sn-fm-replay": {"spectral_norm": True, "feature_matching": 1.0, "replay": 0.5},
    "minibatch-mbstd-pack": {"minibatch": 5, "mbstd": True, "pack": 2},
    "rmsprop-wd-tanh": {"optimizer": "rmsprop", "weight_decay": 1e-3, "activation": "tanh"},
    "sgd": {"optimizer": "sgd", "lr_g": 0.01, "lr_d": 0.01},
}


def fingerprint(cfg: Config, seeds: list[int]) -> str:
    t = Trainer(cfg, seeds=seeds, compile=False)
    t.train(STEPS)
    h = hashlib.sha256()
    for part in (t.g, t.d):
        for k in sorted(part):
            h.update(part[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    torch.set_num_threads(1)
    total = hashlib.sha256()
    rows = [(name, Config(device="cpu").replace(**kw), [0]) for name, kw in SETTINGS.items()]
    rows.append(("stack-of-4", Config(device="cpu"), [0, 1, 2, 3]))
    for name, cfg, seeds in rows:
        fp = fingerprint(cfg, seeds)
        total.update(fp.encode())
        print(f"{name:28s} {fp}")
    print(f"{'all':28s} {total.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
