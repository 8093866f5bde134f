"""Qt-free core of Sorter: model file, predictor, decisions, sorting, training."""
