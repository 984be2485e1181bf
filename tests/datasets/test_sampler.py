"""ClassBalancedSampler: intended class frequencies, disjoint rank shares."""
import numpy as np
import pytest

import s2d_mm  # noqa: F401
from s2d_mm.datasets import ClassBalancedSampler


class Labels:
    """Stand-in dataset: only labels matter to the sampler."""

    def __init__(self, labels):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def get_cat_ids(self, idx):
        return [self.labels[idx]]


# DFEW fold-1-like imbalance, scaled down: 1956/1515/2135/1738/1175/116/721
COUNTS = [196, 152, 214, 174, 118, 12, 72]
LABELS = [c for c, n in enumerate(COUNTS) for _ in range(n)]


def test_class_frequencies_are_balanced():
    ds = Labels(LABELS)
    sampler = ClassBalancedSampler(ds, seed=0)
    assert len(sampler) == len(ds)
    draws = []
    for epoch in range(20):
        sampler.set_epoch(epoch)
        draws.extend(sampler)
    freq = np.bincount([LABELS[i] for i in draws], minlength=7) / len(draws)
    # each class 1/7 in expectation; 18 340 draws -> std ~0.0026
    np.testing.assert_allclose(freq, 1 / 7, atol=0.012)
    # within a class, samples are equally likely: the rare class's 12
    # samples are all drawn about equally often
    rare = [i for i in draws if LABELS[i] == 5]
    per_sample = np.bincount(rare, minlength=len(LABELS))[
        [i for i, lab in enumerate(LABELS) if lab == 5]]
    assert per_sample.min() > 0.6 * per_sample.mean()


def test_epochs_differ_and_repeat():
    ds = Labels(LABELS)
    s = ClassBalancedSampler(ds, seed=3)
    s.set_epoch(0)
    a = list(s)
    s.set_epoch(1)
    b = list(s)
    s.set_epoch(0)
    assert list(s) == a and a != b


def test_ranks_draw_disjoint_shares(monkeypatch):
    ds = Labels(LABELS)
    world = 3
    shares = []
    for rank in range(world):
        monkeypatch.setattr('s2d_mm.datasets.samplers.get_dist_info',
                            lambda r=rank: (r, world))
        s = ClassBalancedSampler(ds, seed=7)
        s.set_epoch(2)
        shares.append(list(s))
        assert len(s) == len(shares[-1]) == -(-len(ds) // world)
    full = ClassBalancedSampler.draw(s, 2).tolist()
    full += full[:world * len(shares[0]) - len(full)]
    # rank r holds positions r, r + W, ... of one shared list: together the
    # shares are exactly that list, position by position, without overlap
    merged = [shares[p % world][p // world] for p in range(len(full))]
    assert merged == full


def test_built_from_registry_with_dataset():
    from mmaction.registry import DATA_SAMPLERS
    s = DATA_SAMPLERS.build(dict(type='ClassBalancedSampler'),
                            default_args=dict(dataset=Labels([0, 1, 1]),
                                              seed=0))
    assert isinstance(s, ClassBalancedSampler)
    np.testing.assert_allclose(s.weights.numpy(), [1, 0.5, 0.5])


def test_multi_label_refused():
    class Multi(Labels):
        def get_cat_ids(self, idx):
            return [0, 1]
    with pytest.raises(ValueError, match='one class per sample'):
        ClassBalancedSampler(Multi([0, 1]), seed=0)
