"""gansim/ui/runstore.py: a reload takes its tab's run back; copies, strangers and old runs do not."""
from gansim.ui import runstore
from gansim.ui.runstore import RunStore


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_reload_takes_the_run_back_once_the_old_page_is_gone():
    store, run, token = RunStore(), object(), runstore.new_token()
    store.put(token, run, owner="tab-1")
    assert store.take(token, "tab-1-reloaded", alive=lambda s: False) is run
    # The reloaded page owns it now: the closed one could not take it back.
    assert store.take(token, "tab-1", alive=lambda s: s == "tab-1-reloaded") is None


def test_a_copied_link_whose_tab_is_open_gets_no_run():
    store, token = RunStore(), runstore.new_token()
    store.put(token, object(), owner="tab-1")
    assert store.take(token, "classmate", alive=lambda s: s == "tab-1") is None


def test_malformed_and_unknown_tokens_get_nothing():
    store, run = RunStore(), object()
    token = runstore.new_token()
    store.put(token, run, owner="a")
    dead = lambda s: False
    for bad in (None, "", token[:-1], token + "x", "../../etc/passwd", "a" * 15 + "!", 42):
        assert store.take(bad, "b", dead) is None, bad
    assert store.take(runstore.new_token(), "b", dead) is None
    assert runstore.TOKEN.fullmatch(token) and store.take(token, "b", dead) is run


def test_the_store_is_bounded_in_count_and_in_age():
    clock = Clock()
    store = RunStore(max_runs=3, max_age_s=100.0, clock=clock)
    tokens = [runstore.new_token() for _ in range(5)]
    for i, token in enumerate(tokens[:3]):
        store.put(token, i, owner=str(i))
    clock.now = 50.0
    store.touch(tokens[0])  # in use: the least recently used is now tokens[1]
    store.put(tokens[3], 3, owner="3")
    assert len(store) == 3
    dead = lambda s: False
    assert store.take(tokens[1], "x", dead) is None
    assert store.take(tokens[0], "0", dead) == 0
    clock.now = 140.0  # tokens[2] untouched since 0: older than 100 s
    assert store.take(tokens[2], "2", dead) is None
    assert store.take(tokens[3], "3", dead) == 3
    clock.now = 300.0
    store.put(tokens[4], 4, owner="4")
    assert len(store) == 1
