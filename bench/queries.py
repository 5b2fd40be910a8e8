"""The query texts a suite encodes: a collection split (`wordnet:test`) or a text file, in a stable order."""

from __future__ import annotations

from pathlib import Path

from daft.core.errors import UserError


def load_queries(source: str | None, file: Path | None, limit: int) -> list[str]:
    """Up to `limit` query texts, ordered by query id (collection) or by line (file)."""
    if file is not None:
        try:
            lines = Path(file).read_text("utf-8").splitlines()
        except FileNotFoundError:
            raise UserError(f"{file}: query file not found") from None
        except UnicodeDecodeError as err:
            raise UserError(f"{file}: not UTF-8 ({err.reason} at byte {err.start})") from None
        texts = [line.strip() for line in lines if line.strip()]
        if not texts:
            raise UserError(f"{file}: no queries (the file is empty)")
        return texts[:limit]
    from daft.collections import load, parse_ref

    ref, split = parse_ref(str(source))
    collection = load(ref)
    if split is None:
        queries = collection.queries
    else:
        queries, _ = collection.split(split)
    texts = [queries[qid] for qid in sorted(queries)]
    if not texts:
        raise UserError(f"{source}: no queries in that split")
    return texts[:limit]


def origin(source: str | None, file: Path | None, text: str | None) -> str:
    """Where query `text` of a suite's queries comes from, for an error: "FILE line N" or "REF query ID"
    (found again only on that error's path); the file or collection alone when the text is not known."""
    if text is None:
        return str(file if file is not None else source)
    if file is not None:
        lines = Path(file).read_text("utf-8").splitlines()
        line = next((n for n, found in enumerate(lines, start=1) if found.strip() == text), None)
        return f"{file} line {line}"
    from daft.collections import load, parse_ref

    ref, split = parse_ref(str(source))
    collection = load(ref)
    queries = collection.queries if split is None else collection.split(split)[0]
    return f"{source} query {next((q for q in sorted(queries) if queries[q] == text), None)!r}"
