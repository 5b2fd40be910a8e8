"""The stdout console for tables: piped output keeps every row whole."""

from __future__ import annotations

import pytest
from rich.table import Table

from daft.progress import output_console


def test_piped_tables_are_not_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # stdout is captured: not a terminal
    long_name = "pairs/daft-" + "-".join(f"part{i}" for i in range(40))
    table = Table()
    for column in ("pair", *(f"metric {i}" for i in range(12))):
        table.add_column(column)
    table.add_row(long_name, *(f"{i / 7:.4f}" for i in range(12)))
    output_console().print(table)
    out = capsys.readouterr().out
    assert long_name in out and "…" not in out
