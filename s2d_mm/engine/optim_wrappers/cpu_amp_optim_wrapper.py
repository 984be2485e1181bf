"""Mixed-precision training on a CPU: bf16 autocast where bf16 is native.

mmengine's ``AmpOptimWrapper`` (what ``tools/train.py --amp`` asks for)
needs a GPU. On a CPU with native bf16 matrix products (AVX512_BF16 or
AMX-BF16, :func:`s2d_mm.apis.precision.native_bf16`), :func:`adapt_amp_to_cpu`
swaps it for :class:`CPUAmpOptimWrapper`: the forward and the loss run under
``torch.autocast('cpu', dtype=torch.bfloat16)``, the backward follows the
same casts, parameters, gradients and optimizer state stay float32. bf16
has float32's exponent range, so no loss scaling is needed. On a CPU that
would only emulate bf16 (AVX2-only machines) the run trains in float32
with the plain ``OptimWrapper`` and says why.
"""
import warnings
from contextlib import contextmanager
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the step's forward
    under bf16 autocast on the CPU.

    Args:
        dtype (str | torch.dtype): ``'bfloat16'`` (the only CPU autocast
            dtype with native matrix products here).
        **kwargs: as :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, *args, dtype='bfloat16', **kwargs):
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if dtype is not torch.bfloat16:
            raise ValueError('CPUAmpOptimWrapper: dtype must be bfloat16 '
                             f'(CPU autocast with native kernels), got {dtype}')
        super().__init__(*args, **kwargs)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield


def adapt_amp_to_cpu(optim_wrapper: dict,
                     flags=None) -> Tuple[dict, Optional[str]]:
    """``optim_wrapper`` (a config dict) made to run on this CPU.

    An ``AmpOptimWrapper`` becomes :class:`CPUAmpOptimWrapper` (bf16)
    where bf16 is native, else the float32 ``OptimWrapper``; ``loss_scale``
    is dropped either way. Other wrappers are returned as they are.

    Returns:
        tuple: the (modified in place) dict and a message for the log
        (None when nothing changed).
    """
    if optim_wrapper is None or \
            optim_wrapper.get('type') != 'AmpOptimWrapper':
        return optim_wrapper, None
    from s2d_mm.apis.precision import native_bf16
    ok, why = native_bf16('cpu', flags)
    asked = optim_wrapper.pop('dtype', None)
    optim_wrapper.pop('loss_scale', None)
    if ok:
        optim_wrapper['type'] = 'CPUAmpOptimWrapper'
        optim_wrapper['dtype'] = 'bfloat16'
        note = (' (float16 was asked for: CPU autocast runs bf16)'
                if asked in ('float16', torch.float16) else '')
        return optim_wrapper, (f'AMP on the CPU: bf16 autocast ({why}){note}')
    optim_wrapper['type'] = 'OptimWrapper'
    return optim_wrapper, (f'AMP on the CPU is off: {why}; training in '
                           'float32 with OptimWrapper instead.')


def warn_amp_on_cpu(cfg) -> None:
    """:func:`adapt_amp_to_cpu` on ``cfg.optim_wrapper``, with a warning
    when AMP stays off."""
    wrapper, message = adapt_amp_to_cpu(cfg.get('optim_wrapper', None))
    if message is None:
        return
    if wrapper['type'] == 'OptimWrapper':
        warnings.warn(message)
    else:
        from mmengine.logging import print_log
        print_log(message, logger='current')
