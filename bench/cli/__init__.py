"""One module per `python -m bench` subcommand; argument parsing here, logic in the bench modules."""
