"""The training loop: runs a method's stages (`daft.training.stages`) and writes the pair.

A method is a sequence of stages (`stages.METHOD_STAGES`: standard: finetune; daft: align, then finetune;
align_only: align; fixed_index: index; fixed_index_finetune: index, then finetune; zero_shot: none, the pair
as built is evaluated like the others). Every stage begins with a validation of its starting
point, so the log shows where each stage started. Data preparation lives in `daft.training.data`, what differs
between stages in `daft.training.stages` and `daft.training.docs`, the output folder in `daft.training.output`.

Checkpoints (weights, optimiser, scheduler, RNG, counters) are written at every validation; `resume=True`
continues from the last one, and, with a fixed seed on the CPU, ends with the same metrics as an
uninterrupted run: batches come from a shuffle seeded by (seed, stage, epoch), never from global state.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from daft.core import distributed
from daft.core.errors import UserError
from daft.core.progress import console, progress
from daft.models.build import build
from daft.training import checkpoint, runtime
from daft.training.data import Batch, batches, prepare_data
from daft.training.docs import Context, DocSide, cpu_state
from daft.training.optim import optimiser, param_groups
from daft.training.output import CHECKPOINT_DIR, LOG_FILE, append_log, check_output, finish, truncate_log
from daft.training.recipe import Recipe
from daft.training.stages import Stage, stages
from daft.training.validation import validate


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
    """Runs a recipe end to end and writes the pair into `recipe.output`."""

    recipe: Recipe
    resume: bool = False
    overwrite: bool = False
    output: Path = field(init=False)

    def __post_init__(self) -> None:
        self.output = Path(self.recipe.output)
        self.world = distributed.init()
        self.device = distributed.device(self.world, runtime.device(self.recipe.recipe.device))
        self.autocast = runtime.autocast(self.recipe.recipe.precision, self.device)
        # fp16 gradients underflow without loss scaling; bf16 and fp32 need none.
        fp16 = getattr(self.autocast, "fast_dtype", None) == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16)
        self.log_path = self.output / LOG_FILE
        self.summary: dict[str, Any] = {"stages": {}}
        self.last_metrics: dict[str, float] = {}

    def run(self) -> Path:
        """Train and save the pair; returns the output directory."""
        if self.world.main:
            check_output(self.output, resume=self.resume, overwrite=self.overwrite)
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
        saved = checkpoint.load(self.output / CHECKPOINT_DIR) if self.resume else None
        plan = stages(self.recipe.method, self.recipe.train)
        first = [s.name for s in plan].index(saved["stage"]["stage"]) if saved else 0
        # Wall time over the whole run: a resumed run adds what the interrupted one had spent.
        self.totals = checkpoint.RunTotals.resumed(saved, started)
        if saved:
            self.summary = saved["summary"]
            if self.world.main:
                truncate_log(self.log_path, saved["log_lines"])
                console.print(
                    f"resuming {saved['stage']['stage']} at epoch {saved['stage']['epoch']}", highlight=False
                )
        elif self.world.main:
            self.output.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text("", "utf-8")
        distributed.barrier(self.world)
        for index in range(first, len(plan)):
            self._run_stage(plan[index], saved if index == first else None)
        self.summary["train_seconds"] = self.totals.seconds
        self.summary["processes"] = self.world.size
        if self.world.main:
            finish(self.recipe, self.data, self.query, self.doc, self.device, self.summary)
        distributed.barrier(self.world)
        distributed.finish(self.world)
        return self.output

    # -- one stage ---------------------------------------------------------------------------------------------
    def _run_stage(self, stage: Stage, saved: dict[str, Any] | None) -> None:
        train = self.recipe.train
        context = Context(self.doc, self.data, self.recipe, self.device, self.autocast, self.world)
        docs = stage.docs(context)
        self.objective = stage.objective(context)
        optimizer, scheduler = optimiser(
            param_groups(self.query, self.recipe.query_encoder) + docs.param_groups(), train
        )
        steps = train.steps_per_epoch or math.ceil(len(self.data.qids) / train.batch_size)
        max_epochs = stage.max_epochs
        state = StageState(stage.name)
        # What a step calls: DDP-wrapped when several processes train.
        self._query_model = distributed.wrap(self.query, self.world)
        if saved:
            self._restore(saved, optimizer, scheduler)
            state = StageState(**saved["stage"])
        else:
            self._validate(stage, state, docs)
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
                    stage.name,
                    state.epoch,
                    train.batch_size,
                    steps,
                    self.world,
                )
                # The losses since the last validation: a run resumed mid-window continues the saved ones.
                losses = self.totals.losses
                tick = time.perf_counter()
                for index, batch in enumerate(epoch_batches):
                    if index < state.step:
                        continue  # resumed mid-epoch: the shuffle is the same, skip what was done
                    losses.append(self._step(batch, docs, optimizer, scheduler))
                    state.step += 1
                    state.steps_done += 1
                    bar.update(task, advance=1, description=self._describe(state, losses))
                    if state.step % eval_every == 0 or state.step == steps:
                        state.seconds += time.perf_counter() - tick
                        if state.step == steps:
                            state.epoch, state.step = state.epoch + 1, 0
                        self._validate(stage, state, docs, losses)
                        losses.clear()
                        self._checkpoint(state, optimizer, scheduler)
                        tick = time.perf_counter()
                        if state.done:
                            break
                    elif train.checkpoint_every and state.steps_done % train.checkpoint_every == 0:
                        state.seconds += time.perf_counter() - tick
                        self._checkpoint(state, optimizer, scheduler)
                        tick = time.perf_counter()
        self._load_best(stage.name)
        self.summary["stages"][stage.name] = {
            "epochs": state.epoch,
            "steps": state.steps_done,
            "seconds": state.seconds,
            "best": state.best,
            "stopped_early": state.done,
            **docs.summary(state.steps_done, state.seconds),
        }

    def _step(self, batch: Batch, docs: DocSide, optimizer: Any, scheduler: Any) -> float:
        self.query.train()
        self.objective.train()
        with self.autocast:
            q_features = runtime.features(
                self.query, batch.query_texts, self.recipe.data.query_max_length, self.device
            )
            query_vectors = self._query_model(**q_features)
            loss = self.objective(query_vectors.float(), docs.candidates(batch), batch)
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

    # -- validation, best weights, checkpoints -----------------------------------------------------------------
    def _validate(
        self, stage: Stage, state: StageState, docs: DocSide, losses: list[float] | None = None
    ) -> None:
        if self.world.main:
            self._validate_main(stage, state, docs, losses)
        # Every process must agree on when to stop; rank 0 decided.
        shared = distributed.broadcast(
            (state.best, state.bad_validations, state.done, self.last_metrics), self.world
        )
        state.best, state.bad_validations, state.done, self.last_metrics = shared

    def _validate_main(
        self, stage: Stage, state: StageState, docs: DocSide, losses: list[float] | None
    ) -> None:
        metrics = validate(
            self.query,
            self.doc,
            self.data.vset,
            doc_vectors=docs.validation,
            kl_doc_vectors=docs.kl,
            device=str(self.device),
        )
        value = metrics[stage.metric]
        improved = stage.improves(value, state.best)
        if improved:
            state.best, state.bad_validations = value, 0
            checkpoint.save(self._best_dir(stage.name), {"query": cpu_state(self.query), **docs.best_state()})
        else:
            state.bad_validations += 1
            state.done = stage.stops(state.bad_validations)
        append_log(
            self.log_path,
            {
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
            },
        )
        self.last_metrics = metrics

    def _describe(self, state: StageState, losses: list[float] | None = None) -> str:
        metrics = self.last_metrics
        loss = f" loss {np.mean(losses[-20:]):.3f}" if losses else ""
        shown = f" | KL {metrics['kl']:.2f} nDCG@10 {metrics['nDCG@10']:.3f}" if metrics else ""
        return f"{state.stage} epoch {state.epoch + 1}{loss}{shown}"

    def _best_dir(self, stage: str) -> Path:
        return self.output / CHECKPOINT_DIR / f"best-{stage}"

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
                "query": cpu_state(self.query),
                "doc": cpu_state(self.doc),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": checkpoint.rng_state(),
                "summary": self.summary,
                "log_lines": lines,
                "last_metrics": self.last_metrics,
                checkpoint.TOTALS: self.totals.state(),
            },
        )

    def _restore(self, saved: dict[str, Any], optimizer: Any, scheduler: Any) -> None:
        self.query.load_state_dict(saved["query"])
        self.doc.load_state_dict(saved["doc"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        checkpoint.set_rng_state(saved["rng"])
        self.last_metrics = saved["last_metrics"]


def train(recipe: Recipe, *, resume: bool = False, overwrite: bool = False) -> Path:
    """Run a recipe; returns the directory of the trained pair."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return Trainer(recipe, resume=resume, overwrite=overwrite).run()
