"""Class-balanced oversampling ("w/ oversampling" results of S2D)."""
import math
from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from ..registry import MMACTION_DATA_SAMPLERS, MMPRETRAIN_DATA_SAMPLERS, register_in


def dataset_labels(dataset: Sized) -> np.ndarray:
    """0-based class of every sample, ``(N,)``: from ``get_gt_labels()``
    when the dataset has it, else from ``get_cat_ids(idx)`` (single-label)."""
    if hasattr(dataset, 'get_gt_labels'):
        return np.asarray(dataset.get_gt_labels(), dtype=np.int64)
    labels = []
    for i in range(len(dataset)):
        cats = dataset.get_cat_ids(i)
        if len(cats) != 1:
            raise ValueError(f'ClassBalancedSampler needs one class per '
                             f'sample; sample {i} has {cats}')
        labels.append(int(cats[0]))
    return np.asarray(labels, dtype=np.int64)


@register_in(MMACTION_DATA_SAMPLERS, MMPRETRAIN_DATA_SAMPLERS)
class ClassBalancedSampler(Sampler):
    """Draw samples with probability inversely proportional to their class
    frequency, with replacement.

    Each sample weighs ``1 / n_c`` (``n_c``: size of its class), so every
    class is drawn equally often in expectation; one epoch is
    ``num_samples`` draws (default: the dataset length), as the released
    ``ImbalancedDatasetSampler`` (``--use_bds``) does.

    Distributed training: every rank draws the *same* full list from a
    generator seeded with ``seed + epoch`` (the seed is synchronised across
    ranks) and takes the slice ``rank::world_size``, so the ranks share one
    epoch of draws without overlap (the release lets each rank draw its own
    list). The list is padded by wrapping around to a multiple of the world
    size. Call :meth:`set_epoch` (mmengine's loops do) for new draws.

    Args:
        dataset: dataset with ``get_gt_labels()`` or ``get_cat_ids(idx)``.
        num_samples (int, optional): draws per epoch over all ranks.
        seed (int, optional): base seed, shared by all ranks.
        replacement (bool): draw with replacement (default, as released).
    """

    def __init__(self,
                 dataset: Sized,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None,
                 replacement: bool = True) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.replacement = replacement
        labels = dataset_labels(dataset)
        if len(labels) == 0:
            raise ValueError('ClassBalancedSampler got an empty dataset')
        counts = np.bincount(labels)
        self.class_counts = counts
        self.weights = torch.as_tensor(1.0 / counts[labels],
                                       dtype=torch.double)
        self.total_draws = len(labels) if num_samples is None else num_samples
        if not replacement and self.total_draws > len(labels):
            raise ValueError('without replacement at most len(dataset) draws')
        self.num_samples = math.ceil(self.total_draws / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def draw(self, epoch: int) -> torch.Tensor:
        """The full list of draws of ``epoch`` (identical on every rank)."""
        g = torch.Generator()
        g.manual_seed(self.seed + epoch)
        return torch.multinomial(self.weights, self.total_draws,
                                 self.replacement, generator=g)

    def __iter__(self) -> Iterator[int]:
        indices = self.draw(self.epoch).tolist()
        pad = self.total_size - len(indices)
        indices += indices[:pad]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
