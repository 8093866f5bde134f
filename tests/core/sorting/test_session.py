"""The window's sort is `sorter sort` in steps: same scores cache, thresholds rule, plan, apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeModel, fake_score, make_image, tree_hashes

from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.model.decide import UNCERTAIN, UNREADABLE
from sorter.core.sorting import review_items, session
from sorter.core.sorting.plan import Thresholds, resolve_thresholds
from sorter.core.sorting.sort import sort_folder

ALL_SIX = 6  # images in the `photos` fixture


def window_scan(photos, out, model, **kw) -> session.ScoreResult:
    return session.scan_and_score(model, [photos], out, score=fake_score, **kw)


def window_copy(photos, out, model, th: Thresholds | None = None):
    result = window_scan(photos, out, model)
    plan = result.plan(th or resolve_thresholds(model))
    return result, plan, session.copy_images(result, plan)


def test_preview_writes_nothing(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    result = window_scan(photos, out, fake_model)
    assert len(result.scored) == ALL_SIX and result.scores.reused == 0
    assert not out.exists()  # the user may still cancel or pick another folder


def test_preview_of_an_out_without_journal_creates_nothing_there(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    window_scan(photos, out, fake_model)
    assert list(out.iterdir()) == []


def test_second_window_sort_into_the_same_out_scores_nothing(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first, _, _ = window_copy(photos, out, fake_model)
    again = window_scan(photos, out, fake_model)
    assert fake_score.calls[-1] == []
    assert again.scores.reused == ALL_SIX
    assert [r.scores for r in again.scored] == [r.scores for r in first.scored]


def test_cli_sort_after_a_window_sort_reuses_its_scores(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    window_copy(photos, out, fake_model)
    summary = sort_folder(photos, out, model=fake_model, score=fake_score)
    assert summary.scores_reused == ALL_SIX
    assert fake_score.calls[-1] == []


def test_window_preview_reuses_the_scores_a_cli_sort_saved(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    result = window_scan(photos, out, fake_model)
    assert result.scores.reused == ALL_SIX
    assert fake_score.calls[-1] == []


def test_cli_dry_run_reads_saved_scores_like_the_preview(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    dry = sort_folder(photos, out, model=fake_model, score=fake_score, dry_run=True)
    assert dry.scores_reused == 0 and not out.exists()
    window_copy(photos, out, fake_model)
    before = tree_hashes(out, skip_state=False)
    dry = sort_folder(photos, out, model=fake_model, score=fake_score, dry_run=True)
    assert dry.scores_reused == ALL_SIX and fake_score.calls[-1] == []
    assert tree_hashes(out, skip_state=False) == before


def test_a_photo_changed_after_scoring_keeps_no_stale_score(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    result = window_scan(photos, out, fake_model)
    make_image(photos / "red.jpg", (20, 20, 230), size=(30, 20))  # edited while previewing
    plan = result.plan(resolve_thresholds(fake_model))
    session.copy_images(result, plan)
    again = window_scan(photos, out, fake_model)
    assert fake_score.calls[-1] == [photos / "red.jpg"]  # scored afresh, not taken as a cat
    assert again.scores.reused == ALL_SIX - 1


def test_window_copy_gives_the_tree_the_cli_gives(photos, fake_model, tmp_path):
    th = Thresholds(0.4, {"dogs": 0.7})
    _, _, summary = window_copy(photos, tmp_path / "window", fake_model, th)
    sort_folder(
        photos, tmp_path / "cli", model=fake_model, score=fake_score,
        default_threshold=0.4, thresholds={"dogs": 0.7},
    )  # fmt: skip
    assert tree_hashes(tmp_path / "window") == tree_hashes(tmp_path / "cli")
    assert summary.images == ALL_SIX


def test_preview_figures_count_what_the_plan_copies(photos, fake_model, tmp_path):
    (photos / "broken.jpg").write_bytes(b"not an image")
    result = window_scan(photos, tmp_path / "out", fake_model)
    figures = session.preview_figures(result.plan(Thresholds(0.5)), samples=2)
    assert figures.counts == {"cats": 3, "dogs": 3, UNCERTAIN: 1, UNREADABLE: 1}
    assert figures.to_copy == ALL_SIX and figures.folders == 3 and figures.empty == []
    assert figures.samples[UNREADABLE] == [photos / "broken.jpg"]
    assert len(figures.samples["cats"]) == 2
    high = session.preview_figures(result.plan(Thresholds(0.99)))
    assert high.counts[UNCERTAIN] == ALL_SIX and high.empty == ["cats", "dogs"]


def test_cancelled_scan_raises_and_writes_nothing(photos, fake_model, tmp_path):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        window_scan(photos, tmp_path / "out", fake_model, cancel=cancel)
    assert not (tmp_path / "out").exists()


def test_several_sources_and_a_loose_image(tmp_path, fake_model):
    first = make_image(tmp_path / "Trip" / "Day 1" / "a.png")
    make_image(tmp_path / "Trip" / "Day 2" / "b.png")
    loose = make_image(tmp_path / "Trip" / "c.png")
    sources = [first.parent, tmp_path / "Trip" / "Day 2", loose, first.parent]
    result = session.scan_and_score(fake_model, sources, tmp_path / "out", score=fake_score)
    assert result.src == tmp_path / "Trip"
    assert [p.name for p in (r.path for r in result.scored)] == ["a.png", "b.png", "c.png"]


def test_the_window_follows_an_exclusive_models_kind(photos, tmp_path):
    model = FakeModel(exclusive=True)
    result = window_scan(photos, tmp_path / "out", model)
    assert result.exclusive
    figures = session.preview_figures(result.plan(Thresholds(0.03)))
    assert figures.counts == {"cats": 4, "dogs": 2, UNCERTAIN: 0, UNREADABLE: 0}
    multi = window_scan(photos, tmp_path / "out2", FakeModel())
    assert session.preview_figures(multi.plan(Thresholds(0.03))).counts["cats"] == ALL_SIX


# --- the one threshold rule ------------------------------------------------------------------
def model_with_own() -> FakeModel:
    return FakeModel(thresholds={"cats": 0.8, "dogs": 0.5}, default_threshold=0.5)


def test_rule_keeps_the_models_own_values_and_overrides_them():
    assert resolve_thresholds(model_with_own()) == Thresholds(0.5, {"cats": 0.8})
    given = resolve_thresholds(model_with_own(), None, {"dogs": 0.3, "birds": 0.1})
    assert given == Thresholds(0.5, {"cats": 0.8, "dogs": 0.3})


def test_rule_one_threshold_for_every_category_replaces_the_models():
    assert resolve_thresholds(model_with_own(), 0.2) == Thresholds(0.2, {})
    assert resolve_thresholds(model_with_own(), 0.2, {"dogs": 0.9}) == Thresholds(
        0.2, {"dogs": 0.9}
    )


def test_window_sliders_start_from_the_same_rule():
    assert session.initial_thresholds(model_with_own(), None, {}) == Thresholds(0.5, {"cats": 0.8})
    saved = session.initial_thresholds(model_with_own(), 0.3, {"dogs": 0.6, "gone": 0.1})
    assert saved == Thresholds(0.3, {"cats": 0.8, "dogs": 0.6})


def test_saved_sliders_belong_to_the_model_they_were_set_for(tmp_path):
    from sorter.core.settings import Settings

    old, new = FakeModel(path=tmp_path / "old.pth"), FakeModel(path=tmp_path / "new.pth")
    new.default_threshold = 0.35  # what the new model's training chose
    saved = Settings(default_threshold=0.7, thresholds={"cats": 0.9})
    saved.thresholds_model = session.model_key(old)
    assert session.saved_thresholds(old, saved) == (0.7, {"cats": 0.9})
    assert session.saved_thresholds(new, saved) == (None, {})
    start = session.initial_thresholds(new, *session.saved_thresholds(new, saved))
    assert start == Thresholds(0.35, {})  # not the old model's 0.7
    saved.thresholds_model = None  # written by a version that did not record the model
    assert session.saved_thresholds(new, saved) == (0.7, {"cats": 0.9})


def test_a_models_key_is_its_weights_checksum_else_its_file(tmp_path):
    class Meta:
        state_dict_sha256 = "ab12"

    model = FakeModel(path=tmp_path / "m.pth")
    assert session.model_key(model) == str(tmp_path / "m.pth")
    model.meta = Meta()
    assert session.model_key(model) == "ab12"


# --- review ---------------------------------------------------------------------------------
def test_review_set_holds_the_copied_images_least_certain_first(photos, fake_model, tmp_path):
    (photos / "broken.jpg").write_bytes(b"not an image")
    result = window_scan(photos, tmp_path / "out", fake_model)
    review = review_items.review_set(result.plan(Thresholds(0.5)))
    assert len(review.items) == ALL_SIX  # the unreadable one was not copied
    assert review.folder_counts() == {UNCERTAIN: 1, "cats": 3, "dogs": 3}
    cats = review.in_folder("cats")
    assert [i.scores[0] for i in cats] == sorted(i.scores[0] for i in cats)


def test_after_a_move_review_shows_each_photo_from_its_copy(photos, fake_model, tmp_path):
    copied = review_items.review_set(*window_copy(photos, tmp_path / "copies", fake_model)[1:])
    assert all(i.picture is None and i.shown == i.path for i in copied.items)  # nothing moved
    result = window_scan(photos, tmp_path / "out", fake_model)
    plan = result.plan(Thresholds(0.5))
    summary = session.copy_images(result, plan, mode="move")
    assert summary.moved == ALL_SIX
    review = review_items.review_set(plan, summary)
    assert len(review.items) == ALL_SIX
    for item in review.items:
        assert not item.path.exists()
        assert item.shown.is_file() and item.shown.parent.parent == tmp_path / "out"
        assert item.shown.parent.name in item.folders


def test_number_key_adds_to_all_then_removes_from_all():
    a = review_items.ReviewItem(Path("a.jpg"), [0.1, 0.2], [UNCERTAIN])
    b = review_items.ReviewItem(Path("b.jpg"), [0.9, 0.2], ["cats"])
    review_items.toggle_category([a, b], "cats")
    assert (a.pending, b.pending) == (["cats"], ["cats"])
    review_items.toggle_category([a, b], "cats")
    assert (a.pending, b.pending) == ([], [])
    a.mark_saved([])
    assert (a.folders, a.pending, a.saved) == ([UNCERTAIN], None, True)


def test_for_a_single_label_model_a_number_key_replaces_the_label():
    a = review_items.ReviewItem(Path("a.jpg"), [0.1, 0.2, 0.3], ["dogs"])
    b = review_items.ReviewItem(Path("b.jpg"), [0.9, 0.2, 0.1], ["cats"])
    review_items.toggle_category([a, b], "cars", exclusive=True)
    assert (a.pending, b.pending) == (["cars"], ["cars"])
    review_items.toggle_category([a], "dogs", exclusive=True)
    assert a.pending == ["dogs"]
    review_items.toggle_category([a], "dogs", exclusive=True)
    assert a.pending == []  # the one label off: none of these


def test_a_folder_of_only_unreadable_files_says_why_per_file(fake_model, tmp_path):
    bad = tmp_path / "Bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"not a jpeg")
    (bad / "b.png").write_bytes(b"not a png")
    with pytest.raises(session.UnreadableImagesError) as caught:
        session.scan_and_score(fake_model, [bad], tmp_path / "out", score=fake_score)
    message = str(caught.value)
    assert message.startswith("None of the 2 images in “Bad” could be read")
    assert "nothing was copied. a.jpg, b.png: not a readable image (" in message
    assert str(bad / "b.png") in caught.value.details
    assert not (tmp_path / "out").exists()


def test_the_scan_knows_what_an_earlier_sort_placed_in_out(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first, plan, _ = window_copy(photos, out, fake_model, Thresholds(0.95, {}))
    again = window_scan(photos, out, fake_model)
    update = again.update(again.plan(Thresholds(0.4, {})))
    assert (update.moving, update.stay) == (ALL_SIX, 0)
    again.move_out(tmp_path / "elsewhere")
    assert again.update(again.plan(Thresholds(0.4, {}))) is None
    assert first.update(plan) is None  # read before the first copy: nothing was there
