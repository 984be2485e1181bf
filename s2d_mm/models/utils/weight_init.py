"""One initialisation order for the S2D modules.

mmengine's ``BaseModule.init_weights`` runs a module's ``init_cfg``
initialisers on the whole subtree, then the children's ``init_weights``,
then ``Pretrained`` last. A module with an initialisation of its own (the
MCP's Xavier projections, the TMA's trunc-normal / zero adapters, the
ViT's position and temporal embeddings) would write it *after* that, over a
``Pretrained`` load, unless it checks its own ``init_cfg``; and the
project's own loader (``ImageStageInit``) is not ``Pretrained`` for
mmengine, so it would run first and be overwritten by the children.

:class:`OwnInitMixin` fixes the order once, for every module that has an
own initialisation (:meth:`OwnInitMixin.init_own_weights`):

1. the ``init_cfg`` initialisers (``Kaiming``, ``TruncNormal``, ...) on the
   module and its subtree;
2. the children's ``init_weights`` (each in this same order);
3. the module's own initialisation;
4. the ``init_cfg`` loaders (:data:`LOADER_TYPES`: ``Pretrained``,
   ``ImageStageInit``), in the order written, so nothing overwrites loaded
   weights.

Nothing is rewritten in ``init_cfg``.
"""
import logging
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict, List, Mapping, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule, is_model_wrapper
from mmengine.model.weight_init import PretrainedInit, initialize, update_init_info

#: ``init_cfg`` types that load weights and so run after everything else
LOADER_TYPES = ('Pretrained', 'ImageStageInit')


def split_init_cfg(init_cfg) -> Tuple[List[dict], List[dict]]:
    """``init_cfg`` (None, a dict or a list of dicts) as ``(initialisers,
    loaders)``, each a list in the order written."""
    cfgs = [] if not init_cfg else (
        [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg))
    loaders = [c for c in cfgs if _is_loader(c)]
    return [c for c in cfgs if not _is_loader(c)], loaders


def _is_loader(cfg: dict) -> bool:
    kind = cfg.get('type')
    return kind in LOADER_TYPES or kind is PretrainedInit


@contextmanager
def _init_info(module: BaseModule):
    """mmengine's record of how each parameter was initialised: opened (and
    logged on exit) by the top-level module of an ``init_weights`` call."""
    if hasattr(module, '_params_init_info'):
        yield
        return
    # the same record BaseModule.init_weights opens, shared by the subtree
    info = {}
    for name, param in module.named_parameters():
        info[param] = dict(
            init_info='The value is the same before and after calling '
            f'`init_weights` of {type(module).__name__} ',
            tmp_mean_value=param.data.mean().cpu())
    shared = defaultdict(dict, info)
    for sub in module.modules():
        sub._params_init_info = shared
    try:
        yield
        module._dump_init_info()
    finally:
        for sub in module.modules():
            if hasattr(sub, '_params_init_info'):
                del sub._params_init_info


class OwnInitMixin:
    """``init_weights`` in the fixed order of this module's docstring.

    Put it first among the bases (``class ViTMCP(OwnInitMixin,
    VisionTransformer)``) and implement :meth:`init_own_weights`.
    Subclasses that must look at what the loaders did override
    :meth:`run_loaders`.
    """

    def init_own_weights(self) -> None:
        """This module's own initialisation (step 3); no-op by default."""

    def run_loaders(self, loaders: List[dict]) -> None:
        """Step 4: the ``init_cfg`` entries that load weights."""
        initialize(self, loaders)

    def init_weights(self) -> None:
        if self.is_init:
            # mmengine warns about a second call and does nothing else
            return BaseModule.init_weights(self)
        initialisers, loaders = split_init_cfg(self.init_cfg)
        with _init_info(self):
            if initialisers:
                initialize(self, initialisers)
            for child in self.children():
                if is_model_wrapper(child) and not hasattr(
                        child, 'init_weights'):
                    child = child.module
                if hasattr(child, 'init_weights') and not getattr(
                        child, 'is_init', False):
                    child.init_weights()
                    update_init_info(
                        child,
                        init_info='Initialized by user-defined '
                        f'`init_weights` in {type(child).__name__} ')
            self.init_own_weights()
            if loaders:
                self.run_loaders(loaders)
            self._is_init = True


@contextmanager
def recorded_load_keys(module: nn.Module):
    """Collect the keys offered to ``module`` by every ``load_state_dict``
    (mmengine's or torch's) inside the block, relative to ``module``.

    Yields:
        dict: ``key -> shape`` of the offered tensors.
    """
    offered: Dict[str, tuple] = {}

    def _hook(mod, state_dict, prefix, *args):
        for key, value in state_dict.items():
            if key.startswith(prefix) and hasattr(value, 'shape'):
                offered[key[len(prefix):]] = tuple(value.shape)

    handle = module.register_load_state_dict_pre_hook(_hook)
    try:
        yield offered
    finally:
        handle.remove()


class FrozenInitError(ValueError):
    """An ``init_cfg`` loader left frozen parameters at their random
    initialisation: they would train (i.e. stay) random."""


def check_frozen_loaded(module: nn.Module, frozen: Sequence[str],
                        offered: Mapping[str, tuple], loaders: List[dict],
                        allow_partial_init: bool,
                        switch: str = 'allow_partial_init=True in the '
                        'backbone config') -> List[str]:
    """Refuse an init whose loaders did not fill every frozen parameter.

    Args:
        module (nn.Module): The initialised module.
        frozen (Sequence[str]): Names of its frozen parameters that must
            come from a checkpoint.
        offered (Mapping[str, tuple]): Keys (relative to ``module``) and
            shapes the loaders offered (:func:`recorded_load_keys`).
        loaders (list[dict]): The ``init_cfg`` loaders that ran.
        allow_partial_init (bool): Warn instead of raising.
        switch (str): How the message names the switch that allows it.

    Returns:
        list[str]: The frozen parameters left as initialised.

    Raises:
        FrozenInitError: some are left and ``allow_partial_init`` is False.
    """
    own = module.state_dict()
    left = [n for n in frozen
            if offered.get(n) != tuple(own[n].shape)]
    if not left:
        return left
    names = ', '.join(
        f"{c['type']} '{c.get('checkpoint')}'"
        + (f" (prefix '{c['prefix']}')" if c.get('prefix') else '')
        for c in loaders)
    listed = ', '.join(left[:5]) + (
        f', ... ({len(left) - 5} more)' if len(left) > 5 else '')
    msg = (f'{type(module).__name__}: init_cfg {names} matched '
           f'{len(frozen) - len(left)} of the {len(frozen)} frozen '
           f'parameter tensors of the model ({len(offered)} keys offered); '
           f'{len(left)} frozen tensors would stay at their random '
           f'initialisation: {listed}. Check the checkpoint and its prefix, '
           f'or set {switch} to train with them random knowingly.')
    if not allow_partial_init:
        raise FrozenInitError(msg)
    print_log(msg, logger='current', level=logging.WARNING)
    return left
