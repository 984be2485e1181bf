"""``auto`` precision by measurement: time the native modes, keep the
fastest that agrees with fp32, remember the decision.

On first use for a (device, model signature, torch version) the candidate
modes (:func:`~s2d_mm.apis.precision.native_modes`: fp32 and whichever of
bf16 / int8 the device runs natively; a mode the device only emulates is
never a candidate) are each prepared by
:func:`~s2d_mm.apis.precision.apply_precision` on a copy of the model and
run on one clip of the model's shape ``(1, 3, T, H, W)``: one untimed run
each, then ``repeats`` timed runs with the modes interleaved (a busy
machine slows all alike), median. A mode passes when its top-1 class on the
clip equals fp32's and its largest class-probability difference is at most
:data:`AGREEMENT_MAX_DPROB`. The fastest passing mode wins (fp32 always
passes). The decision and its table are stored in
``<cache dir>/auto_precision.json`` (:func:`cache_dir`) under a key of the
device (CPU model and ISA flags, or the GPU's name), the model signature
(:func:`model_signature`: class names, parameter names, shapes and dtypes,
input size; not the weights' values) and the torch version; any change of
those measures again.

Measuring is skipped (the ISA rules of
:func:`~s2d_mm.apis.precision.choose_auto` decide) with ``measure=False``,
with the environment variable ``S2D_AUTO_MEASURE=0``, for models under
:data:`~s2d_mm.apis.precision.AUTO_MIN_LINEAR_MACS` and for models that do
not say their input size.
"""
import hashlib
import json
import os
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn

__all__ = [
    'AGREEMENT_MAX_DPROB', 'MEASURE_ENV', 'measuring_enabled', 'cache_dir',
    'model_signature', 'device_signature', 'cache_key', 'measure_modes',
    'pick_fastest', 'format_table', 'load_decision', 'store_decision'
]

#: a mode agrees with fp32 on the clip when top-1 is equal and no class
#: probability moves by more than this
AGREEMENT_MAX_DPROB = 0.01
#: ``S2D_AUTO_MEASURE=0`` turns measuring off (the ISA rules decide)
MEASURE_ENV = 'S2D_AUTO_MEASURE'
#: bump when the stored decision's meaning changes
CACHE_FORMAT = 1


def measuring_enabled(measure: Optional[bool] = None) -> bool:
    """``measure`` if given, else not ``S2D_AUTO_MEASURE=0``."""
    if measure is not None:
        return bool(measure)
    return os.environ.get(MEASURE_ENV, '1').strip().lower() not in (
        '0', 'false', 'no', 'off')


def cache_dir() -> str:
    """``$S2D_CACHE_DIR``, else ``$XDG_CACHE_HOME/s2d_mm``, else
    ``~/.cache/s2d_mm``."""
    if os.environ.get('S2D_CACHE_DIR'):
        return os.environ['S2D_CACHE_DIR']
    base = os.environ.get('XDG_CACHE_HOME') or osp.join(
        osp.expanduser('~'), '.cache')
    return osp.join(base, 's2d_mm')


def model_signature(model: nn.Module) -> str:
    """SHA-1 of what decides the model's speed: the class of every module,
    every parameter's and buffer's name, shape and dtype, and the input
    size (``num_frames``, ``img_size``). Not the weights' values."""
    h = hashlib.sha1()
    for name, m in model.named_modules():
        h.update(f'{name}:{type(m).__name__};'.encode())
    for name, t in list(model.named_parameters()) + list(
            model.named_buffers()):
        h.update(f'{name}:{tuple(t.shape)}:{t.dtype};'.encode())
    bb = getattr(model, 'backbone', None)
    h.update(f'{getattr(bb, "num_frames", None)}:'
             f'{getattr(bb, "img_size", None)}'.encode())
    return h.hexdigest()


def device_signature(device, flags=None) -> str:
    """The device as a decision depends on it: the GPU's name, or the CPU
    model with its ISA flags and torch's thread count."""
    device = torch.device(device)
    if device.type == 'cuda':
        return f'cuda:{torch.cuda.get_device_name(device)}'
    from s2d_mm.utils.machine import KEY_ISA_FLAGS, cpu_isa_flags, cpu_model
    flags = cpu_isa_flags() if flags is None else flags
    isa = ','.join(name for key, name in KEY_ISA_FLAGS if key in flags)
    return (f'cpu:{cpu_model()}:{isa}:threads={torch.get_num_threads()}:'
            f'qengine={torch.backends.quantized.engine}')


def cache_key(device, model: nn.Module, flags=None) -> Dict[str, str]:
    """The parts a stored decision is valid for."""
    return dict(device=device_signature(device, flags),
                model=model_signature(model), torch=torch.__version__,
                format=str(CACHE_FORMAT))


def _key_id(key: Dict[str, str]) -> str:
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _cache_file() -> str:
    return osp.join(cache_dir(), 'auto_precision.json')


def load_decision(key: Dict[str, str]) -> Optional[dict]:
    """The stored decision for ``key`` (None when absent or unreadable)."""
    try:
        with open(_cache_file()) as f:
            entry = json.load(f).get(_key_id(key))
    except (OSError, ValueError):
        return None
    if not entry or entry.get('key') != key:
        return None
    return entry


def store_decision(key: Dict[str, str], decision: dict) -> str:
    """Add ``decision`` (``mode`` and ``table``) for ``key`` to the cache
    file (other keys kept; written atomically). Returns the file."""
    path = _cache_file()
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            entries = json.load(f)
    except (OSError, ValueError):
        entries = {}
    entries[_key_id(key)] = dict(decision, key=key, created=time.strftime(
        '%Y-%m-%dT%H:%M:%S'))
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(entries, f, indent=1)
    os.replace(tmp, path)
    return path


def _clip_of(model: nn.Module, device) -> torch.Tensor:
    from .onnx_model import _input_shape
    gen = torch.Generator().manual_seed(0)
    return torch.randn((1, ) + _input_shape(model), generator=gen).to(device)


def _wall_time(mode: str, fn: Callable[[], torch.Tensor]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure_modes(model: nn.Module,
                  modes: Sequence[str],
                  device='cpu',
                  repeats: int = 3,
                  timer: Optional[Callable[[str, Callable], float]] = None
                  ) -> List[dict]:
    """Time and check ``modes`` on one clip of ``model``'s shape.

    Args:
        model (nn.Module): the float32 recognizer (left untouched; every
            mode runs on a prepared copy).
        modes (Sequence[str]): native modes to compare (fp32 is added).
        device: where they run.
        repeats (int): timed runs per mode after one untimed run,
            interleaved across modes.
        timer: ``timer(mode, fn) -> seconds`` runs ``fn`` once and says
            how long it took (default :func:`_wall_time`, the wall
            clock).

    Returns:
        list[dict]: per mode ``mode``, ``seconds`` (median), ``times``,
        ``top1_equal``, ``max_dprob`` and ``agrees``, fp32 first.
    """
    from .onnx_model import RecognizerLogits
    from .precision import apply_precision
    timer = timer or _wall_time
    modes = ['fp32'] + [m for m in modes if m != 'fp32']
    clip = _clip_of(model, device)
    nets, probs = {}, {}
    for mode in modes:
        prepared = apply_precision(model, mode, device, copy_model=True)
        nets[mode] = RecognizerLogits(prepared).eval()
    with torch.no_grad():
        for mode, net in nets.items():  # untimed first run, and its answer
            probs[mode] = net(clip).float().softmax(-1)
        times = {mode: [] for mode in modes}
        for _ in range(max(1, repeats)):
            for mode, net in nets.items():
                times[mode].append(timer(mode, lambda net=net: net(clip)))
    ref = probs['fp32']
    rows = []
    for mode in modes:
        dprob = float((probs[mode] - ref).abs().max())
        top1 = bool((probs[mode].argmax(-1) == ref.argmax(-1)).all())
        rows.append(dict(mode=mode, seconds=statistics.median(times[mode]),
                         times=times[mode], top1_equal=top1,
                         max_dprob=dprob,
                         agrees=top1 and dprob <= AGREEMENT_MAX_DPROB))
    return rows


def pick_fastest(rows: Sequence[dict]) -> dict:
    """The fastest row that agrees with fp32 (fp32 itself agrees)."""
    ok = [r for r in rows if r['agrees'] or r['mode'] == 'fp32']
    return min(ok, key=lambda r: r['seconds'])


def format_table(rows: Sequence[dict], picked: Optional[str] = None) -> str:
    """The measured table as text, one line per mode."""
    fp32 = next((r['seconds'] for r in rows if r['mode'] == 'fp32'), None)
    lines = ['mode    s/clip   vs fp32  top-1 equal  max dprob  agrees']
    for r in rows:
        speed = f'{fp32 / r["seconds"]:5.2f}x' if fp32 else '    -'
        lines.append(
            f'{r["mode"]:6s} {r["seconds"]:7.3f}   {speed}   '
            f'{"yes" if r["top1_equal"] else "no":11s}  '
            f'{r["max_dprob"]:9.4f}  {"yes" if r["agrees"] else "no"}'
            f'{"  <- picked" if r["mode"] == picked else ""}')
    return '\n'.join(lines)
