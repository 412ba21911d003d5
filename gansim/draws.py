"""The random inputs of one update, drawn outside the pure step (step.Step): each run's
keyed batches and its tricks' draws, in a fixed order, so the compiled and the eager step
see the same numbers and seed s of a stack is the single run with seed s."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .config import Config
from .seeding import batch_key
from .stacking import StepKey


class Draws:
    """Each run's batches and tricks' random numbers for one update, drawn outside the
    pure step: the keyed real/latent batches (seeding.batch_key) and, from each run's own
    generator (`gens`), the tricks' draws in a fixed order per update."""

    def __init__(self, seeds: list[int], dataset: Any, device: torch.device, dropout_layers: int):
        self.seeds, self.dataset, self.device = seeds, dataset, device
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]  # the tricks' own draws
        self._keyed = torch.Generator()
        self.layers = dropout_layers

    def _keyed_stack(self, tag: str, g_step: int, make: Callable, index: int = 0) -> Tensor:
        drawn = [make(self._keyed.manual_seed(batch_key(s, g_step, tag, index))) for s in self.seeds]
        # One run: a view with the run axis, not stack's copy of the same numbers.
        return (drawn[0][None] if len(drawn) == 1 else torch.stack(drawn)).to(self.device)

    def _real(self, n: int) -> Callable:
        return lambda gen: self.dataset.sample_torch(n, gen, "cpu")

    def _z(self, cfg: Config) -> Callable:
        return lambda gen: torch.randn(cfg.batch, cfg.z_dim, generator=gen)

    def _masks(self, cfg: Config, gen: torch.Generator) -> Tensor:
        """One D call's dropout keep masks (layers, rows, width), layer by layer."""
        rows = cfg.batch // cfg.pack
        return torch.stack([(torch.rand(rows, cfg.d_hidden, generator=gen) >= cfg.dropout).float()
                            for _ in range(self.layers)])

    def _tricks(self, per_run: Callable[[torch.Generator], dict]) -> dict[str, Tensor]:
        """Stack each run's draws: run axis first, or next to (rows, width) for masks."""
        drawn = [per_run(gen) for gen in self.gens]
        return {k: torch.stack([r[k] for r in drawn], dim=-3 if k.startswith("drop_") else 0)
                .to(self.device) for k in drawn[0]}

    def d_batch(self, cfg: Config, key: StepKey, g_step: int, index: int, sigma: float,
                stored: int) -> dict[str, Tensor]:
        """The draws of D update `index` of G step `g_step`; `stored`: fakes in replay's
        buffer before it."""
        n = cfg.batch

        def tricks(gen):
            out = {}
            if key.replay:
                out["replay_pick"] = torch.zeros(n, dtype=torch.bool)
                out["replay_idx"] = torch.zeros(n, dtype=torch.long)
                if stored:
                    out["replay_pick"] = torch.rand(n, generator=gen) < cfg.replay
                    out["replay_idx"] = torch.randint(stored, (n,), generator=gen)
            if key.instance_noise:
                out["instance_noise_real"] = self._noise(n, sigma, gen)
                out["instance_noise_fake"] = self._noise(n, sigma, gen)
            if key.dropout:  # D(real), then D(fake)
                out["drop_real"], out["drop_fake"] = self._masks(cfg, gen), self._masks(cfg, gen)
            if key.label_flip:
                out["label_flip"] = torch.rand(n // cfg.pack, generator=gen) < cfg.label_flip
            if key.gp:
                out["gp_alpha"] = torch.rand(n // cfg.pack, 1, 1, generator=gen)
                if key.dropout:
                    out["drop_gp"] = self._masks(cfg, gen)
            return out

        return {"d_real": self._keyed_stack("d_real", g_step, self._real(n), index),
                "d_z": self._keyed_stack("d_z", g_step, self._z(cfg), index),
                **(self._tricks(tricks) if self._any_d_tricks(key) else {})}

    @staticmethod
    def _any_d_tricks(key: StepKey) -> bool:
        return key.replay or key.instance_noise or key.dropout or key.label_flip or key.gp

    @staticmethod
    def _noise(n: int, sigma: float, gen: torch.Generator) -> Tensor:
        # Noise is drawn only while σ > 0 (an annealed σ of 0 draws nothing).
        return torch.randn(n, 2, generator=gen) if sigma else torch.zeros(n, 2)

    def g_batch(self, cfg: Config, key: StepKey, g_step: int, sigma: float) -> dict[str, Tensor]:
        """The draws of G's update at `g_step`."""
        n = cfg.batch

        def tricks(gen):
            out = {}
            if key.instance_noise:
                out["instance_noise_g"] = self._noise(n, sigma, gen)
            if key.unroll:
                if key.instance_noise:
                    out["instance_noise_look"] = self._noise(n, sigma, gen)
                if key.dropout:
                    out["drop_look"] = torch.stack([torch.stack([self._masks(cfg, gen), self._masks(cfg, gen)])
                                                    for _ in range(cfg.unroll)])
            if key.dropout:
                out["drop_g"] = self._masks(cfg, gen)
            if key.feature_matching:
                if key.instance_noise:
                    out["instance_noise_fm"] = self._noise(n, sigma, gen)
                if key.dropout:
                    out["drop_fm"] = torch.stack([self._masks(cfg, gen), self._masks(cfg, gen)])
            return out

        out = {"g_z": self._keyed_stack("g_z", g_step, self._z(cfg))}
        if key.unroll:
            out["look_real"] = self._keyed_stack("look_real", g_step, self._real(n))
        if key.feature_matching:
            out["fm_real"] = self._keyed_stack("fm_real", g_step, self._real(n))
        if key.instance_noise or key.dropout:
            out.update(self._tricks(tricks))
        return out
