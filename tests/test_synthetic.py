"""videomae.synthetic: shapes, repeatability, and that the class lives in the motion."""
import numpy as np
import pytest

from videomae.synthetic import ACTIONS, _trajectory, make_batch, make_clip


def test_actions_alphabetical_and_distinct():
    assert list(ACTIONS) == sorted(set(ACTIONS)) and len(ACTIONS) == 10


def test_make_clip_shape_and_dtype():
    clip = make_clip(3, 7, 40, 56, np.random.default_rng(0))
    assert clip.shape == (7, 40, 56, 3) and clip.dtype == np.uint8


def test_make_batch_repeatable_and_in_range():
    v1, y1 = make_batch(4, 5, 32, seed=7)
    v2, y2 = make_batch(4, 5, 32, seed=7)
    v3, _ = make_batch(4, 5, 32, seed=8)
    assert v1.shape == (4, 3, 5, 32, 32) and y1.dtype.is_floating_point is False
    assert (v1 == v2).all() and (y1 == y2).all() and not (v1 == v3).all()
    assert v1.min() >= 0 and v1.max() <= 1 and ((y1 >= 0) & (y1 < len(ACTIONS))).all()


@pytest.mark.parametrize("seed", range(5))
def test_motion_decides_the_class(seed):
    """Each class changes its one quantity in its own direction; opposite classes are time reversals."""
    rng = np.random.default_rng(seed)
    sign = lambda a: np.sign(np.diff(a))  # noqa: E731
    tr = {name: _trajectory(name, 8, 60, 80, rng) for name in ACTIONS}
    cx, cy, r, ang, op = range(5)
    assert (sign(tr["move_right"][cx]) > 0).all() and (sign(tr["move_left"][cx]) < 0).all()
    assert (sign(tr["move_down"][cy]) > 0).all() and (sign(tr["move_up"][cy]) < 0).all()
    assert (sign(tr["grow"][r]) > 0).all() and (sign(tr["shrink"][r]) < 0).all()
    assert (sign(tr["turn_cw"][ang]) > 0).all() and (sign(tr["turn_ccw"][ang]) < 0).all()
    assert tr["appear"][op][0] < tr["appear"][op][-1] and tr["vanish"][op][0] > tr["vanish"][op][-1]
    for name, (x, y, rad, _, _) in tr.items():  # the shape stays inside the frame
        assert (x - rad >= 0).all() and (x + rad <= 80).all() and (y - rad >= 0).all() and (y + rad <= 60).all(), name
