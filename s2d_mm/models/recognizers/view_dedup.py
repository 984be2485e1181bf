"""Exact de-duplication of test views.

S2D's test protocol (2 temporal clips x 2 spatial crops) often yields
identical views: on DFEW's 16-frame 224x224 clips all four are the same
tensor. Running the backbone once per distinct view and copying the result
gives the same scores for a quarter of the compute.

Duplicates are found exactly: a cheap per-view key (sum, L2 norm and the
first/last few values) groups candidate views, and every candidate is then
compared element by element with its group's first view; views that differ
despite equal keys are regrouped among themselves. Only bit-identical views
are merged.
"""
from typing import Optional, Sequence, Tuple, Union

import torch

_EDGE = 16  # values from each end of a view that go into its key


@torch.no_grad()
def unique_views(x: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Distinct views of a batch, in order of first occurrence.

    Args:
        x (Tensor): ``(N, ...)``, N views (e.g. ``(B*V, 3, T, H, W)``).

    Returns:
        tuple: ``(x_unique, inverse)`` with ``x_unique`` ``(U, ...)`` and
        ``inverse`` ``(N,)`` such that ``x_unique[inverse]`` equals ``x``
        exactly (bit for bit). ``inverse`` is None when every view is
        distinct (``x_unique`` is then ``x`` itself).
    """
    n = x.shape[0]
    if n < 2:
        return x, None
    flat = x.reshape(n, -1)
    length = flat.shape[1]
    edge = min(_EDGE, length)
    key = torch.cat([
        flat.sum(dim=1, dtype=torch.float64)[:, None],
        torch.linalg.vector_norm(flat, dim=1, dtype=torch.float64)[:, None],
        flat[:, :edge].double(),
        flat[:, length - edge:].double()
    ], dim=1)
    _, group = torch.unique(key, dim=0, return_inverse=True)
    arange = torch.arange(n, device=x.device)
    rep = arange.clone()  # index of the view each view is a copy of
    todo = arange
    # Each round compares every unresolved view with the first unresolved
    # view of its key group; views that differ (a key collision) try again
    # among themselves next round. Every round resolves at least the group
    # heads, so this ends; without collisions it is a single round.
    while todo.numel() > 1:
        g = group[todo]
        head = torch.full((n, ), n, dtype=torch.long, device=x.device)
        head = head.scatter_reduce(0, g, todo, reduce='amin')[g]
        done = head == todo
        cand = ~done
        if cand.any():
            # element-wise check (NaN != NaN: views with NaNs stay apart)
            done[cand] = (flat[todo[cand]] == flat[head[cand]]).all(dim=1)
        rep[todo[done]] = head[done]
        todo = todo[~done]
    keep = rep == arange
    if bool(keep.all()):
        return x, None
    # new index of every kept view, then of every view through its original
    new_index = keep.long().cumsum(0) - 1
    return x[keep], new_index[rep]


FeatType = Union[torch.Tensor, Sequence]


def expand_views(feats: FeatType, inverse: torch.Tensor) -> FeatType:
    """Index every tensor of a (nested) tuple/list of features by
    ``inverse`` along dim 0: ``(U, ...)`` -> ``(N, ...)``."""
    if isinstance(feats, torch.Tensor):
        return feats[inverse]
    if isinstance(feats, (tuple, list)):
        return type(feats)(expand_views(f, inverse) for f in feats)
    return feats
