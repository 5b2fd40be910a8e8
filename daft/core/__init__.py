"""The floor every part stands on: errors, the console and progress, the TOML engine, finite checks,
plots, torchrun ranks. Imports nothing else of daft."""
