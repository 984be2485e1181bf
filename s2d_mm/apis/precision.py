"""Inference precision of an S2D recognizer: ``auto | fp32 | bf16 | int8 | onnx``.

One call prepares a model for inference (``tools/infer.py``,
:func:`~s2d_mm.apis.inference_video`, ``tools/test.py``) and records what it
runs in ``model.inference_precision`` (a :class:`PrecisionChoice`):

- ``fp32``: the model as built.
- ``bf16``: the recognizer's backbone (landmark branch, ViT-MCP, TMAs)
  is converted to bf16 once (:func:`cast_bf16`: weights and activations
  bf16 end to end, no cast around every layer as under autocast,
  attention through SDPA's bf16 kernel, the landmark network's
  convolutions channels-last); the head and the scores stay float32.
  Only where bf16 is native: a CPU with
  AVX512_BF16 or AMX-BF16, or a GPU with bf16 support. Elsewhere the matrix
  products would be emulated and run slower than fp32, so it is refused
  (:class:`PrecisionNotSupportedError`).
- ``int8``: PyTorch's dynamic quantization of Linear layers (weights int8
  per tensor, activations quantized on the fly, fbgemm kernels of the
  ``x86``/``fbgemm`` quantized engine; CPU only, AVX2 or newer). The layers
  listed in :data:`INT8_SKIP` stay float32 (measured, see below); the
  landmark network is convolutional and stays float32 (dynamic
  quantization covers Linear layers only).
- ``onnx``: the recognizer (landmark branch, ViT-MCP, TMAs, head) exported
  to ONNX (:mod:`s2d_mm.apis.onnx_model`) and run by ONNX Runtime; the
  data preprocessor, view averaging and the returned data samples are the
  PyTorch model's.
- ``auto``: :func:`choose_auto`: the native modes measured on the model
  (:mod:`s2d_mm.apis.auto_precision`: timed on a clip of the model's
  shape, checked against fp32, the fastest that agrees, the decision
  cached per device, model and torch version); the ISA rules below when
  measuring is off (``measure=False``, ``S2D_AUTO_MEASURE=0``) or the model
  is too small to matter.

Rules of ``auto`` without measuring (figures and machines in
``docs/benchmark.md``): on CUDA, bf16 where the GPU has it natively, else
fp32; on a CPU with AMX-BF16, bf16 (on a 2-vCPU Xeon bf16 was 3.0x fp32,
int8 2.0x); else int8 where fbgemm runs (AVX2 and the ``x86``/``fbgemm``
quantized engine: on the AVX-512 + AVX512_VNNI + AVX512_BF16 dev machine
int8 was 2.6x fp32 and bf16 1.8x, CPU time, one thread; AVX2-only CPUs
have no native bf16); then bf16 where it is native; else fp32. A model
under :data:`AUTO_MIN_LINEAR_MACS` Linear multiply-adds per clip stays fp32
whatever the CPU (there the conversions cost more than the narrow products
save), and is not measured. ONNX Runtime is never picked: it needs an
export first, and for ViT-B/16 it is no faster than PyTorch fp32 (8.5 vs
8.5 s per clip, one thread); for tiny models it is faster (1.5-1.9x the
reference) and worth choosing explicitly.
"""
import os
import copy
import re
import types
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from s2d_mm.utils.machine import cpu_isa_flags

__all__ = [
    'PRECISIONS', 'INT8_SKIP', 'PrecisionChoice', 'PrecisionNotSupportedError',
    'native_bf16', 'int8_support', 'native_modes', 'choose_auto',
    'check_precision',
    'linear_macs_estimate', 'AUTO_MIN_LINEAR_MACS',
    'apply_precision', 'quantize_linear_int8', 'autocast_bf16', 'cast_bf16',
    'matmul_attention'
]

PRECISIONS = ('auto', 'fp32', 'bf16', 'int8', 'onnx')

#: Linear layers (regular expressions over module names, ``re.search``)
#: that ``int8`` keeps in float32: the MCPs' 8-wide prompt bottleneck (its
#: fovea softmax sharpens any error ten-fold), the classifier and the
#: landmark projection. They hold < 1 % of the FLOPs, so quantizing them
#: would save no time; the measured agreement with fp32 is in the README.
INT8_SKIP = (r'(^|\.)prompters\.\d+\.proj_(image|landmark|out)$',
             r'(^|\.)landmark_embed$', r'(^|\.)cls_head\.')


#: ``auto`` keeps models below this many Linear multiply-adds per clip
#: (:func:`linear_macs_estimate`) in fp32. Measured int8 / fp32 speed on one
#: thread (CPU time, dev machine): 0.8x at 0.03-0.12 GMACs (the benchmark's
#: tiny model, the demo model), 1.46x at 2.4, 2.1x at 19, 2.9x at 38 and
#: 2.6x at 297 (ViT-B/16, 16x224); bf16 0.6-0.8x, 1.2x, 1.6x, 1.8x, 1.8x.
AUTO_MIN_LINEAR_MACS = 1e9


class PrecisionNotSupportedError(RuntimeError):
    """The precision is not native on this device (it would be emulated or
    cannot run)."""


@dataclass
class PrecisionChoice:
    """What a prepared model runs in.

    Attributes:
        mode (str): ``fp32``, ``bf16``, ``int8`` or ``onnx``.
        requested (str): what was asked for (``auto`` or ``mode``).
        reason (str): why this mode (the rule ``auto`` applied, or
            ``'requested'``).
        detail (str): what was done (e.g. how many layers were quantized).
        table (list[dict], optional): what ``auto`` measured, one row per
            mode (:func:`~s2d_mm.apis.auto_precision.measure_modes`).
    """
    mode: str
    requested: str
    reason: str
    detail: str = ''
    table: Optional[List[dict]] = None

    def explain(self) -> str:
        """What was picked and why, with the measured table if any."""
        text = f'precision: {self}'
        if self.table:
            from .auto_precision import format_table
            text += '\n' + format_table(self.table, self.mode)
        return text

    def __str__(self) -> str:
        text = self.mode
        if self.requested != self.mode:
            text += f' (picked by {self.requested}: {self.reason})'
        return text + (f'; {self.detail}' if self.detail else '')


def _device(device) -> torch.device:
    return torch.device(device if device is not None else 'cpu')


#: values of ONEDNN_MAX_CPU_ISA that keep oneDNN off the bf16 instructions
_ONEDNN_ISA_WITHOUT_BF16 = frozenset({
    'SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE',
    'AVX512_CORE_VNNI'})


def native_bf16(device='cpu', flags=None) -> Tuple[bool, str]:
    """Whether bf16 matrix products are native on ``device``.

    CPU: the AVX512_BF16 or AMX-BF16 instructions (``flags`` defaults to
    :func:`~s2d_mm.utils.machine.cpu_isa_flags`). Without them oneDNN
    converts to float32 and back around every product, which is slower
    than plain fp32. CUDA: ``torch.cuda.is_bf16_supported()`` without
    emulation.

    Returns:
        tuple: ``(supported, reason)``.
    """
    device = _device(device)
    if device.type == 'cuda':
        ok = torch.cuda.is_bf16_supported(including_emulation=False)
        name = torch.cuda.get_device_name(device)
        return ok, (f'{name} has native bf16' if ok else
                    f'{name} has no native bf16')
    if device.type != 'cpu':
        return False, f'bf16 is not checked for {device.type} devices'
    flags = cpu_isa_flags() if flags is None else flags
    found = [f.upper() for f in ('avx512_bf16', 'amx_bf16') if f in flags]
    held = os.environ.get('ONEDNN_MAX_CPU_ISA', '').upper()
    if found and held in _ONEDNN_ISA_WITHOUT_BF16:
        # the instructions exist, but oneDNN was told not to use them: its
        # bf16 products would be emulated
        return False, (f'ONEDNN_MAX_CPU_ISA={held} holds oneDNN below the '
                       f'bf16 instructions of this CPU ({", ".join(found)})')
    if found:
        return True, f'CPU has {" and ".join(found)}'
    return False, ('the CPU has neither AVX512_BF16 nor AMX-BF16: bf16 '
                   'matrix products would be emulated and run slower than '
                   'fp32')


def int8_support(device='cpu', flags=None) -> Tuple[bool, str]:
    """Whether dynamic int8 quantization runs natively here: a CPU with
    AVX2 (fbgemm's minimum) and torch's quantized engine set to ``x86``
    or ``fbgemm`` (the default on x86; this function never changes it)."""
    device = _device(device)
    if device.type != 'cpu':
        return False, ('int8 dynamic quantization runs on CPU only, not '
                       f'on {device.type}')
    flags = cpu_isa_flags() if flags is None else flags
    if 'avx2' not in flags:
        return False, 'the CPU has no AVX2 (needed by the fbgemm kernels)'
    engine = torch.backends.quantized.engine
    if engine not in ('x86', 'fbgemm'):
        return False, (f'torch.backends.quantized.engine is {engine!r}; '
                       "int8 needs 'x86' or 'fbgemm' (set it yourself, this "
                       'code does not change global settings)')
    vnni = [f.upper() for f in ('avx512_vnni', 'amx_int8', 'avx_vnni')
            if f in flags]
    return True, ('fbgemm int8 kernels with ' +
                  (' and '.join(vnni) if vnni else 'AVX2'))


def native_modes(device='cpu', flags=None) -> List[str]:
    """The modes ``device`` runs natively: fp32, then bf16 and int8 where
    :func:`native_bf16` / :func:`int8_support` allow them. A mode the
    device would only emulate is never among them."""
    modes = ['fp32']
    if native_bf16(device, flags)[0]:
        modes.append('bf16')
    if int8_support(device, flags)[0]:
        modes.append('int8')
    return modes


def choose_auto(device='cpu', flags=None,
                model: Optional[nn.Module] = None,
                measure: Optional[bool] = None) -> PrecisionChoice:
    """The precision ``auto`` picks on this machine for ``model``.

    With a model big enough to matter and measuring on (``measure`` None:
    unless ``S2D_AUTO_MEASURE=0``), the native modes are measured on it or
    the stored decision is read (:mod:`s2d_mm.apis.auto_precision`); the
    choice then carries the measured ``table``. Otherwise the rules of the
    module docstring decide. ``reason`` says which applied.
    """
    device = _device(device)
    macs = linear_macs_estimate(model) if model is not None else None
    if macs is not None and macs < AUTO_MIN_LINEAR_MACS:
        return PrecisionChoice(
            'fp32', 'auto', f'a small model ({macs / 1e9:.2g} GMACs of '
            f'Linear layers per clip, under {AUTO_MIN_LINEAR_MACS / 1e9:g}): '
            'int8 / bf16 conversions would cost more than they save')
    from . import auto_precision as AP
    if model is not None and macs is not None and \
            AP.measuring_enabled(measure):
        return _measured_choice(model, device, flags)
    return _rule_choice(device, flags)


def _measured_choice(model, device, flags) -> PrecisionChoice:
    from . import auto_precision as AP
    flags = cpu_isa_flags() if flags is None else flags
    key = AP.cache_key(device, model, flags)
    stored = AP.load_decision(key)
    if stored is not None:
        return PrecisionChoice(
            stored['mode'], 'auto', 'measured on this device, model and '
            f'torch version (stored in {AP.cache_dir()})',
            table=stored['table'])
    modes = native_modes(device, flags)
    rows = AP.measure_modes(model, modes, device)
    best = AP.pick_fastest(rows)
    path = AP.store_decision(key, dict(mode=best['mode'], table=rows))
    fp32 = rows[0]['seconds']
    return PrecisionChoice(
        best['mode'], 'auto', 'fastest of the native modes '
        f'{"/".join(modes)} that agrees with fp32 on a clip of the model '
        f'({fp32 / best["seconds"]:.2f}x fp32; stored in {path})',
        table=rows)


def _rule_choice(device, flags) -> PrecisionChoice:
    """The ISA rules of the module docstring."""
    if device.type == 'cuda':
        ok, why = native_bf16(device)
        return PrecisionChoice('bf16' if ok else 'fp32', 'auto', why)
    flags = cpu_isa_flags() if flags is None else flags
    if 'amx_bf16' in flags and native_bf16(device, flags)[0]:
        return PrecisionChoice(
            'bf16', 'auto', 'CPU has AMX-BF16 (bf16 matrix products run '
            'faster than int8 ones there)')
    int8_ok, int8_why = int8_support(device, flags)
    if int8_ok:
        return PrecisionChoice('int8', 'auto', int8_why)
    bf16_ok, bf16_why = native_bf16(device, flags)
    if bf16_ok:
        return PrecisionChoice('bf16', 'auto',
                               f'{bf16_why}; no int8 ({int8_why})')
    return PrecisionChoice(
        'fp32', 'auto', f'no int8 ({int8_why}) and no native bf16 '
        f'({bf16_why})')


def linear_macs_estimate(model: nn.Module) -> Optional[float]:
    """Multiply-adds of the backbone's Linear layers per clip, estimated as
    ``sum(in * out) * T * (Hp * Wp + extra tokens)`` (every token through
    every Linear layer; the landmark network is left out). None when the
    backbone does not say its token grid."""
    bb = getattr(model, 'backbone', None)
    grid = getattr(bb, 'patch_resolution', None)
    if grid is None:
        return None
    tokens = getattr(bb, 'num_frames', 1) * (
        grid[0] * grid[1] + getattr(bb, 'num_extra_tokens', 1))
    params = sum(m.in_features * m.out_features
                 for name, m in bb.named_modules()
                 if isinstance(m, nn.Linear)
                 and not name.startswith('landmark.'))
    return float(params * tokens)


def check_precision(precision: str, device='cpu',
                    model: Optional[nn.Module] = None,
                    measure: Optional[bool] = None) -> PrecisionChoice:
    """Resolve ``precision`` for ``device``: ``auto`` -> a mode (measured on
    ``model`` unless ``measure`` is False, see :func:`choose_auto`); a mode
    the device does not run natively raises.

    Raises:
        ValueError: unknown precision.
        PrecisionNotSupportedError: e.g. bf16 on a CPU without AVX512_BF16.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    device = _device(device)
    if precision == 'auto':
        return choose_auto(device, model=model, measure=measure)
    if precision == 'bf16':
        ok, why = native_bf16(device)
        if not ok:
            raise PrecisionNotSupportedError(
                f'precision bf16 refused on {device}: {why}. Use fp32 or '
                'int8 (or auto).')
        return PrecisionChoice('bf16', 'bf16', why)
    if precision == 'int8':
        ok, why = int8_support(device)
        if not ok:
            raise PrecisionNotSupportedError(
                f'precision int8 refused on {device}: {why}.')
        return PrecisionChoice('int8', 'int8', why)
    if precision == 'onnx' and device.type != 'cpu':
        raise PrecisionNotSupportedError(
            'precision onnx runs on the CPU (ONNX Runtime CPU execution '
            f'provider), not on {device}')
    return PrecisionChoice(precision, precision, 'requested')


# ------------------------------------------------------------------- bf16
def _map_floats(x, fn):
    """``fn`` applied to every floating tensor in ``x`` (tensors, and
    tuples, lists and dicts of them)."""
    if isinstance(x, torch.Tensor):
        return fn(x) if x.is_floating_point() else x
    if isinstance(x, (tuple, list)):
        return type(x)(_map_floats(o, fn) for o in x)
    if isinstance(x, dict):
        return {k: _map_floats(v, fn) for k, v in x.items()}
    return x


def _to_float(out):
    return _map_floats(out, lambda t: t.float())


def _bf16_forward(self, *args, **kwargs):
    """The module's class ``forward`` under bf16 autocast, float32 out."""
    with torch.autocast(device_type=self.bf16_device_type,
                        dtype=torch.bfloat16):
        out = type(self).forward(self, *args, **kwargs)
    return _to_float(out)


def autocast_bf16(module: nn.Module, device_type: str = 'cpu') -> nn.Module:
    """Make ``module`` (one instance; its class stays untouched) run its
    forward under bf16 autocast and return float32 tensors. Bound to the
    instance, so ``copy.deepcopy`` of the model keeps working.

    Autocast keeps float32 weights and casts them (and the activations)
    around every Linear, attention and normalisation call; :func:`cast_bf16`
    avoids those casts and is what ``apply_precision(.., 'bf16')`` uses.
    """
    module.bf16_device_type = device_type
    module.forward = types.MethodType(_bf16_forward, module)
    return module


def _to_bf16(x):
    return _map_floats(x, lambda t: t.to(torch.bfloat16))


def _cast_bf16_forward(self, *args, **kwargs):
    """The module's class ``forward`` in bf16 (inputs cast once), float32
    out."""
    out = type(self).forward(self, *_to_bf16(args), **_to_bf16(kwargs))
    return _to_float(out)


def matmul_attention(query: torch.Tensor, key: torch.Tensor,
                     value: torch.Tensor, attn_mask=None,
                     dropout_p: float = 0., scale=None,
                     is_causal: bool = False) -> torch.Tensor:
    """``softmax(q k^T * scale) v`` as two batched matrix products, with
    ``F.scaled_dot_product_attention``'s signature (inference: no dropout,
    mask or causal masking). For bf16 on a CPU: the products run in the
    bf16 GEMM kernels, where torch 2.14's fused CPU kernel for bf16 was
    slower than its float32 one (ViT-B shape ``(8, 12, 197, 64)``: 24 ms
    fused bf16, 20 ms fused float32, 15 ms here, AVX512_BF16 dev machine).
    """
    if attn_mask is not None or is_causal:
        raise ValueError('matmul_attention: no mask or causal attention')
    scale = query.size(-1)**-0.5 if scale is None else scale
    attn = torch.matmul(query, key.transpose(-2, -1)) * scale
    return torch.matmul(attn.softmax(dim=-1), value)


def cast_bf16(module: nn.Module) -> nn.Module:
    """Run ``module`` in bf16: parameters and buffers converted once,
    floating inputs cast to bf16 on entry, float32 tensors out.

    Compared with :func:`autocast_bf16`: no float32 -> bf16 copy of every
    weight in every call and no float32 round trip around normalisations
    and element-wise ops (under autocast those were a fifth of the bf16
    forward's time, see ``docs/benchmark.md``); the matrix products,
    attention (SDPA's bf16 kernel) and normalisations read bf16 directly
    and accumulate in float32 inside the kernels. 4-D convolution weights
    (the landmark network) are stored channels-last, the layout oneDNN's
    bf16 convolutions run in. On a CPU, the ViT blocks' attention (mmpretrain
    ``MultiheadAttention``) runs as :func:`matmul_attention`. The instance
    is changed, its class is not.
    """
    module.to(torch.bfloat16)
    on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            m.to(memory_format=torch.channels_last)
        elif on_cpu and hasattr(m, 'scaled_dot_product_attention'):
            m.scaled_dot_product_attention = matmul_attention
    module.forward = types.MethodType(_cast_bf16_forward, module)
    return module


# ------------------------------------------------------------------- int8
def _plain_linear(module: nn.Linear) -> nn.Linear:
    """An ``nn.Linear`` sharing ``module``'s parameters: torch's quantized
    modules only convert exact ``nn.Linear`` instances, and mmcv's
    ``Linear`` (mmpretrain's FFNs) is a subclass."""
    if type(module) is nn.Linear:
        return module
    plain = nn.Linear(module.in_features, module.out_features,
                      bias=module.bias is not None)
    plain.weight = module.weight
    if module.bias is not None:
        plain.bias = module.bias
    return plain


def quantize_linear_int8(model: nn.Module,
                         skip: Sequence[str] = INT8_SKIP,
                         only: Optional[Sequence[str]] = None) -> list:
    """Replace Linear layers of ``model`` in place by dynamically quantized
    int8 ones (``torch.ao.nn.quantized.dynamic.Linear``).

    Args:
        model (nn.Module): in eval mode; its weights are final (a quantized
            model loads no float checkpoint).
        skip (Sequence[str]): regular expressions over module names; a
            match stays float32.
        only (Sequence[str], optional): quantize only names matching one
            of these (used to measure layer groups one at a time).

    Returns:
        list[str]: the names of the quantized layers.
    """
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from torch.ao.quantization import default_dynamic_qconfig
    skip_re = [re.compile(p) for p in skip]
    only_re = None if only is None else [re.compile(p) for p in only]
    names = [
        name for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and not any(
            p.search(name) for p in skip_re) and (
                only_re is None or any(p.search(name) for p in only_re))
    ]
    done = []
    # torch 2.14 marks torch.ao.quantization deprecated (in favour of
    # torchao, which is not a dependency); the eager dynamic path still
    # ships and is what runs here, so its warnings are not the user's
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=DeprecationWarning)
        warnings.filterwarnings('ignore', message='.*quantize_per_tensor.*')
        for name in names:
            parent_name, _, attr = name.rpartition('.')
            parent = model.get_submodule(parent_name) if parent_name \
                else model
            plain = _plain_linear(getattr(parent, attr))
            plain.qconfig = default_dynamic_qconfig
            setattr(parent, attr, DynamicLinear.from_float(plain))
            done.append(name)
    return done


# ------------------------------------------------------------------ apply
def apply_precision(model: nn.Module,
                    precision: str = 'fp32',
                    device=None,
                    onnx_file: Optional[str] = None,
                    int8_skip: Sequence[str] = INT8_SKIP,
                    copy_model: bool = False,
                    measure: Optional[bool] = None) -> nn.Module:
    """Prepare an S2D recognizer for inference in ``precision``.

    Args:
        model (nn.Module): an mmaction2 recognizer (e.g. from
            :func:`~s2d_mm.apis.init_model`), weights loaded.
        precision (str): one of :data:`PRECISIONS`.
        device: where the model runs; default: where its parameters are.
        onnx_file (str, optional): for ``onnx``: an exported model
            (``tools/deployment/export_onnx.py``); checked to come from the
            same weights. None: exported now into a temporary file.
        int8_skip (Sequence[str]): for ``int8``: layers kept float32.
        copy_model (bool): prepare a deep copy and leave ``model`` alone.
        measure (bool, optional): for ``auto``: measure the native modes
            on the model (default: unless ``S2D_AUTO_MEASURE=0``); False:
            the ISA rules.

    Returns:
        nn.Module: the prepared model (``model`` itself unless
        ``copy_model``), in eval mode, with ``inference_precision`` set. It
        is for inference only (``test_step`` / ``predict``).

    Raises:
        PrecisionNotSupportedError: the precision is not native here.
    """
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else 'cpu'
    device = _device(device)
    choice = check_precision(precision, device, model, measure)
    current = getattr(model, 'inference_precision', None)
    if current is not None:
        if current.mode == choice.mode:
            return model
        raise RuntimeError(
            f'the model is already prepared for {current.mode}; build a '
            f'new one for {choice.mode}')
    if copy_model:
        model = copy.deepcopy(model)
    model.eval()
    if choice.mode == 'bf16':
        # the backbone (landmark branch, ViT-MCP, TMAs): whoever calls it
        # (test_step, the timeline's windows) gets bf16
        cast_bf16(model.backbone)
        choice.detail = 'backbone in bf16 (weights and activations), head ' \
            'float32'
    elif choice.mode == 'int8':
        names = quantize_linear_int8(model, skip=int8_skip)
        choice.detail = (f'{len(names)} Linear layers int8 (dynamic), '
                         f'{_count_linear(model)} kept float32')
    elif choice.mode == 'onnx':
        from .onnx_model import attach_onnx_runtime
        choice.detail = attach_onnx_runtime(model, onnx_file)
    model.inference_precision = choice
    return model


def _count_linear(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Linear) for m in model.modules())


