"""Data-parallel training under `torchrun`: the process group and the few collective steps the trainer needs.

Launched plainly (`python -m daft train ...`) everything here is a no-op for a world of one; launched with
`torchrun --nproc_per_node=N -m daft train ...` each process trains on its share of every batch, DDP
averages the gradients, and rank 0 alone validates, checkpoints and writes the pair. Ranks share the
output directory (one machine, or a shared filesystem across nodes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process validates, logs and writes files."""
        return self.rank == 0


def init() -> World:
    """Join the process group that torchrun describes in the environment (nothing to join without one)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    return World(rank=dist.get_rank(), size=dist.get_world_size(), local_rank=local_rank)


def device(world: World, requested: torch.device) -> torch.device:
    """Each process drives its own GPU."""
    return (
        torch.device("cuda", world.local_rank) if requested.type == "cuda" and world.size > 1 else requested
    )


def wrap(module: torch.nn.Module, world: World) -> torch.nn.Module:
    """The module to call in a training step: DDP-wrapped when there are several processes."""
    if world.size <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [world.local_rank] if next(module.parameters()).is_cuda else None
    return DistributedDataParallel(module, device_ids=ids)


def shard(items: list[T], world: World) -> list[T]:
    """This process's share of a global batch (every process sees the same global order)."""
    return items[world.rank :: world.size] if world.size > 1 else items


def broadcast(value: Any, world: World) -> Any:
    """Rank 0's value, on every process."""
    if world.size <= 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    """Wait for every process (e.g. until rank 0 has written a checkpoint)."""
    if world.size > 1:
        dist.barrier()


@contextlib.contextmanager
def main_first(world: World) -> Iterator[None]:
    """Run the block on rank 0 first, then on the other ranks (for work that fills shared caches)."""
    if not world.main:
        barrier(world)
    yield
    if world.main:
        barrier(world)


def finish(world: World) -> None:
    """Leave the process group."""
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()
