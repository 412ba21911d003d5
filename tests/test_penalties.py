"""The cures the step really runs, against worked answers on a linear D built through the
product's own nets and step (penalties.D_PENALTIES, Step.d, Step._d_loss, Draws)."""
import pytest
import torch

from gansim.config import Config
from gansim.draws import Draws
from gansim.nets import Nets
from gansim.penalties import D_PENALTIES
from gansim.stacking import StepKey, hyper
from gansim.step import Step
from gansim.trainer import Trainer

CPU = torch.device("cpu")
# D with one hidden layer of 4 units: the smallest D the Config allows.
LINEAR = Config(d_hidden=4, d_depth=1, batch=64, loss="wasserstein", device="cpu")


def linear_d(w: list[float], bias: float = 0.3) -> dict[str, torch.Tensor]:
    """Weights that make D(x) = w·x + bias exactly: relu(w·x) − relu(−w·x) = w·x (two
    hidden units), the other two units off. Stacked for one run."""
    hidden = torch.zeros(1, 4, 2)
    hidden[0, 0], hidden[0, 1] = torch.tensor(w), -torch.tensor(w)
    head = torch.tensor([[[1.0, -1.0, 0.0, 0.0]]])
    return {"last.0.weight": hidden, "last.0.bias": torch.zeros(1, 4),
            "head.weight": head, "head.bias": torch.full((1, 1), bias)}


def batches(n: int = 64, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    real = torch.randn(1, n, 2, generator=gen) + 2.0
    fake = torch.randn(1, n, 2, generator=gen) - 1.0
    alpha = torch.rand(1, n, 1, 1, generator=gen)
    return real, fake, {"gp_alpha": alpha}


def term(name: str, w: list[float], weight: float) -> float:
    nets = Nets(LINEAR, 1, CPU)
    real, fake, b = batches()
    return float(D_PENALTIES[name](nets, linear_d(w), real, fake, torch.tensor([weight]), b)[0])


def test_the_linear_d_is_linear():
    nets = Nets(LINEAR, 1, CPU)
    x = batches()[0]
    expected = x[0] @ torch.tensor([3.0, 4.0]) + 0.3
    torch.testing.assert_close(nets.d(linear_d([3.0, 4.0]), x)[0], expected)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    assert term("gp", [0.6, 0.8], 10.0) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("w", [[3.0, 4.0], [0.3, 0.4], [0.0, 2.0]])
def test_gradient_penalty_is_lambda_times_the_norm_gap_squared(w):
    norm = (w[0] ** 2 + w[1] ** 2) ** 0.5
    assert term("gp", w, 10.0) == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-5)


@pytest.mark.parametrize("name", ["r1", "r2"])
def test_r1_and_r2_are_half_gamma_times_the_squared_norm(name):
    """Mescheder et al. 2018: (γ/2)‖∇D‖² = (γ/2)‖w‖² for D(x) = w·x + b, on reals (R1)
    and on fakes (R2) alike."""
    assert term(name, [3.0, 4.0], 2.0) == pytest.approx(0.5 * 2.0 * 25.0, rel=1e-5)


def test_the_step_adds_each_switched_on_penalty_to_ds_loss():
    """Step._d_loss with gp, r1 and r2 on exceeds the plain critic loss by exactly their
    worked answers: the table's terms are wired into the step with their weights."""
    cfg = LINEAR.replace(gp=10.0, r1=2.0, r2=4.0)
    real, fake, b = batches()
    d = linear_d([3.0, 4.0])

    def loss(c: Config) -> float:
        step = Step(StepKey.of(c, 1), Nets(c, 1, CPU))
        return float(step._d_loss(d, real, fake, b, hyper(c, 1, CPU)["d"], {})[0])

    extra = 10.0 * (5.0 - 1.0) ** 2 + 0.5 * 2.0 * 25.0 + 0.5 * 4.0 * 25.0
    assert loss(cfg) - loss(LINEAR) == pytest.approx(extra, rel=1e-5)


def test_weight_clipping_bounds_every_d_weight_after_a_step():
    """Arjovsky et al. 2017: after an update every D weight lies in [−c, c]; the fresh
    weights are far larger, so the bound is reached, not just respected."""
    c = 0.01
    t = Trainer(Config(clip=c, loss="wasserstein", batch=64, device="cpu"), compile=False)
    assert max(float(v.abs().max()) for v in t.d.values()) > 10 * c
    t.step_d()
    top = max(float(v.abs().max()) for v in t.d.values())
    assert top == pytest.approx(c)


def test_replay_swaps_about_its_share_of_fakes_for_stored_ones():
    """Experience replay: the step replaces ≈ cfg.replay of D's fakes with rows drawn from
    the buffer (Draws' picks), then stores the new fakes in the ring buffer."""
    cfg = Config(replay=0.3, batch=1024, device="cpu")
    key = StepKey.of(cfg, 1)
    draws = Draws([0], None, CPU, 0)  # only its tricks' generator: no dataset needed
    step = Step(key, Nets(cfg, 1, CPU))
    capacity = 4 * cfg.batch
    buffer = torch.arange(capacity * 2, dtype=torch.float32).reshape(1, capacity, 2) + 1000.0
    mem = {"buffer": buffer, "pos": torch.zeros((), dtype=torch.long)}
    tricks = draws._tricks(lambda gen: {
        "replay_pick": torch.rand(cfg.batch, generator=gen) < cfg.replay,
        "replay_idx": torch.randint(capacity, (cfg.batch,), generator=gen)})
    fake = torch.zeros(1, cfg.batch, 2)
    mixed, new_mem = step._replay(fake, mem, tricks)
    swapped = mixed[0, :, 0] != 0
    assert float(swapped.float().mean()) == pytest.approx(cfg.replay, abs=0.05)  # 3.5σ at n=1024
    stored = {tuple(r) for r in buffer[0].tolist()}
    assert all(tuple(r) in stored for r in mixed[0][swapped].tolist())
    assert torch.equal(new_mem["buffer"][0, : cfg.batch], fake[0])  # the fakes went in
    assert int(new_mem["pos"]) == cfg.batch


def test_drawn_replay_picks_and_label_flips_match_their_shares():
    """Draws' own masks for one D update: replay's picks ≈ cfg.replay once the buffer holds
    fakes (none before), label flips ≈ cfg.label_flip."""
    cfg = Config(replay=0.3, label_flip=0.2, batch=1024, device="cpu")
    t = Trainer(cfg, compile=False)
    empty = t.draws.d_batch(cfg, t.key, 0, 0, 0.0, stored=0)
    assert not bool(empty["replay_pick"].any())
    b = t.draws.d_batch(cfg, t.key, 0, 0, 0.0, stored=cfg.batch)
    assert float(b["replay_pick"].float().mean()) == pytest.approx(0.3, abs=0.05)
    assert int(b["replay_idx"].max()) < cfg.batch
    assert float(b["label_flip"].float().mean()) == pytest.approx(0.2, abs=0.05)


@pytest.mark.parametrize("smooth, flipped, expected", [
    (0.0, 0, 0.5 * 0.0 + 0.5),  # real target 1: D(x) = 1 is right on reals
    (0.2, 0, 0.5 * 0.2 ** 2 + 0.5),  # one-sided smoothing: real target 0.8
    (0.0, 16, (48 * 0.0 + 16 * 0.5) / 64 + 0.5),  # flipped reals are scored as fakes
])
def test_label_smoothing_and_flip_set_the_d_objectives_targets(smooth, flipped, expected):
    """Least squares with D ≡ 1 (zero weights, bias 1): a real row costs ½(1 − target)²,
    a flipped real row ½·1² (target 0), every fake ½·1²."""
    cfg = Config(loss="least_squares", d_hidden=4, d_depth=1, batch=64, device="cpu",
                 label_smoothing=smooth, label_flip=0.1 if flipped else 0.0)
    d = {k: torch.zeros_like(v) for k, v in linear_d([0.0, 0.0]).items()}
    d["head.bias"] += 1.0
    real, fake, _ = batches()
    flip = torch.zeros(1, 64, dtype=torch.bool)
    flip[0, :flipped] = True
    step = Step(StepKey.of(cfg, 1), Nets(cfg, 1, CPU))
    b = {"label_flip": flip} if flipped else {}
    value = float(step._d_loss(d, real, fake, b, hyper(cfg, 1, CPU)["d"], {})[0])
    assert value == pytest.approx(expected, rel=1e-6)


def test_every_slope_penalty_of_the_config_has_its_term_and_stacking_row():
    """A new penalty is declared in config.FIELDS (slope_penalty=True: the cost estimate
    reads it), STACKING (KEY on/off, TENSOR read by D) and D_PENALTIES: none may be missed."""
    from gansim.config import SLOPE_PENALTIES
    from gansim.stacking import KEY, STACKING, TENSOR

    assert set(D_PENALTIES) == set(SLOPE_PENALTIES)
    for name in D_PENALTIES:
        row = STACKING[name]
        assert KEY in row.how and TENSOR in row.how and row.on_off and row.reads == "d", name
