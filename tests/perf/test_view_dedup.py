"""Exact de-duplication of test views."""
import torch

from s2d_mm.models.recognizers.view_dedup import expand_views, unique_views


def test_unique_views_exact_and_ordered():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 2, 4, 4, generator=g), torch.randn(
        3, 2, 4, 4, generator=g)
    x = torch.stack([a, a, b, a.flip(-1), b, a])
    u, inv = unique_views(x)
    assert u.shape[0] == 3
    assert inv.tolist() == [0, 0, 1, 2, 1, 0]
    assert torch.equal(u[inv], x)
    assert torch.equal(u[0], a) and torch.equal(u[1], b)


def test_all_distinct_returns_input():
    x = torch.randn(4, 3, 2, 5, 5)
    u, inv = unique_views(x)
    assert inv is None and u is x
    u, inv = unique_views(x[:1])
    assert inv is None


def test_key_collision_is_not_merged():
    # same sum, norm and edge values, different interior: must stay apart
    a = torch.randn(2, 40, 40)
    c = a.clone()
    flat = c.view(-1)
    flat[500], flat[501] = a.view(-1)[501], a.view(-1)[500]
    assert not torch.equal(a, c)
    x = torch.stack([a, c, a, c])
    u, inv = unique_views(x)
    assert torch.equal(u[inv], x)
    assert u.shape[0] == 2


def test_nan_views_are_never_merged():
    a = torch.randn(2, 8)
    a[0, 3] = float('nan')
    x = torch.stack([a, a.clone()])
    u, inv = unique_views(x)
    assert u.shape[0] == 2


def test_expand_views_nested():
    feats = (torch.arange(3.)[:, None], [torch.arange(3)])
    out = expand_views(feats, torch.tensor([0, 0, 2, 1]))
    assert out[0][:, 0].tolist() == [0., 0., 2., 1.]
    assert out[1][0].tolist() == [0, 0, 2, 1]
