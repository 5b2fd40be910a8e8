"""The recipes: `standard` (both encoders trained from step one), `daft` (align, then fine-tune), `align_only`,
and `zero_shot` (no training: the pair as built, evaluated like the others, e.g. the symmetric reference).

A recipe is a sequence of stages:
- **align** (DAFT stage 1): the document encoder is frozen, so its embeddings of every document the stage
  needs are computed once and looked up afterwards; only the query encoder (and its projection) trains.
  After each validation the kNN KL divergence between the document encoder's and the query encoder's
  embeddings of the same validation documents is computed; the stage stops at the first validation that
  does not improve it (patience 0) and keeps the best-KL weights.
- **finetune** (DAFT stage 2, and the whole `standard` recipe): both encoders train, with a fresh optimiser,
  early-stopped on dev nDCG@10 with `finetune_patience`; the best-nDCG weights are kept.
Every stage begins with a validation of its starting point, so the log shows where each stage started.

Checkpoints (weights, optimiser, scheduler, RNG, counters) are written at every validation; `resume=True`
continues from the last one, and, with a fixed seed on the CPU, ends with the same metrics as an
uninterrupted run: batches come from a shuffle seeded by (seed, stage, epoch), never from global state.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from daft import checkpoint, collections, distributed
from daft.cache import remove
from daft.encoders import Encoder, build
from daft.errors import UserError
from daft.loss import ContrastiveLoss
from daft.negatives import hard_negatives
from daft.pair import MANIFEST, EncoderPair
from daft.progress import console, progress
from daft.recipe import EncoderRecipe
from daft.validation import (
    ValidationSet,
    dense_run,
    evaluate,
    kl_documents,
    retrieval_metrics,
    validation_corpus,
)

STAGES = {"standard": ("finetune",), "daft": ("align", "finetune"), "align_only": ("align",), "zero_shot": ()}
LOG_FILE = "train_log.jsonl"
CHECKPOINT_DIR = "checkpoint"
DISTRACTORS_PER_QUERY = 20  # BM25-hard distractors per validation query in a reduced validation corpus


def _stable(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


# --- data ------------------------------------------------------------------------------------------------------


@dataclass
class TrainingData:
    """Everything the stages read: training triples' ingredients and the validation set."""

    collection: Any
    qids: list[str]
    queries: dict[str, str]
    positives: dict[str, list[str]]
    negatives: dict[str, list[str]]
    vset: ValidationSet
    fingerprint: str


def prepare_data(recipe: Any) -> TrainingData:
    """Load the collection, pick the training/validation queries, and sample BM25 hard negatives."""
    data, neg = recipe.data, recipe.negatives
    collection = collections.load(data.collection)
    train_queries, train_qrels = collection.split(data.train_split)
    qids = sorted(
        (q for q in train_queries if any(g > 0 for g in train_qrels.get(q, {}).values())), key=_stable
    )
    if data.max_train_queries:
        qids = qids[: data.max_train_queries]
    if not qids:
        raise UserError(
            f"{data.collection}: split {data.train_split!r} has no query with a relevant document"
        )
    negatives = (
        hard_negatives(
            collection,
            data.train_split,
            k=neg.k,
            depth=neg.depth,
            k1=neg.k1,
            b=neg.b,
            seed=recipe.recipe.seed,
        )
        if neg.k
        else {}
    )
    dev_queries, dev_qrels = collection.split(data.dev_split)
    dev_ids = sorted(dev_queries, key=_stable)[: data.max_dev_queries or None]
    dev_qrels = {q: dict(dev_qrels.get(q, {})) for q in dev_ids}
    corpus_ids = sorted(collection.corpus)
    distractors: dict[str, list[str]] = {}
    if 0 < data.validation_documents < len(corpus_ids):
        from daft.bm25 import run as bm25_run

        full = bm25_run(collection, data.dev_split, k=DISTRACTORS_PER_QUERY, k1=neg.k1, b=neg.b)
        distractors = {q: [d for d, _ in full.get(q, [])] for q in dev_ids}
    doc_ids = validation_corpus(corpus_ids, dev_qrels, distractors, data.validation_documents)
    text = collection.corpus
    kl_ids = kl_documents({d: text[d].full_text for d in corpus_ids}, data.kl_documents)
    vset = ValidationSet(
        queries={q: dev_queries[q] for q in dev_ids},
        qrels=dev_qrels,
        doc_ids=doc_ids,
        doc_texts=[text[d].full_text for d in doc_ids],
        kl_texts=[text[d].full_text for d in kl_ids],
    )
    return TrainingData(
        collection=collection,
        qids=qids,
        queries={q: train_queries[q] for q in qids},
        positives={q: sorted(d for d, g in train_qrels[q].items() if g > 0) for q in qids},
        negatives={q: negatives.get(q, []) for q in qids},
        vset=vset,
        fingerprint=collection.fingerprint,
    )


@dataclass
class Batch:
    """One training step's inputs: query texts, the batch's unique documents, targets and exclusions."""

    query_texts: list[str]
    doc_ids: list[str]
    targets: torch.Tensor
    exclude: torch.Tensor


def make_batch(data: TrainingData, qids: list[str], rng: random.Random) -> Batch:
    """Each query's positive (sampled if several) and its hard negatives, deduplicated across the batch."""
    doc_index: dict[str, int] = {}
    targets = []
    for qid in qids:
        positive = rng.choice(data.positives[qid])
        targets.append(doc_index.setdefault(positive, len(doc_index)))
        for doc_id in data.negatives[qid]:
            doc_index.setdefault(doc_id, len(doc_index))
    doc_ids = list(doc_index)
    exclude = torch.zeros(len(qids), len(doc_ids), dtype=torch.bool)
    for row, qid in enumerate(qids):
        for doc_id in data.positives[qid]:  # another relevant doc is neither positive nor negative here
            column = doc_index.get(doc_id)
            if column is not None and column != targets[row]:
                exclude[row, column] = True
    return Batch([data.queries[q] for q in qids], doc_ids, torch.tensor(targets), exclude)


def batches(
    data: TrainingData,
    seed: int,
    stage: str,
    epoch: int,
    batch_size: int,
    steps: int,
    world: distributed.World | None = None,
) -> Iterator[Batch]:
    """The batches of one epoch (this process's share), from a shuffle seeded by (seed, stage, epoch) alone."""
    rng = random.Random(f"{seed}:{stage}:{epoch}")
    order = list(data.qids)
    rng.shuffle(order)
    for step in range(steps):
        start = (step * batch_size) % len(order)
        chosen = (order + order)[start : start + batch_size]  # wrap around when a cap exceeds one pass
        yield make_batch(data, distributed.shard(chosen, world or distributed.World()), rng)


def param_groups(encoder: Encoder, spec: EncoderRecipe) -> list[dict[str, Any]]:
    """AdamW parameter groups of one side: the encoder at `spec.lr`, its projection at `spec.projection_lr` if set."""
    projection = encoder.projection
    if projection is None or spec.projection_lr is None:
        return [{"params": list(encoder.parameters()), "lr": spec.lr}]
    own = {id(p) for p in projection.parameters()}
    return [
        {"params": [p for p in encoder.parameters() if id(p) not in own], "lr": spec.lr},
        {"params": list(projection.parameters()), "lr": spec.projection_lr},
    ]


# --- the trainer -----------------------------------------------------------------------------------------------


@dataclass
class StageState:
    """Counters of the running stage (all plain values, so they go into a weights-only checkpoint)."""

    stage: str
    epoch: int = 0
    step: int = 0
    best: float | None = None
    bad_validations: int = 0
    done: bool = False
    seconds: float = 0.0
    steps_done: int = 0


@dataclass
class Trainer:
    """Runs a recipe end to end and writes the pair into `recipe.recipe.output`."""

    recipe: Any
    resume: bool = False
    overwrite: bool = False
    output: Path = field(init=False)

    def __post_init__(self) -> None:
        self.output = Path(self.recipe.recipe.output)
        self.world = distributed.init()
        self.device = distributed.device(self.world, _device(self.recipe.recipe.device))
        self.autocast = _autocast(self.recipe.recipe.precision, self.device)
        # fp16 gradients underflow without loss scaling; bf16 and fp32 need none.
        fp16 = getattr(self.autocast, "fast_dtype", None) == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.log_path = self.output / LOG_FILE
        self.summary: dict[str, Any] = {"stages": {}}
        self.last_metrics: dict[str, float] = {}

    # -- public ------------------------------------------------------------------------------------------------
    def run(self) -> Path:
        """Train and save the pair; returns the output directory."""
        if self.world.main:
            self._check_output()
        distributed.barrier(self.world)
        torch.manual_seed(self.recipe.recipe.seed)
        random.seed(self.recipe.recipe.seed)
        started = time.perf_counter()
        # Rank 0 builds the caches (collection, BM25 index and runs) alone; the others then only read them.
        # Built concurrently, one rank's finished index replaced the directory another rank was searching.
        with (
            distributed.main_first(self.world),
            console.status("preparing data (collection, BM25 hard negatives, validation set)"),
        ):
            self.data = prepare_data(self.recipe)
        self.query = build(self.recipe.encoder_spec("query_encoder")).to(self.device)
        self.doc = build(self.recipe.encoder_spec("doc_encoder")).to(self.device)
        if self.query.dim != self.doc.dim:
            raise UserError(
                f"{self.recipe.path}: [query_encoder] dim: the query encoder gives {self.query.dim}-d vectors, "
                f"the document encoder {self.doc.dim}-d; set dim = {self.doc.dim}"
            )
        self.loss = ContrastiveLoss(
            scale=self.recipe.loss.scale,
            normalization=self.recipe.loss.normalization,
            dropout=self.recipe.loss.dropout,
        )
        saved = checkpoint.load(self.output / CHECKPOINT_DIR) if self.resume else None
        stages = STAGES[self.recipe.recipe.method]
        first = stages.index(saved["stage"]["stage"]) if saved else 0
        if saved:
            self.summary = saved["summary"]
            if self.world.main:
                _truncate_log(self.log_path, saved["log_lines"])
                console.print(
                    f"resuming {saved['stage']['stage']} at epoch {saved['stage']['epoch']}", highlight=False
                )
        elif self.world.main:
            self.output.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text("", "utf-8")
        distributed.barrier(self.world)
        for index in range(first, len(stages)):
            self._run_stage(stages[index], saved if index == first else None)
        self.summary["train_seconds"] = self.summary.get("train_seconds", 0.0) + time.perf_counter() - started
        self.summary["processes"] = self.world.size
        if self.world.main:
            self._finish()
        distributed.barrier(self.world)
        distributed.finish(self.world)
        return self.output

    # -- stages ------------------------------------------------------------------------------------------------
    def _run_stage(self, stage: str, saved: dict[str, Any] | None) -> None:
        train = self.recipe.train
        align = stage == "align"
        self.doc.requires_grad_(not align)
        params = param_groups(self.query, self.recipe.query_encoder)
        if not align:
            params += param_groups(self.doc, self.recipe.doc_encoder)
        optimizer = torch.optim.AdamW(params, weight_decay=train.weight_decay)
        warmup = max(train.warmup_steps, 0)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0
        )
        steps = train.steps_per_epoch or math.ceil(len(self.data.qids) / train.batch_size)
        max_epochs = train.align_max_epochs if align else train.finetune_max_epochs
        state = StageState(stage)
        table = self._precompute() if align else None
        # What a step calls: DDP-wrapped when several processes train (the frozen doc side never is).
        self._query_model = distributed.wrap(self.query, self.world)
        self._doc_model = self.doc if align else distributed.wrap(self.doc, self.world)
        if saved:
            self._restore(saved, optimizer, scheduler)
            state = StageState(**saved["stage"])
        else:
            self._validate(state, table)
            self._checkpoint(state, optimizer, scheduler)
        eval_every = train.eval_every or steps
        with progress(disable=not self.world.main) as bar:
            task = bar.add_task(
                self._describe(state), total=max_epochs * steps, completed=state.epoch * steps + state.step
            )
            while not state.done and state.epoch < max_epochs:
                epoch_batches = batches(
                    self.data,
                    self.recipe.recipe.seed,
                    stage,
                    state.epoch,
                    train.batch_size,
                    steps,
                    self.world,
                )
                losses = []
                tick = time.perf_counter()
                for index, batch in enumerate(epoch_batches):
                    if index < state.step:
                        continue  # resumed mid-epoch: the shuffle is the same, skip what was done
                    losses.append(self._step(batch, table, optimizer, scheduler))
                    state.step += 1
                    state.steps_done += 1
                    bar.update(task, advance=1, description=self._describe(state, losses))
                    if state.step % eval_every == 0 or state.step == steps:
                        state.seconds += time.perf_counter() - tick
                        if state.step == steps:
                            state.epoch, state.step = state.epoch + 1, 0
                        self._validate(state, table, losses)
                        self._checkpoint(state, optimizer, scheduler)
                        tick = time.perf_counter()
                        losses = []
                        if state.done:
                            break
                    elif train.checkpoint_every and state.steps_done % train.checkpoint_every == 0:
                        state.seconds += time.perf_counter() - tick
                        self._checkpoint(state, optimizer, scheduler)
                        tick = time.perf_counter()
        self._load_best(stage)
        self.summary["stages"][stage] = {
            "epochs": state.epoch,
            "steps": state.steps_done,
            "seconds": state.seconds,
            "best": state.best,
            "stopped_early": state.done,
        }
        if align and table is not None:
            self.summary["stages"][stage]["doc_precompute"] = self._precompute_speedup(state, table)

    def _step(self, batch: Batch, table: dict[str, Any] | None, optimizer: Any, scheduler: Any) -> float:
        self.query.train()
        self.loss.train()
        with self.autocast:
            q_features = self._features(self.query, batch.query_texts, self.recipe.data.query_max_length)
            query_vectors = self._query_model(**q_features)
            if table is not None:
                doc_vectors = table["vectors"][torch.tensor([table["index"][d] for d in batch.doc_ids])].to(
                    self.device
                )
            else:
                self.doc.train()
                texts = [self.data.collection.corpus[d].full_text for d in batch.doc_ids]
                doc_vectors = self._doc_model(
                    **self._features(self.doc, texts, self.recipe.data.doc_max_length)
                )
            loss = self.loss(
                query_vectors.float(),
                doc_vectors.float(),
                batch.targets.to(self.device),
                batch.exclude.to(self.device),
            )
        self.scaler.scale(loss).backward()
        if self.recipe.train.max_grad_norm:
            self.scaler.unscale_(optimizer)
            trainable = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(trainable, self.recipe.train.max_grad_norm)
        self.scaler.step(optimizer)
        self.scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _features(self, encoder: Encoder, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in encoder.tokenize(texts, max_length=max_length).items()}

    # -- the frozen document side ----------------------------------------------------------------------------------
    def _precompute(self) -> dict[str, Any]:
        """Doc-encoder vectors of every training document, the validation corpus and the KL documents."""
        start = time.perf_counter()
        needed = sorted({d for q in self.data.qids for d in self.data.positives[q] + self.data.negatives[q]})
        texts = [self.data.collection.corpus[d].full_text for d in needed]
        self.doc.eval()
        with console.status(
            f"encoding {len(texts) + len(self.data.vset.doc_texts):,} documents once (frozen doc encoder)"
        ):
            vectors = self._raw_vectors(self.doc, texts, self.recipe.data.doc_max_length)
            validation = self.doc.encode(list(self.data.vset.doc_texts), device=str(self.device))
            kl = self.doc.encode(list(self.data.vset.kl_texts), device=str(self.device))
        return {
            "index": {d: i for i, d in enumerate(needed)},
            "vectors": vectors,
            "validation": validation,
            "kl": kl,
            "seconds": time.perf_counter() - start,
        }

    @torch.inference_mode()
    def _raw_vectors(
        self, encoder: Encoder, texts: list[str], max_length: int, batch_size: int = 128
    ) -> torch.Tensor:
        """Unnormalised outputs (the loss normalises), in input order, on the CPU."""
        out = []
        for start in range(0, len(texts), batch_size):
            with self.autocast:
                out.append(
                    encoder(**self._features(encoder, texts[start : start + batch_size], max_length))
                    .float()
                    .cpu()
                )
        return torch.cat(out) if out else torch.zeros(0, encoder.dim)

    def _precompute_speedup(self, state: StageState, table: dict[str, Any]) -> dict[str, float]:
        """Measured: the one-off precompute vs encoding each step's documents on the fly (3 steps sampled)."""
        sample = list(
            batches(self.data, self.recipe.recipe.seed, "probe", 0, self.recipe.train.batch_size, 3)
        )
        start = time.perf_counter()
        for batch in sample:
            texts = [self.data.collection.corpus[d].full_text for d in batch.doc_ids]
            self._raw_vectors(self.doc, texts, self.recipe.data.doc_max_length)
        per_step = (time.perf_counter() - start) / len(sample)
        with_table = state.seconds + table["seconds"]
        without = state.seconds + per_step * state.steps_done
        return {
            "precompute_s": table["seconds"],
            "doc_encode_s_per_step": per_step,
            "stage_s_with_precompute": with_table,
            "stage_s_estimated_without": without,
            "speedup": without / with_table if with_table else float("nan"),
        }

    # -- validation, best weights, checkpoints -----------------------------------------------------------------------
    def _validate(
        self, state: StageState, table: dict[str, Any] | None, losses: list[float] | None = None
    ) -> None:
        if self.world.main:
            self._validate_main(state, table, losses)
        # Every process must agree on when to stop; rank 0 decided.
        shared = distributed.broadcast(
            (state.best, state.bad_validations, state.done, self.last_metrics), self.world
        )
        state.best, state.bad_validations, state.done, self.last_metrics = shared

    def _validate_main(
        self, state: StageState, table: dict[str, Any] | None, losses: list[float] | None
    ) -> None:
        metrics = evaluate(
            self.query,
            self.doc,
            self.data.vset,
            doc_vectors=None if table is None else table["validation"],
            kl_doc_vectors=None if table is None else table["kl"],
            device=str(self.device),
        )
        align = state.stage == "align"
        value = metrics["kl"] if align else metrics["nDCG@10"]
        improved = state.best is None or (value < state.best if align else value > state.best)
        if improved:
            state.best, state.bad_validations = value, 0
            self._save_best(state.stage)
        else:
            state.bad_validations += 1
            patience = 0 if align else self.recipe.train.finetune_patience
            state.done = state.bad_validations > patience
        record = {
            "event": "validation",
            "stage": state.stage,
            "epoch": state.epoch,
            "step": state.step,
            "steps_done": state.steps_done,
            "loss": float(np.mean(losses)) if losses else None,
            **metrics,
            "improved": improved,
            "stop": state.done,
            "seconds": state.seconds,
        }
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        self.last_metrics = metrics

    def _describe(self, state: StageState, losses: list[float] | None = None) -> str:
        metrics = getattr(self, "last_metrics", {})
        loss = f" loss {np.mean(losses[-20:]):.3f}" if losses else ""
        shown = f" | KL {metrics['kl']:.2f} nDCG@10 {metrics['nDCG@10']:.3f}" if metrics else ""
        return f"{state.stage} epoch {state.epoch + 1}{loss}{shown}"

    def _best_dir(self, stage: str) -> Path:
        return self.output / CHECKPOINT_DIR / f"best-{stage}"

    def _save_best(self, stage: str) -> None:
        state = {"query": _cpu_state(self.query)}
        if stage != "align":
            state["doc"] = _cpu_state(self.doc)
        checkpoint.save(self._best_dir(stage), state)

    def _load_best(self, stage: str) -> None:
        distributed.barrier(self.world)  # rank 0 wrote the best weights; every process takes them
        best = checkpoint.load(self._best_dir(stage))
        if best is not None:
            self.query.load_state_dict(best["query"])
            if "doc" in best:
                self.doc.load_state_dict(best["doc"])

    def _checkpoint(self, state: StageState, optimizer: Any, scheduler: Any) -> None:
        if not self.world.main:
            return
        lines = len(self.log_path.read_text("utf-8").splitlines())
        checkpoint.save(
            self.output / CHECKPOINT_DIR,
            {
                "stage": state.__dict__.copy(),
                "query": _cpu_state(self.query),
                "doc": _cpu_state(self.doc),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": checkpoint.rng_state(),
                "summary": self.summary,
                "log_lines": lines,
                "last_metrics": self.last_metrics,
            },
        )

    def _restore(self, saved: dict[str, Any], optimizer: Any, scheduler: Any) -> None:
        self.query.load_state_dict(saved["query"])
        self.doc.load_state_dict(saved["doc"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        checkpoint.set_rng_state(saved["rng"])
        self.last_metrics = saved["last_metrics"]

    # -- output --------------------------------------------------------------------------------------------------
    def _check_output(self) -> None:
        if self.overwrite:
            remove(self.output)
            return
        if (self.output / MANIFEST).exists():
            raise UserError(f"{self.output}: a trained pair is already there; pass --overwrite to replace it")
        if (self.output / CHECKPOINT_DIR).exists() and not self.resume:
            raise UserError(
                f"{self.output}: holds an interrupted run; pass --resume to continue it or --overwrite to start over"
            )
        if self.resume and not (self.output / CHECKPOINT_DIR / checkpoint.STATE_FILE).exists():
            raise UserError(f"{self.output}: no checkpoint to resume from")

    def _finish(self) -> None:
        """Final dev and test evaluation on the whole corpus, then write the pair (pair.json last)."""
        data = self.recipe.data
        corpus_ids = sorted(self.data.collection.corpus)
        with console.status(f"final evaluation: encoding {len(corpus_ids):,} documents"):
            doc_vectors = self.doc.encode(
                [self.data.collection.corpus[d].full_text for d in corpus_ids], device=str(self.device)
            )
            final = {}
            for split in [data.dev_split, data.test_split]:
                if not split:
                    continue
                queries, qrels = self.data.collection.split(split)
                qids = sorted(queries)
                vectors = self.query.encode([queries[q] for q in qids], device=str(self.device))
                final[split] = retrieval_metrics(dense_run(vectors, qids, doc_vectors, corpus_ids), qrels)
        # The diagnostics of the weights actually shipped (the best checkpoint), not of the last validation.
        shipped = evaluate(self.query, self.doc, self.data.vset, device=str(self.device))
        diagnostics = {k: shipped[k] for k in ("kl", "effective_rank", "mean_cosine")}
        diagnostics["validation"] = {k: shipped[k] for k in ("nDCG@10", "RR@10", "R@100")}
        self.query.cpu()
        self.doc.cpu()
        pair = EncoderPair(
            self.query.eval(),
            self.doc.eval(),
            {
                "format": 1,
                "method": self.recipe.recipe.method,
                "recipe": self.recipe.to_dict(),
                "data": {
                    "collection": data.collection,
                    "fingerprint": self.data.fingerprint,
                    "train_queries": len(self.data.qids),
                    "validation_queries": len(self.data.vset.queries),
                    "validation_documents": len(self.data.vset.doc_ids),
                },
                "metrics": {"final": final, "diagnostics": diagnostics},
                "training": self.summary,
                "torch": torch.__version__,
                "device": str(self.device),
            },
        )
        for side in ("query", "doc"):
            remove(self.output / side)
        pair.save(self.output)
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(
                json.dumps(
                    {"event": "final", **{f"{s}/{k}": v for s, m in final.items() for k, v in m.items()}}
                )
                + "\n"
            )
        remove(self.output / CHECKPOINT_DIR)


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}


def _truncate_log(path: Path, lines: int) -> None:
    kept = path.read_text("utf-8").splitlines(keepends=True)[:lines] if path.exists() else []
    path.write_text("".join(kept), "utf-8")


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device = 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def _autocast(precision: str, device: torch.device) -> Any:
    if device.type != "cuda":
        if precision in ("fp16", "bf16"):
            raise UserError(f"precision = {precision!r} needs a CUDA device; use 'auto' or 'fp32' on the CPU")
        return nullcontext()
    if precision == "fp32":
        return nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    if precision == "auto" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return torch.autocast("cuda", dtype=dtype)


def train(recipe: Any, *, resume: bool = False, overwrite: bool = False) -> Path:
    """Run a recipe; returns the directory of the trained pair."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return Trainer(recipe, resume=resume, overwrite=overwrite).run()
