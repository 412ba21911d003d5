"""The live game's Jacobian spectrum: Arnoldi on Jacobian-vector products finds the same
largest eigenvalues as the dense Jacobian of the same field, on a tiny pair of nets."""
import numpy as np
import pytest
from torch.func import jacfwd

from gansim import spectrum
from gansim.config import Config
from gansim.trainer import Trainer

TINY = Config(data="two_gaussians", g_hidden=8, d_hidden=8, g_depth=1, d_depth=1, z_dim=2,
              batch=16, lr_d=1e-2, lr_g=1e-2)


@pytest.mark.parametrize("r1", [0.0, 1.0])
def test_arnoldi_finds_the_dense_jacobians_largest_eigenvalues(r1):
    trainer = Trainer(TINY.replace(r1=r1))
    trainer.train(20)
    run = trainer.run(0)
    got = spectrum.spectrum(run, k=4, batch=64)
    field, x0 = spectrum.game_field(run, 64, 0)
    dense = np.linalg.eigvals(jacfwd(field)(x0).numpy())
    top = dense[np.argsort(-np.abs(dense))][:4]
    assert got.weights == x0.numel() == sum(p.numel() for p in
                                            [*run.G.parameters(), *run.D.parameters()])
    assert np.sort(np.abs(got.eigenvalues)) == pytest.approx(np.sort(np.abs(top)), rel=1e-6)


def test_r1_changes_only_ds_rows_and_linearly_in_gamma():
    # R1 is a term of D's loss alone, (γ/2)·E‖∇ₓD‖²: G's rows of the Jacobian stay, and
    # D's change by γ times one fixed matrix.
    trainer = Trainer(TINY)
    trainer.train(20)
    run = trainer.run(0)
    jac = {}
    for gamma in (0.0, 1.0, 5.0):
        view = _with(run, run.cfg.replace(r1=gamma))
        field, x0 = spectrum.game_field(view, 64, 0)
        jac[gamma] = jacfwd(field)(x0).numpy()
    n_g = sum(p.numel() for p in run.G.parameters())
    one, five = jac[1.0] - jac[0.0], jac[5.0] - jac[0.0]
    assert np.abs(one[:n_g]).max() == 0 and np.abs(one[n_g:]).max() > 1e-3
    assert five == pytest.approx(5 * one, abs=1e-9)


def _with(run, cfg):
    """The same weights and data under other settings."""
    view = type("View", (), {})()
    view.G, view.D, view.dataset, view.device, view.cfg = run.G, run.D, run.dataset, run.device, cfg
    return view


def test_unsupported_add_ons_are_refused_by_name():
    trainer = Trainer(TINY.replace(mbstd=True))
    with pytest.raises(ValueError, match="mbstd=False"):
        spectrum.spectrum(trainer.run(0))


def test_cures_outside_the_field_are_named():
    trainer = Trainer(TINY.replace(instance_noise=0.5))
    assert spectrum.spectrum(trainer.run(0), k=2, batch=32).left_out == ("instance_noise",)
