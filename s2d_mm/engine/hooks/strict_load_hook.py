"""Refuse a ``load_from`` / ``resume`` checkpoint that does not fit the model.

mmengine's Runner loads both with ``strict=False``: a checkpoint of another
architecture or class count is accepted with a warning and the run (a test
included) goes on with part of the model random.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from s2d_mm.registry import S2D_HOOK_REGISTRIES, register_in
from s2d_mm.utils.state_dict_fit import check_state_dict, state_dict_of

SWITCH = 'default_hooks.strict_load'


def _loading_file(runner) -> str:
    """The checkpoint ``Runner.load_or_resume`` is reading, as it chose it."""
    load_from = getattr(runner, '_load_from', None)
    if load_from:
        return str(load_from)
    if getattr(runner, '_resume', False):
        latest = find_latest_checkpoint(runner.work_dir)
        if latest:
            return latest
    return '<checkpoint loaded by the Runner>'


@register_in(*S2D_HOOK_REGISTRIES)
class StrictLoadHook(Hook):
    """Check every checkpoint the Runner loads (``load_from``, ``resume``,
    ``tools/test.py CONFIG CKPT``) against the model before it is loaded.

    Registered in mmaction2's, mmpretrain's and mmpose's ``HOOKS``
    (:data:`~s2d_mm.registry.S2D_HOOK_REGISTRIES`). The s2d_mm runtimes
    list it as ``default_hooks.strict_load``; ``tools/train.py`` and
    ``tools/test.py`` add it to configs that lack it.

    Args:
        strict (bool): refuse missing, unexpected or mis-shaped keys with a
            :class:`~s2d_mm.utils.state_dict_fit.CheckpointMismatchError`
            that names the file and the keys. False: partial load, the same
            list is logged as a warning and what does not fit keeps its
            initial values. Defaults to True.
        allow_head_mismatch (bool): a classifier (``cls_head.*``/``head.*``)
            of another shape keeps its initial weights: fine-tuning a
            checkpoint to another class set with ``load_from``. Defaults to
            False.
    """

    # after any hook that rewrites the checkpoint (e.g. EMA's), so that
    # what is checked is what will be loaded
    priority = 'VERY_LOW'

    def __init__(self, strict: bool = True,
                 allow_head_mismatch: bool = False) -> None:
        self.strict = bool(strict)
        self.allow_head_mismatch = bool(allow_head_mismatch)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from s2d_mm.models.backbones.landmark import landmark_branches_with_checkpoint
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        # Runner.load_checkpoint's default revise_keys
        state_dict = state_dict_of(checkpoint)
        own = landmark_branches_with_checkpoint(model)
        to_load, _ = check_state_dict(
            state_dict, model, _loading_file(runner), strict=self.strict,
            allow_head_mismatch=self.allow_head_mismatch,
            ignore_missing=[f'^{p}' for p in own] or None,
            hint=(f'To load what fits anyway (the rest keeps its initial '
                  f'values): --cfg-options {SWITCH}.strict=False; to '
                  'fine-tune to another class set (only the classifier '
                  f'differs): --cfg-options {SWITCH}.allow_head_mismatch='
                  'True.'),
            logger='current')
        if len(to_load) != len(state_dict):
            # mis-shaped keys a partial load skips; mmengine would
            # otherwise report each of them a second time
            if 'state_dict' in checkpoint:
                checkpoint['state_dict'] = to_load
            else:
                checkpoint.clear()
                checkpoint.update(to_load)


def ensure_strict_load_hook(cfg) -> Optional[dict]:
    """Give a config the hook when it has none (configs that do not use the
    s2d_mm runtimes, e.g. stock mmaction2 ones); returns its entry.

    ``--cfg-options default_hooks.strict_load.strict=False`` works either
    way: an entry without ``type`` is completed here.
    """
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('type') in ('StrictLoadHook', StrictLoadHook):
            return hook
    hooks = cfg.get('default_hooks', None)
    if hooks is None:
        cfg.default_hooks = hooks = dict()
    entry = hooks.get('strict_load', None)
    if entry is None and 'strict_load' in hooks:
        return None  # switched off explicitly (strict_load=None)
    if entry is None:
        hooks['strict_load'] = entry = dict(type='StrictLoadHook')
    entry.setdefault('type', 'StrictLoadHook')
    return entry
