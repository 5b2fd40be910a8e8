"""Trained pairs side by side (the experiment table), from their manifests: on screen and as files.

`daft summary` shows it; the GPU grid writes it for the pairs it brings back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from daft.core.progress import output_console
from daft.models.manifest import read_manifest
from daft.store.cache import atomic_write_text

COLUMNS = (
    "pair", "method", "query encoder", "q params", "KL", "eff. rank", "mean cos",
    "dev nDCG@10", "dev RR@10", "test nDCG@10", "test RR@10", "of ref", "align / finetune steps", "train time",
)  # fmt: skip
# "of ref": test nDCG@10 as a fraction of the --reference pair's (what "keeps quality" means); "-" without one.


def row(directory: Path) -> dict[str, Any]:
    """One pair's line of the experiment table, from its manifest."""
    m = read_manifest(directory)
    final = m.get("metrics", {}).get("final", {})
    diag = m.get("metrics", {}).get("diagnostics", {})
    stages = m.get("training", {}).get("stages", {})
    spec = m.get("recipe", {}).get("query_encoder", {})
    source = spec.get("model") or spec.get("pair") or spec.get("arch") or "?"
    return {
        "pair": Path(directory).name,
        "method": m.get("method"),
        "query_encoder": _describe(m["query"], source, spec),
        "query_parameters": m["query"].get("parameters"),
        "kl": diag.get("kl"),
        "effective_rank": diag.get("effective_rank"),
        "mean_cosine": diag.get("mean_cosine"),
        "dev": final.get("dev", {}),
        "test": final.get("test", {}),
        "steps": {name: stage.get("steps") for name, stage in stages.items()},
        "stopped_early": {name: stage.get("stopped_early") for name, stage in stages.items()},
        "train_seconds": m.get("training", {}).get("train_seconds"),
        "data": m.get("data", {}),
    }


def _describe(query: dict[str, Any], source: Any, spec: dict[str, Any]) -> str:
    """'static bert-l2-h128 → 384', 'static minilm-l6 (distilled, idf)': the type, where its weights came from,
    how an L0 table started when not from the input embeddings, and a projection if it has one."""
    name = Path(source).name if isinstance(source, str) else str(source)
    start = [
        x for x in (spec.get("init"), spec.get("token_weights")) if x not in (None, "embeddings", "none")
    ]
    started = f" ({', '.join(start)})" if start else ""
    projection = f" → {query['dim']}" if query.get("projection") else ""
    return f"{query['type']} {name}{started}{projection}"


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def cells(r: dict[str, Any]) -> list[str]:
    """A row as the table's strings."""
    steps = " / ".join(str(r["steps"].get(s, "-")) for s in ("align", "finetune"))
    params = "-" if r["query_parameters"] is None else f"{r['query_parameters'] / 1e6:.2f} M"
    seconds = r["train_seconds"]
    return [
        r["pair"], str(r["method"]), r["query_encoder"], params, _num(r["kl"], 1), _num(r["effective_rank"], 1),
        _num(r["mean_cosine"]), _num(r["dev"].get("nDCG@10")), _num(r["dev"].get("RR@10")),
        _num(r["test"].get("nDCG@10")), _num(r["test"].get("RR@10")), _percent(r.get("of_reference")), steps,
        "-" if seconds is None else f"{seconds / 60:.1f} min",
    ]  # fmt: skip


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def with_reference(rows: list[dict[str, Any]], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row with `of_reference`: its test nDCG@10 over the reference's (None where either is missing)."""
    base = reference["test"].get("nDCG@10")
    out = []
    for r in rows:
        value = r["test"].get("nDCG@10")
        fraction = None if value is None or not base else value / base
        out.append({**r, "of_reference": fraction, "reference": reference["pair"]})
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table in Markdown."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def rows_of(pairs: Sequence[Path], reference: Path | None = None) -> list[dict[str, Any]]:
    """The table's rows of `pairs`, with `of_reference` when a reference pair is given."""
    rows = [row(p) for p in pairs]
    return rows if reference is None else with_reference(rows, row(reference))


def write(rows: list[dict[str, Any]], *, markdown_path: Path | None, json_path: Path | None) -> None:
    """Write the rows as Markdown and/or JSON (each atomically)."""
    if markdown_path:
        atomic_write_text(markdown_path, markdown(rows))
    if json_path:
        atomic_write_text(json_path, json.dumps(rows, indent=1) + "\n")


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a Rich table on stdout."""
    table = Table(title="encoder pairs")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("pair", "method", "query encoder") else "right")
    for r in rows:
        table.add_row(*cells(r))
    output_console().print(table)
