"""Command-line plumbing shared by `python -m daft` and `python -m bench`: one module per subcommand."""
