"""Keyed seeds (gansim.seeding): SplitMix64's published outputs, and keys that differ."""
from gansim.seeding import BATCH_TAGS, _splitmix64, batch_key, mix_seed


def test_splitmix64_gives_the_reference_outputs():
    """Steele et al. 2014 / Vigna's reference code from state 0: the first two outputs."""
    assert _splitmix64(0) == 0xE220A8397B1DCDAF
    assert _splitmix64(0x9E3779B97F4A7C15) == 0x6E789E6AA1B965F4


def test_mix_seed_is_a_63_bit_function_of_its_values_in_order():
    assert mix_seed(1, 2) == mix_seed(1, 2) < 2 ** 63
    assert mix_seed(1, 2) != mix_seed(2, 1)


def test_every_batch_purpose_step_and_index_has_its_own_key():
    keys = {batch_key(7, step, tag, i) for step in range(3) for tag in BATCH_TAGS for i in range(2)}
    assert len(keys) == 3 * len(BATCH_TAGS) * 2
