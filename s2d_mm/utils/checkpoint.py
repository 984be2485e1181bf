"""Safe checkpoint loading for mmengine on torch >= 2.6.

torch now unpickles with ``weights_only=True`` by default, and mmengine 0.10.7
calls ``torch.load`` without saying otherwise, so ``resume=True`` fails on the
``HistoryBuffer`` objects (and the numpy arrays inside them) that mmengine
stores in every checkpoint. Turning ``weights_only`` off would let any
checkpoint run arbitrary code, so instead this module

* allow-lists exactly the globals that the checkpoints of mmengine's Runner
  contain, whichever OpenMMLab codebase trains with it
  (:data:`MMENGINE_CHECKPOINT_GLOBALS`): MessageHub's history buffers, numpy
  arrays and scalars (in the buffers and in ``meta['dataset_meta']``, e.g.
  mmpose's keypoint sigmas and colours), with ``getattr`` narrowed to the one
  use mmengine makes of it (``getattr(HistoryBuffer, 'min')`` and friends)
  and ``bytes`` to the empty bytes an empty numpy array holds;
* provides :func:`load_checkpoint_file`, which always loads with
  ``weights_only=True``, reads ``.safetensors`` too, and turns torch's
  refusal into a :class:`UnsafeCheckpointError` that names the file and the
  offending global. ``import s2d_mm`` makes it mmengine's loader for local
  paths (:mod:`s2d_mm.patches`, ``safe_checkpoint_loading``).
"""
import os.path as osp
import pickle
import re
from typing import Iterable, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'load_checkpoint_file'
]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a Python object outside the allow-list."""


# Registered by every HistoryBuffer's __init__, so also before any exists.
_BUILTIN_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj, name):
    """``getattr`` as mmengine checkpoints use it, and nothing more.

    ``HistoryBuffer._statistics_methods`` maps names to methods of the class,
    which pickle stores as ``getattr(HistoryBuffer, 'min')``. Any other use of
    ``getattr`` in a checkpoint is refused.
    """
    allowed = _BUILTIN_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise UnsafeCheckpointError(
        f'checkpoint calls getattr({obj!r}, {name!r}); only '
        'getattr(HistoryBuffer, <statistics method>) is allowed')


def _empty_bytes(*args):
    """``bytes()`` as pickle protocol 2 writes it for ``b''``, and nothing
    more.

    torch saves with protocol 2, which has no opcode for bytes: non-empty
    bytes go through ``_codecs.encode`` (allowed by torch itself), empty ones
    through a call of ``builtins.bytes`` without arguments. Every numpy array
    with no elements holds such empty bytes (mmpose's dataset meta has
    several, e.g. ``skeleton_links`` of a face dataset). ``bytes(n)`` with an
    argument (an allocation of any size) is refused.
    """
    if args:
        raise UnsafeCheckpointError(
            f'checkpoint calls bytes{args!r}; only bytes() (empty bytes) is '
            'allowed')
    return b''


def _numpy_globals():
    multiarray = getattr(np, '_core', None) or np.core
    items = [np.ndarray, np.dtype, multiarray.multiarray._reconstruct,
             multiarray.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes of arrays through these classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(getattr(dtypes, name),
                                                      type)
        ]
    return items


#: What the checkpoints of mmengine's Runner hold besides tensors and plain
#: containers, for mmengine, mmpretrain, mmaction2 and mmpose alike
#: (``tests/test_stock_runner_checkpoints.py`` trains and resumes one of each):
#: MessageHub's HistoryBuffers, numpy arrays, dtypes and scalars (logged
#: values, dataset meta), and the narrowed ``getattr`` and ``bytes`` above.
MMENGINE_CHECKPOINT_GLOBALS = [HistoryBuffer, *_numpy_globals(),
                               (_history_buffer_getattr, 'builtins.getattr'),
                               (_empty_bytes, 'builtins.bytes')]

_GLOBAL_PATTERNS = (
    # the narrowed getattr/bytes above, whose refusal torch wraps
    re.compile(r'checkpoint calls ((?:getattr|bytes)\(.*?\));'),
    re.compile(r'GLOBAL (\S+) was not an allowed global'),
    re.compile(r'unsupported GLOBAL (\S+) whose module'),
    re.compile(r'unrecognized function (.+?)(?: which belongs|$)'),
    re.compile(r'got (<class .+?>)'),
)


def _offending_global(message: str) -> str:
    for pattern in _GLOBAL_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return 'unknown'


def load_checkpoint_file(filename: str,
                         map_location=None,
                         extra_globals: Optional[Iterable] = None):
    """Load a checkpoint file without executing arbitrary pickled code.

    Args:
        filename (str): ``.pth``/``.pth.tar``/``.pt`` (torch pickle zip or
            legacy format) or ``.safetensors``.
        map_location: as for :func:`torch.load`.
        extra_globals (Iterable, optional): more globals to allow for this one
            call only (e.g. ``argparse.Namespace`` for the authors' training
            checkpoints). Never needed for mmengine checkpoints.

    Returns:
        dict: the checkpoint; a ``.safetensors`` file is returned as
        ``{'state_dict': tensors}``.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file holds a global outside the allow-list;
            the message names the file and the global.
    """
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if filename.endswith('.safetensors'):
        from safetensors.torch import load_file
        device = map_location if isinstance(map_location, str) else 'cpu'
        return {'state_dict': load_file(filename, device=device)}
    allowed = list(MMENGINE_CHECKPOINT_GLOBALS) + list(extra_globals or [])
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if isinstance(err, UnsafeCheckpointError):
            raise UnsafeCheckpointError(f'{filename}: {err}') from None
        offending = _offending_global(str(err))
        raise UnsafeCheckpointError(
            f"refusing to load checkpoint '{filename}': it holds the global "
            f"'{offending}', which is not on the allow-list of what "
            'mmengine checkpoints contain (s2d_mm.utils.checkpoint.'
            'MMENGINE_CHECKPOINT_GLOBALS). Loading it could run arbitrary '
            'code. If you trust the file, pass the class in `extra_globals` '
            'of s2d_mm.utils.load_checkpoint_file, or convert the file to '
            f'plain tensors first.\n(torch: {err})') from None
