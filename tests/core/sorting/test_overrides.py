"""Images moved by hand in the preview: the plan and the copy follow the user's choice."""

from __future__ import annotations

from fakes import fake_score

from sorter.core.model.decide import UNCERTAIN, UNREADABLE
from sorter.core.sorting import session
from sorter.core.sorting.overrides import apply_overrides, images_in
from sorter.core.sorting.plan import Thresholds


def test_a_moved_image_goes_where_the_user_put_it(photos, fake_model, tmp_path):
    result = session.scan_and_score(fake_model, [photos], tmp_path / "out", score=fake_score)
    plan = result.plan(Thresholds(0.5))
    red, grey = photos / "red.jpg", photos / "grey.png"
    assert red in images_in(plan, "cats") and grey in images_in(plan, UNCERTAIN)
    moved = apply_overrides(plan, {red: "dogs", grey: "cats"})
    assert red in images_in(moved, "dogs") and red not in images_in(moved, "cats")
    assert grey in images_in(moved, "cats") and grey not in images_in(moved, UNCERTAIN)
    assert red in images_in(plan, "cats")  # the plan given is left as it was


def test_a_move_to_uncertain_and_the_moves_that_are_ignored(photos, fake_model, tmp_path):
    (photos / "broken.jpg").write_bytes(b"not an image")
    result = session.scan_and_score(fake_model, [photos], tmp_path / "out", score=fake_score)
    plan = result.plan(Thresholds(0.5))
    moved = apply_overrides(
        plan,
        {
            photos / "red.jpg": UNCERTAIN,
            photos / "blue.png": "horses",
            photos / "broken.jpg": "cats",
        },
    )
    assert photos / "red.jpg" in images_in(moved, UNCERTAIN)
    assert photos / "blue.png" in images_in(moved, "dogs")  # no such category: as planned
    assert images_in(moved, UNREADABLE) == [photos / "broken.jpg"]


def test_the_sliders_keep_a_move_and_the_copy_writes_it(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    result = session.scan_and_score(fake_model, [photos], out, score=fake_score)
    result.overrides[photos / "grey.png"] = "dogs"
    for default in (0.01, 0.99):  # any slider position: the hand-made choice stands
        assert images_in(result.plan(Thresholds(default)), "dogs").count(photos / "grey.png") == 1
    plan = result.plan(Thresholds(0.99))
    session.copy_images(result, plan)
    assert (out / "dogs" / "grey.png").read_bytes() == (photos / "grey.png").read_bytes()
    assert not (out / UNCERTAIN / "grey.png").exists()
    assert (out / UNCERTAIN / "red.jpg").exists()
