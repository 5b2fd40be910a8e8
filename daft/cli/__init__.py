"""`python -m daft`'s subcommands, one module each, and the runner both CLIs share (`runner.py`)."""
