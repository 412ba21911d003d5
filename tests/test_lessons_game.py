"""A lesson step's Dirac-GAN: [steps.game] settings and exact [[steps.game_claims]],
validated when the file loads and checked once (no seeds) by the lesson check."""
import pytest

from gansim import dirac
from gansim.game_config import GameConfig
from gansim.lesson_check import check, play, table
from gansim.lessons import LessonError, load_all, load_lesson

from lessonhelpers import TINY_CONFIG, write_lesson

TINY = """
id = "tiny_game"
title = "Tiny game"
goal = "A test lesson."
controls = ["r1"]
""" + TINY_CONFIG + """
[[steps]]
label = "plain"
text = "The game alone."
[steps.game]
steps = 50
[[steps.game_claims]]
metric = "spectral_radius"
op = ">"
value = 1
text = "spirals out"

[[steps]]
label = "R1"
train = 20
text = "Both."
[steps.game]
r1 = 1.0
steps = 200
[[steps.game_claims]]
metric = "final_distance"
op = "<"
value = 0.01
[[steps.expect]]
metric = "g_grad"
op = ">="
value = 0
window = 2
"""


def write(tmp_path, text, name="16_game.toml"):
    return write_lesson(tmp_path, text, name)


def test_a_step_carries_its_game_and_claims(tmp_path):
    lesson = load_lesson(write(tmp_path, TINY))
    assert lesson.steps[0].game == GameConfig(steps=50)
    assert lesson.steps[1].game == GameConfig(r1=1.0, steps=200)  # not carried over
    (claim,) = lesson.steps[0].game_claims
    assert claim.describe() == "Dirac-GAN, exact: spirals out"
    assert claim.judge(1.01) and not claim.judge(1.0) and not claim.judge(float("nan"))


BROKEN = [
    ("steps = 50\n", "stepz = 50\n", ["steps[0].game", "stepz", "did you mean 'steps'"]),
    ("steps = 50\n", "updates = \"together\"\n", ["steps[0].game", "updates", "alternating"]),
    ("steps = 50\n", "lr_d = -1\n", ["steps[0].game", "lr_d", "-1"]),
    ('metric = "spectral_radius"', 'metric = "radius"', ["game_claims[0]", "radius",
                                                         "spectral_radius"]),
    ('op = ">"\nvalue = 1\n', 'op = "~"\nvalue = 1\n', ["game_claims[0]", "'op'", "~"]),
    ('op = ">"\nvalue = 1\n', 'op = ">"\nvalue = "one"\n', ["game_claims[0]", "'value'"]),
    ('text = "spirals out"', 'txt = "spirals out"', ["game_claims[0]", "txt"]),
    ('[steps.game]\nsteps = 50\n', '', ["steps[0]", "'game_claims' needs a game"]),
    ('[steps.game]\nsteps = 50\n', 'game = 3\n', ["steps[0]", "'game' must be a table"]),
]


@pytest.mark.parametrize("old,new,words", BROKEN)
def test_a_broken_game_names_file_key_and_fix(tmp_path, old, new, words):
    assert old in TINY
    with pytest.raises(LessonError) as err:
        load_lesson(write(tmp_path, TINY.replace(old, new, 1)))
    message = str(err.value)
    assert message.startswith("16_game.toml")
    assert all(w in message for w in words), message


def test_game_claims_count_for_distinct_labels(tmp_path):
    with pytest.raises(LessonError, match="distinct labels; repeated: plain"):
        load_lesson(write(tmp_path, TINY.replace('label = "R1"', 'label = "plain"')))


def test_the_check_reports_game_claims_once_per_seed_with_the_exact_value(tmp_path):
    lesson = load_lesson(write(tmp_path, TINY))
    results = play(lesson, seeds=[0, 1])
    game = [r for r in results if r.claim.startswith("Dirac-GAN")]
    assert [(r.run, r.seed) for r in game] == [("plain", 0), ("plain", 1), ("R1", 0), ("R1", 1)]
    radius = dirac.spectral_radius(GameConfig(steps=50))
    assert [r.value for r in game[:2]] == [radius, radius] and radius > 1
    assert all(r.holds for r in game)
    text, ok = table(results, 2)
    assert ok and "| tiny_game | plain | Dirac-GAN, exact: spirals out | 2/2 |" in text


def test_a_false_game_claim_fails_the_check(tmp_path):
    lesson = load_lesson(write(tmp_path, TINY.replace('op = ">"', 'op = "<"', 1)))
    results = check([lesson], [0], jobs=1)
    held = {r.run: r.holds for r in results if r.claim.startswith("Dirac-GAN")}
    assert held == {"plain": False, "R1": True}
    assert not table(results, 1)[1]


def test_a_lesson_with_only_game_claims_is_checked(tmp_path):
    only_game = TINY[:TINY.index('[[steps]]\nlabel = "R1"')]
    lesson = load_lesson(write(tmp_path, only_game))
    assert [r.run for r in check([lesson], [0], jobs=1)] == ["plain"]


def test_the_shipped_dirac_lesson_claims_hold_exactly():
    (lesson,) = [l for l in load_all() if l.id == "why_gans_circle"]
    claims = [(i, c) for i, s in enumerate(lesson.steps) for c in s.game_claims]
    assert len(claims) >= 6
    for i, claim in claims:
        value = dirac.measure(lesson.steps[i].game, claim.metric)
        assert claim.judge(value), (lesson.steps[i].label, claim.describe(), value)
