"""Making an empty examples folder from the category names a user types."""

from __future__ import annotations

import pytest

from sorter.core.training.data import TrainingDataError
from sorter.core.training.examples import make_examples_folder, parse_category_names


def test_names_are_split_on_commas_semicolons_and_lines_without_repeats() -> None:
    text = " Chairs, tables;lamps\n\n chairs ,  office   desks ,"
    assert parse_category_names(text) == ["Chairs", "tables", "lamps", "office desks"]
    assert parse_category_names(" , ;\n") == []


def test_a_new_folder_is_made_each_time_and_names_are_made_safe(tmp_path) -> None:
    first = make_examples_folder(tmp_path / "Pictures", ["chairs", "tables"])
    assert first == tmp_path / "Pictures" / "Sorter examples"
    assert sorted(p.name for p in first.iterdir()) == ["chairs", "tables"]
    (first / "chairs" / "mine.jpg").write_bytes(b"photo")
    second = make_examples_folder(tmp_path / "Pictures", ["a/b", "CON", "uncertain", "A/B"])
    assert second.name == "Sorter examples (2)"
    assert sorted(p.name for p in second.iterdir()) == ["A_B (2)", "CON_", "a_b", "uncertain (2)"]
    assert (first / "chairs" / "mine.jpg").read_bytes() == b"photo"  # the first is untouched


def test_one_name_is_not_enough(tmp_path) -> None:
    with pytest.raises(TrainingDataError, match="at least two categories"):
        make_examples_folder(tmp_path, ["chairs"])
    assert list(tmp_path.iterdir()) == []
