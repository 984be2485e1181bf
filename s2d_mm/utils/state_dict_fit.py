"""Does a checkpoint fit the model it is loaded into? Strict by default.

mmengine loads checkpoints with ``strict=False`` almost everywhere
(``load_from``, ``resume``, ``init_cfg=dict(type='Pretrained')``,
mmaction2's ``init_recognizer``): missing, unexpected and mis-shaped keys are
logged as a warning ("do not match exactly") and the model runs with those
weights left as initialised. This module compares a state dict with a model
*before* anything is loaded and refuses a checkpoint that does not fit, with
a message that names the file and lists the missing keys, the unexpected
keys and the shape mismatches (the first few of each, then a count).

Loosening is explicit:

- ``strict=False`` loads what fits and prints the same list as a warning
  (partial load);
- ``allow_head_mismatch=True`` tolerates only shape mismatches of the
  classifier (``cls_head.*`` / ``head.*``), which keeps its initial weights:
  fine-tuning to another class set;
- ``ignore_missing`` (patterns) names keys a caller expects to be absent,
  e.g. what the video stage adds to an image-stage model.

The actual load goes through ``torch.nn.Module.load_state_dict`` after the
check; shapes are compared after the model's own load pre-hooks have seen
the mismatched keys (mmpretrain's ViT resizes ``pos_embed`` to another image
size), so what those hooks adapt is not reported as a mismatch.
"""
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

__all__ = [
    'CheckpointMismatchError', 'StateDictDiff', 'HEAD_KEYS',
    'state_dict_of', 'diff_state_dict', 'check_state_dict',
    'load_state_dict_checked', 'load_checkpoint_checked'
]

#: classifier keys that ``allow_head_mismatch`` may leave as initialised
#: (mmaction2 ``cls_head.*``, mmpretrain ``head.*``)
HEAD_KEYS = r'^(cls_head|head)\.'

#: how many keys of each kind a message lists before giving a count
NUM_LISTED = 5

Patterns = Union[None, str, Sequence[str]]


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model it is loaded into."""


def _compile(patterns: Patterns) -> List[re.Pattern]:
    if patterns is None:
        return []
    if isinstance(patterns, (str, re.Pattern)):
        patterns = [patterns]
    return [re.compile(p) for p in patterns]


def _matches(key: str, patterns: List[re.Pattern]) -> bool:
    return any(p.search(key) for p in patterns)


def _listed(items: List[str], limit: int = NUM_LISTED) -> str:
    shown = ', '.join(items[:limit])
    if len(items) > limit:
        shown += f', ... ({len(items) - limit} more)'
    return shown


def _by_module(keys: List[str], depth: int = 3,
               limit: int = NUM_LISTED) -> str:
    """``'backbone.prompters.1 (20), cls_head (2)'``: where keys are."""
    counts: Dict[str, int] = OrderedDict()
    for key in keys:
        group = '.'.join(key.split('.')[:-1][:depth]) or key
        counts[group] = counts.get(group, 0) + 1
    return _listed([f'{g} ({n})' for g, n in counts.items()], limit)


@dataclass
class StateDictDiff:
    """What keeps a state dict from fitting a model.

    Attributes:
        missing (list[str]): model keys the checkpoint lacks.
        unexpected (list[str]): checkpoint keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``.
        ignored_missing (list[str]): missing keys a caller expected to be
            absent (``ignore_missing``); not a problem.
        skipped_head (list[tuple]): classifier mismatches left as
            initialised under ``allow_head_mismatch``; not a problem.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    ignored_missing: List[str] = field(default_factory=list)
    skipped_head: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = NUM_LISTED) -> str:
        """One line per kind of problem, the first ``limit`` keys each."""
        lines = []
        if self.missing:
            lines.append(f'  {len(self.missing)} missing key(s) (in the '
                         f'model, not in the checkpoint): '
                         f'{_listed(self.missing, limit)}; by module: '
                         f'{_by_module(self.missing)}')
        if self.unexpected:
            lines.append(f'  {len(self.unexpected)} unexpected key(s) (in '
                         f'the checkpoint, not in the model): '
                         f'{_listed(self.unexpected, limit)}; by module: '
                         f'{_by_module(self.unexpected)}')
        if self.mismatched:
            shapes = [f'{k}: checkpoint {tuple(a)} vs model {tuple(b)}'
                      for k, a, b in self.mismatched]
            lines.append(f'  {len(self.mismatched)} shape mismatch(es): '
                         f'{_listed(shapes, limit)}')
        return '\n'.join(lines)


def state_dict_of(checkpoint: Mapping,
                  revise_keys: Sequence[Tuple[str, str]] = (
                      (r'^module\.', ''), )) -> 'OrderedDict[str, torch.Tensor]':
    """The state dict inside a loaded checkpoint, as mmengine reads it
    (``checkpoint['state_dict']`` or the mapping itself), keys revised by
    ``revise_keys`` (default: DataParallel's ``module.`` stripped)."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(
            f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint)
    out = OrderedDict()
    for key, value in state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        out[key] = value
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:
        out._metadata = metadata
    return out


def _shape(value) -> Optional[tuple]:
    return tuple(value.shape) if hasattr(value, 'shape') else None


def _after_load_hooks(model: nn.Module, state_dict: Mapping,
                      keys: List[str]) -> Dict[str, Optional[tuple]]:
    """Shapes of ``keys`` once the load pre-hooks of the modules that own
    them have seen (a copy of) the state dict, as
    ``Module.load_state_dict`` will run them. Their log lines are muted:
    this is only a look ahead."""
    from mmengine.logging import MMLogger
    local = OrderedDict(state_dict)
    owners = OrderedDict()
    for key in keys:
        prefix = key.rpartition('.')[0]
        try:
            owners.setdefault(prefix, model.get_submodule(prefix))
        except AttributeError:
            continue
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        for prefix, module in owners.items():
            for hook in getattr(module, '_load_state_dict_pre_hooks',
                                {}).values():
                hook(local, prefix + '.' if prefix else '', {}, True, [], [],
                     [])
    finally:
        logger.setLevel(level)
    return {k: _shape(local.get(k)) for k in keys}


def diff_state_dict(state_dict: Mapping,
                    model: nn.Module,
                    ignore_missing: Patterns = None,
                    allow_head_mismatch: bool = False,
                    head_keys: Patterns = HEAD_KEYS) -> StateDictDiff:
    """Compare a state dict with ``model.state_dict()`` (keys and shapes).

    BatchNorm's ``num_batches_tracked`` counters are never required (as in
    mmengine). Nothing is loaded.
    """
    target = model.state_dict()
    ignore = _compile(ignore_missing)
    heads = _compile(head_keys)
    diff = StateDictDiff()
    for key in target:
        if key in state_dict or key.endswith('num_batches_tracked'):
            continue
        if _matches(key, ignore):
            diff.ignored_missing.append(key)
        else:
            diff.missing.append(key)
    wrong = []
    for key, value in state_dict.items():
        if key not in target:
            diff.unexpected.append(key)
        elif _shape(value) != tuple(target[key].shape):
            wrong.append(key)
    adapted = _after_load_hooks(model, state_dict, wrong) if wrong else {}
    for key in wrong:
        want = tuple(target[key].shape)
        if adapted.get(key) == want:
            continue
        entry = (key, _shape(state_dict[key]), want)
        if allow_head_mismatch and _matches(key, heads):
            diff.skipped_head.append(entry)
        else:
            diff.mismatched.append(entry)
    return diff


def check_state_dict(state_dict: Mapping,
                     model: nn.Module,
                     source: str,
                     strict: bool = True,
                     allow_head_mismatch: bool = False,
                     ignore_missing: Patterns = None,
                     head_keys: Patterns = HEAD_KEYS,
                     hint: Optional[str] = None,
                     logger: str = 'current',
                     error: type = CheckpointMismatchError
                     ) -> Tuple['OrderedDict[str, torch.Tensor]',
                                StateDictDiff]:
    """Refuse a state dict that does not fit ``model``, or say what a
    partial load leaves out.

    Args:
        state_dict (Mapping): keys as the model names them.
        model (nn.Module): where it will be loaded.
        source (str): the file (or what the state dict came from), named in
            the messages.
        strict (bool): raise on any missing, unexpected or mis-shaped key.
            False: warn with the same list and keep only what fits.
        allow_head_mismatch (bool): classifier keys (``head_keys``) of
            another shape keep their initial values instead of failing.
        ignore_missing (str | list[str], optional): regexes of model keys
            that may be absent from the checkpoint.
        head_keys (str | list[str]): regexes of the classifier keys.
        hint (str, optional): how to loosen the check, appended to the
            error (e.g. the option of the tool that loads).
        logger: mmengine logger for warnings and notes.
        error (type): the exception class raised (default
            :class:`CheckpointMismatchError`).

    Returns:
        tuple: the state dict to load (mis-shaped and skipped keys removed)
        and the :class:`StateDictDiff`.

    Raises:
        CheckpointMismatchError: ``strict`` and the checkpoint does not fit.
    """
    diff = diff_state_dict(state_dict, model, ignore_missing,
                           allow_head_mismatch, head_keys)
    name = type(model).__name__
    if diff and strict:
        msg = (f"checkpoint '{source}' does not fit the model ({name}):\n"
               f'{diff.describe()}')
        if hint:
            msg += f'\n{hint}'
        raise error(msg)
    if diff:
        print_log(
            f"partial load of '{source}' into {name} (strict=False); what "
            'does not fit keeps its initial values:\n' + diff.describe(),
            logger=logger, level=30)
    if diff.skipped_head:
        shapes = [f'{k}: checkpoint {tuple(a)} vs model {tuple(b)}'
                  for k, a, b in diff.skipped_head]
        print_log(
            f"'{source}': the classifier keeps its initial weights "
            f'(allow_head_mismatch=True): {_listed(shapes)}',
            logger=logger, level=30)
    drop = {k for k, _, _ in diff.mismatched + diff.skipped_head}
    out = OrderedDict((k, v) for k, v in state_dict.items() if k not in drop)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        out._metadata = metadata
    return out, diff


def load_state_dict_checked(model: nn.Module,
                            state_dict: Mapping,
                            source: str,
                            strict: bool = True,
                            allow_head_mismatch: bool = False,
                            ignore_missing: Patterns = None,
                            head_keys: Patterns = HEAD_KEYS,
                            hint: Optional[str] = None,
                            logger: str = 'current') -> StateDictDiff:
    """:func:`check_state_dict`, then load what passed into ``model``."""
    to_load, diff = check_state_dict(
        state_dict, model, source, strict=strict,
        allow_head_mismatch=allow_head_mismatch,
        ignore_missing=ignore_missing, head_keys=head_keys, hint=hint,
        logger=logger)
    model.load_state_dict(to_load, strict=False)
    return diff


def load_checkpoint_checked(model: nn.Module,
                            filename: str,
                            map_location: Union[str, Callable] = 'cpu',
                            strict: bool = True,
                            allow_head_mismatch: bool = False,
                            ignore_missing: Patterns = None,
                            revise_keys: Iterable[Tuple[str, str]] = (
                                (r'^module\.', ''), ),
                            hint: Optional[str] = None,
                            logger: str = 'current') -> Dict:
    """Strict counterpart of :func:`mmengine.runner.load_checkpoint`.

    The file is read by mmengine's ``_load_checkpoint`` (so through the
    safe local loader that ``import s2d_mm`` installs, URLs and
    ``open-mmlab://`` included) and checked before it is loaded.

    Returns:
        dict: the loaded checkpoint.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    state_dict = state_dict_of(checkpoint, tuple(revise_keys))
    load_state_dict_checked(
        model, state_dict, filename, strict=strict,
        allow_head_mismatch=allow_head_mismatch,
        ignore_missing=ignore_missing, hint=hint, logger=logger)
    return checkpoint
