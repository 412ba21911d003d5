"""The random inputs (gansim.draws): seed s draws the same batches and tricks in a stack
as alone, and the keyed batches are those of seeding.batch_key."""
import torch

from gansim import Config, Trainer
from gansim.seeding import batch_key

TRICKS = dict(replay=0.5, instance_noise=0.1, dropout=0.2, label_flip=0.1, gp=1.0,
              unroll=1, feature_matching=0.5, batch=64, g_hidden=16, d_hidden=16, device="cpu")


def draws_of(seeds, cfg):
    t = Trainer(cfg, seeds=seeds, compile=False)
    return (t.draws.d_batch(cfg, t.key, 3, 1, 0.1, stored=cfg.batch),
            t.draws.g_batch(cfg, t.key, 3, 0.1))


def test_a_seed_draws_the_same_in_a_stack_as_alone():
    cfg = Config(**TRICKS)
    stack_d, stack_g = draws_of([4, 9], cfg)
    alone_d, alone_g = draws_of([9], cfg.replace(seed=9))
    assert set(stack_d) == set(alone_d) and set(stack_g) == set(alone_g)
    for stacked, alone in ((stack_d, alone_d), (stack_g, alone_g)):
        for k, v in alone.items():
            run_axis = v.dim() - 3 if k.startswith("drop_") else 0  # masks: runs by rows
            assert torch.equal(v.select(run_axis, 0), stacked[k].select(run_axis, 1)), k


def test_the_real_batch_is_the_keyed_stream_of_its_seed_step_and_index():
    cfg = Config(**TRICKS)
    t = Trainer(cfg, compile=False)
    b = t.draws.d_batch(cfg, t.key, 3, 1, 0.1, stored=0)
    gen = torch.Generator().manual_seed(batch_key(cfg.seed, 3, "d_real", 1))
    assert torch.equal(b["d_real"][0], t.dataset.sample_torch(cfg.batch, gen, "cpu"))
