"""Re-seed the random generators at the start of every training epoch, in
the main process and in the data-loading workers."""
import random
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from s2d_mm.registry import S2D_HOOK_REGISTRIES, register_in


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def worker_epoch_seed(seed: int, epoch: int, rank: int,
                      worker_id: int) -> int:
    """The seed of one data-loading worker for one epoch (32 bits), mixed
    by numpy's ``SeedSequence`` so that neighbouring inputs give unrelated
    streams."""
    return int(np.random.SeedSequence(
        [int(seed) % 2**32, int(epoch), int(rank), int(worker_id)]
    ).generate_state(1)[0])


class EpochWorkerSeeding:
    """``worker_init_fn`` that seeds a worker from ``(seed, epoch, rank,
    worker_id)`` when it starts and again at the first batch of every later
    epoch (persistent workers live through epochs).

    The main process writes the epoch into ``epoch``, a one-element tensor
    in shared memory, before the epoch's iterator starts; a worker reads it
    before each fetch, so its augmentation draws in epoch ``k`` do not
    depend on whether it served epochs ``0 .. k-1`` (the uninterrupted run)
    or was started for epoch ``k`` (a resumed run).

    Args:
        seed (int): ``runner.seed``.
        rank (int): the process's rank.
        epoch (Tensor): shared ``(1,)`` int64 tensor holding the epoch.
        previous (callable, optional): the loader's former
            ``worker_init_fn`` (mmengine's), called first for its other
            effects; its seeding is then replaced.
    """

    def __init__(self, seed: int, rank: int, epoch: torch.Tensor,
                 previous: Optional[Callable] = None) -> None:
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = epoch
        self.previous = previous

    def __call__(self, worker_id: int) -> None:
        if self.previous is not None:
            self.previous(worker_id)
        info = torch.utils.data.get_worker_info()
        seeded = [None]

        def reseed():
            epoch = int(self.epoch[0])
            if epoch != seeded[0]:
                _seed_all(worker_epoch_seed(self.seed, epoch, self.rank,
                                            worker_id))
                seeded[0] = epoch

        reseed()
        dataset = info.dataset
        fetch_many = getattr(dataset, '__getitems__', None)

        def getitems(indices):
            reseed()
            if fetch_many is not None:
                return fetch_many(indices)
            return [dataset[i] for i in indices]

        # torch's map-style fetcher asks the (worker's copy of the) dataset
        # for __getitems__ before every batch: the one place in a worker
        # that runs at the start of each epoch
        dataset.__getitems__ = getitems


@register_in(*S2D_HOOK_REGISTRIES)
class EpochSeedHook(Hook):
    """Seed ``random``, numpy and torch from ``(runner.seed, epoch)`` before
    every training epoch, in the main process and in every data-loading
    worker (from ``(runner.seed, epoch, rank, worker id)``).

    mmengine checkpoints do not hold the generators' states, so a run
    resumed after epoch ``k`` would draw different dropout masks, mixup
    coefficients and augmentations in epoch ``k + 1`` than the run that
    was never interrupted. mmengine's own ``worker_init_fn`` seeds a worker
    from the seed alone, once per worker start: persistent workers
    (``persistent_workers=True``) then continue their streams across epochs
    in an uninterrupted run but restart them after a resume, and
    non-persistent workers replay the same augmentations every epoch.
    Making each epoch's streams a function of the epoch alone makes resuming
    exact with any ``num_workers`` and ``persistent_workers``.
    ``runner.seed`` already differs per rank when
    ``randomness.diff_rank_seed`` is set.

    Args:
        stride (int): Seed offset between consecutive epochs (main
            process).
    """

    priority = 'VERY_HIGH'

    def __init__(self, stride: int = 1000003) -> None:
        self.stride = int(stride)
        self._worker_epoch: Optional[torch.Tensor] = None
        self._loader_generator: Optional[torch.Generator] = None

    def epoch_seed(self, base_seed: int, epoch: int) -> int:
        return (int(base_seed) + self.stride * (epoch + 1)) % (2**32)

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if not isinstance(loader, torch.utils.data.DataLoader):
            return
        # The loader draws its workers' base seeds from this generator when
        # an epoch's iterator starts: twice for the first epoch of a
        # process, once for each later one with persistent workers. From
        # the global generator, those draws would shift the main process's
        # stream (dropout, mixup) in a resumed run.
        self._loader_generator = torch.Generator()
        loader.generator = self._loader_generator
        if loader.num_workers == 0:
            return
        self._worker_epoch = torch.full((1, ), runner.epoch,
                                        dtype=torch.int64).share_memory_()
        # read when the workers start (the first epoch's iterator), so
        # setting it now, before any, is in time
        loader.worker_init_fn = EpochWorkerSeeding(
            runner.seed if runner.seed is not None else 0, runner.rank,
            self._worker_epoch, previous=loader.worker_init_fn)

    def before_train_epoch(self, runner) -> None:
        base = runner.seed if runner.seed is not None else 0
        seed = self.epoch_seed(base, runner.epoch)
        _seed_all(seed)
        if self._loader_generator is not None:
            self._loader_generator.manual_seed(seed)
        if self._worker_epoch is not None:
            self._worker_epoch[0] = runner.epoch
