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


def _test_inputs(seed=0):
    from perf_tiny import IMG, NUM_FRAMES
    g = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(3, NUM_FRAMES, IMG, IMG, generator=g) * 255
            for _ in range(2))
    # sample 0: 4 identical views (DFEW 16f: 2 clips x 2 crops);
    # sample 1: two distinct views, each twice
    return torch.stack([torch.stack([a, a, a, a]), torch.stack([b, a, b, a])])


def _data(inputs):
    from mmaction.structures import ActionDataSample
    samples = []
    for i in range(inputs.shape[0]):
        s = ActionDataSample()
        s.set_gt_labels(torch.tensor([i]))
        samples.append(s)
    return dict(inputs=list(inputs), data_samples=samples)


def _scores(model, inputs):
    with torch.no_grad():
        outs = model.test_step(_data(inputs))
    return torch.stack([o.pred_scores.item for o in outs])


def test_recognizer_dedup_same_scores_fewer_views(pair):
    fast, ref = pair
    inputs = _test_inputs()
    seen = []
    hook = fast.backbone.register_forward_hook(
        lambda m, i, o: seen.append(i[0].shape[0]))
    dedup = _scores(fast, inputs)
    hook.remove()
    assert seen == [2]  # 8 views, 2 distinct
    fast.test_cfg = dict(dedup_views=False)
    try:
        plain = _scores(fast, inputs)
    finally:
        fast.test_cfg = None
    ref_scores = _scores(ref, inputs)
    assert dedup.shape == (2, 7)
    torch.testing.assert_close(dedup, plain, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(dedup, ref_scores, atol=1e-5, rtol=1e-5)
    assert torch.equal(dedup.argmax(1), ref_scores.argmax(1))


def test_recognizer_dedup_respects_max_testing_views(pair):
    fast, _ = pair
    inputs = _test_inputs(seed=1)[:1]
    full = _scores(fast, inputs)
    fast.test_cfg = dict(max_testing_views=1)
    try:
        chunked = _scores(fast, inputs)
    finally:
        fast.test_cfg = None
    torch.testing.assert_close(full, chunked, atol=1e-6, rtol=1e-5)
