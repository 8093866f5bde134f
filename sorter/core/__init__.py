"""Qt-free core of Sorter: base modules here; model, sorting, training, learning below."""
