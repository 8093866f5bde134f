"""The one way Sorter lists a few names and counts the rest."""

from sorter.core.text import some_of


def test_lists_the_first_names_and_counts_the_rest():
    names = ["a.jpg", "b.png", "c.gif", "d.jpg", "e.jpg"]
    assert some_of(names, 2) == "a.jpg, b.png and 3 more"
    assert some_of(names, 4) == "a.jpg, b.png, c.gif, d.jpg and 1 more"


def test_lists_every_name_when_they_fit():
    assert some_of(["a", "b"], 2) == "a, b"
    assert some_of(["a"], 3) == "a"
    assert some_of([], 3) == ""
