"""Re-seed the random generators at the start of every training epoch."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed ``random``, numpy and torch (all devices) from
    ``(runner.seed, epoch)`` before every training epoch.

    mmengine checkpoints do not hold the generators' states, so a run
    resumed after epoch ``k`` would draw different dropout masks, mixup
    coefficients and augmentations in epoch ``k + 1`` than the run that
    was never interrupted. Making each epoch's stream a function of the
    epoch alone makes resuming exact (with ``num_workers=0`` or
    non-persistent workers, whose seeds mmengine derives from the seed
    alone). ``runner.seed`` already differs per rank when
    ``randomness.diff_rank_seed`` is set.

    Args:
        stride (int): Seed offset between consecutive epochs.
    """

    priority = 'VERY_HIGH'

    def __init__(self, stride: int = 1000003) -> None:
        self.stride = int(stride)

    def epoch_seed(self, base_seed: int, epoch: int) -> int:
        return (int(base_seed) + self.stride * (epoch + 1)) % (2**32)

    def before_train_epoch(self, runner) -> None:
        base = runner.seed if runner.seed is not None else 0
        seed = self.epoch_seed(base, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device
