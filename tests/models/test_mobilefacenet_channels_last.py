"""MobileFaceNet(channels_last=True): same network, other memory layout."""
import torch

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import MobileFaceNet


def _pair():
    torch.manual_seed(0)
    ref = MobileFaceNet(widen_factor=0.25, num_blocks=(1, 1, 1),
                        out_indices=(5, 8))
    ref.init_weights()
    fast = MobileFaceNet(widen_factor=0.25, num_blocks=(1, 1, 1),
                         out_indices=(5, 8), channels_last=True)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def test_same_outputs_and_state_dict_layout():
    ref, fast = _pair()
    conv = fast.conv1.conv.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert {k: v.shape for k, v in fast.state_dict().items()} == \
        {k: v.shape for k, v in ref.state_dict().items()}
    x = torch.randn(4, 3, 64, 64)
    for mode in (False, True):
        ref.train(mode)
        fast.train(mode)
        for a, b in zip(ref(x), fast(x)):
            assert b.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_gradients_match():
    ref, fast = _pair()
    x = torch.randn(4, 3, 64, 64)
    for net in (ref, fast):
        net.train()
        sum(o.square().mean() for o in net(x)).backward()
    for (name, a), b in zip(ref.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-3, atol=1e-5,
                                   msg=name)
