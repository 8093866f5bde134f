"""Learning from use: the corrections queue, retraining, evaluation, model versions."""
