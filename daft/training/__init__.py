"""Training: the recipe, the loop (`train.py`) and its parts (data, optimiser, document side, stages,
objectives, output folder), the loss, checkpoints, validation with its collapse diagnostics and the curves."""
