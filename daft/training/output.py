"""The output folder of a training run: guards against clobbering, the log, and the trained pair written last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from daft.core.errors import UserError
from daft.core.progress import console
from daft.models.encoders import Encoder
from daft.models.manifest import MANIFEST
from daft.models.pair import EncoderPair
from daft.search import embeddings
from daft.search.evaluation import evaluate_dense
from daft.store.cache import remove
from daft.training import checkpoint, curves
from daft.training.data import TrainingData
from daft.training.recipe import Recipe
from daft.training.validation import MEASURES, validate

LOG_FILE = "train_log.jsonl"
CHECKPOINT_DIR = "checkpoint"


def check_output(output: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to replace a trained pair or an interrupted run unless asked; `overwrite` clears the folder."""
    if overwrite:
        remove(output)
        return
    if (output / MANIFEST).exists():
        raise UserError(f"{output}: a trained pair is already there; pass --overwrite to replace it")
    if _killed_before_its_first_checkpoint(output / CHECKPOINT_DIR):
        # Nothing was saved to resume from: both a rerun and --resume start from the beginning.
        console.print(f"{output}: the last run was killed before its first checkpoint; starting afresh")
        remove(output)
        return
    if (output / CHECKPOINT_DIR).exists() and not resume:
        raise UserError(
            f"{output}: holds an interrupted run; pass --resume to continue it or --overwrite to start over"
        )
    if resume and not (output / CHECKPOINT_DIR / checkpoint.STATE_FILE).exists():
        raise UserError(f"{output}: no checkpoint to resume from")


def _killed_before_its_first_checkpoint(folder: Path) -> bool:
    """Whether `folder` holds no training state once a killed writer's temporary file is swept: a run
    killed during its first checkpoint write leaves only that (and maybe its best weights so far)."""
    if not folder.is_dir():
        return False
    checkpoint.sweep(folder)
    return not (folder / checkpoint.STATE_FILE).exists()


def append_log(path: Path, record: dict[str, Any]) -> None:
    """One JSON line appended to the training log."""
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def truncate_log(path: Path, lines: int) -> None:
    """Keep the first `lines` lines of the log (what a resumed checkpoint had seen)."""
    kept = path.read_text("utf-8").splitlines(keepends=True)[:lines] if path.exists() else []
    path.write_text("".join(kept), "utf-8")


def finish(
    recipe: Recipe,
    data: TrainingData,
    query: Encoder,
    doc: Encoder,
    device: torch.device,
    summary: dict[str, Any],
) -> None:
    """Final dev and test evaluation on the whole corpus, then write the pair (pair.json last).

    The document vectors go through the embeddings cache: a fixed document side (zero_shot, align_only,
    fixed_index) finds the entry its training or a suite made, and a suite over the trained pair finds this one.
    """
    output = recipe.output
    corpus_ids, doc_vectors, _ = embeddings.doc_embeddings(
        doc,
        data.collection,
        max_length=recipe.data.doc_max_length,
        device=str(device),
        label="final evaluation",
    )
    final = {}
    for split in [recipe.data.dev_split, recipe.data.test_split]:
        if not split:
            continue
        queries, qrels = data.collection.split(split)
        qids = sorted(queries)
        vectors = query.encode([queries[q] for q in qids], device=str(device))
        final[split] = evaluate_dense(vectors, qids, doc_vectors, corpus_ids, qrels, MEASURES)
    # The diagnostics of the weights actually shipped (the best checkpoint), not of the last validation.
    row = {d: i for i, d in enumerate(corpus_ids)}
    shipped = validate(
        query,
        doc,
        data.vset,
        doc_vectors=doc_vectors[[row[d] for d in data.vset.doc_ids]],
        device=str(device),
    )
    diagnostics: dict[str, Any] = {k: shipped[k] for k in ("kl", "effective_rank", "mean_cosine")}
    diagnostics["validation"] = {k: shipped[k] for k in MEASURES}
    query.cpu()
    doc.cpu()
    pair = EncoderPair(
        query.eval(),
        doc.eval(),
        {
            "format": 1,
            "method": recipe.method,
            "recipe": recipe.to_dict(),
            "data": {
                "collection": recipe.data.collection,
                "fingerprint": data.fingerprint,
                "train_queries": len(data.qids),
                "validation_queries": len(data.vset.queries),
                "validation_documents": len(data.vset.doc_ids),
            },
            "metrics": {"final": final, "diagnostics": diagnostics},
            "training": summary,
            "torch": torch.__version__,
            "device": str(device),
        },
    )
    for side in ("query", "doc"):
        remove(output / side)
    pair.save(output)
    append_log(
        output / LOG_FILE,
        {"event": "final", **{f"{s}/{k}": v for s, m in final.items() for k, v in m.items()}},
    )
    remove(output / CHECKPOINT_DIR)
    curve = curves.read_curve(output)
    if curve.steps:  # zero_shot validates nothing: no curve to draw
        curves.save([curve], output / curves.CURVES_FILE)
