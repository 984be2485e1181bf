"""ConvPatchStem runs channels-last: same values and gradients as the
default layout, output handed back contiguous."""
import copy

import torch
import torch.nn as nn

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones.conv_stem import ConvPatchStem


def test_channels_last_equals_the_default_layout():
    torch.manual_seed(0)
    stem = ConvPatchStem(3, 32, kernel_size=8, stride=8)
    assert stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    ref = copy.deepcopy(stem).to(memory_format=torch.contiguous_format)
    x = torch.randn(4, 3, 32, 32)
    for mode in (True, False):
        stem.train(mode)
        ref.train(mode)
        out = stem(x)
        expected = nn.Sequential.forward(ref, x)  # plain NCHW run
        assert out.is_contiguous()
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    stem.train()
    ref.train()
    stem(x).square().mean().backward()
    nn.Sequential.forward(ref, x).square().mean().backward()
    for (name, a), b in zip(ref.named_parameters(), stem.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-3, atol=1e-6,
                                   msg=name)
    # the state dict keeps its shapes (checkpoints of either layout load)
    stem.load_state_dict(ref.state_dict())
