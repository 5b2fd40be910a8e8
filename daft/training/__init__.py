"""Training, in parts: data preparation, the optimiser, the document side, the stages and the output folder (the loop is `daft.training.train`)."""
