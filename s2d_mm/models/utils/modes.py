"""Module modes that a step borrows and gives back."""
from contextlib import contextmanager

import torch.nn as nn


@contextmanager
def eval_mode(module: nn.Module):
    """Run the block with every submodule of ``module`` in eval mode, then
    give each submodule back the mode it had.

    ``module.train(was_training)`` would not do: it sets *one* mode on the
    whole tree, undoing the eval mode that some parts keep in training (a
    frozen BatchNorm, a landmark branch, layers a hook put in eval).
    """
    modes = [(m, m.training) for m in module.modules()]
    for m, _ in modes:
        m.training = False
    try:
        yield module
    finally:
        for m, training in modes:
            m.training = training
