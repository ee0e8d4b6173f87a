"""Sharding an evaluation over the processes ``torchrun --nproc_per_node=N`` starts.

Each rank reads its rank and the world size from the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``), evaluates its share of the batches and appends to its own file; the ranks meet twice at a barrier
(after rank 0 has checked the output folder, and when all are done) and rank 0 merges the files and scores. The
barrier is a gloo process group: it runs on the CPU whatever device the model uses (CUDA, NPU or CPU), and nothing
else is communicated, so no NCCL/HCCL group is needed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a (possibly one-process) run.

    Attributes:
        rank: This process's rank (0 without torchrun).
        world_size: Number of processes (1 without torchrun).
        local_rank: Rank on this machine (selects the GPU/NPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> DistInfo:
        """Read ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` (as torchrun sets them); a single process without them.

        Raises:
            ValueError: The variables are inconsistent.
        """
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"RANK={rank} and WORLD_SIZE={world} from the environment are inconsistent; launch with "
                             "torchrun --nproc_per_node=N, or unset them for one process")  # fmt: skip
        return cls(rank, world, local)

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that checks the output folder, merges and scores."""
        return self.rank == 0

    def shard(self, items: Sequence[T]) -> list[T]:
        """This rank's items: every ``world_size``-th, starting at ``rank`` (round robin keeps shards balanced)."""
        return list(items[self.rank :: self.world_size])


class Barrier:
    """A gloo process group used only to wait for all ranks; a no-op with one process.

    Args:
        dist: This process's place in the run.
        timeout_minutes: How long a rank waits for the others.
    """

    def __init__(self, dist: DistInfo, timeout_minutes: int = 24 * 60):
        self.dist = dist
        self._owned = False
        if dist.world_size == 1:
            return
        import torch.distributed as td

        if not td.is_initialized():
            for name in ("MASTER_ADDR", "MASTER_PORT"):
                if name not in os.environ:
                    raise RuntimeError(f"WORLD_SIZE={dist.world_size} but {name} is not set; launch with torchrun")
            td.init_process_group(
                "gloo", rank=dist.rank, world_size=dist.world_size, timeout=timedelta(minutes=timeout_minutes)
            )
            self._owned = True

    def wait(self) -> None:
        """Block until every rank has called it."""
        if self.dist.world_size == 1:
            return
        import torch.distributed as td

        td.barrier()

    def close(self) -> None:
        """Destroy the process group if this object created it."""
        if self._owned:
            import torch.distributed as td

            td.destroy_process_group()
            self._owned = False


def rank_device(device: str, dist: DistInfo) -> str:
    """The device of this rank: ``auto`` picks the ``local_rank``-th GPU/NPU when several processes share a machine.

    Args:
        device: The configured device (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``npu``...).
        dist: This process's place in the run.

    Returns:
        The device string to load the model on.
    """
    if dist.world_size == 1 or device not in ("auto", "cuda", "npu"):
        return device
    import torch

    if device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{dist.local_rank % torch.cuda.device_count()}"
    if device in ("auto", "npu") and hasattr(torch, "npu") and torch.npu.is_available():
        return f"npu:{dist.local_rank % torch.npu.device_count()}"
    return "cpu" if device == "auto" else device
