"""Argument types shared by the bench subcommands: a bad value is argparse's one-line error, exit 2."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1 (a count or a depth: 0 would silently mean "all" or fail deep inside)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
