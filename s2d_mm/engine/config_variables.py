"""``--cfg-options`` for the top-level variables of a config file.

A config names a value once at the top (``fold = 1``, ``label_base = 1``,
``num_classes = 7``, ``image_stage_ckpt = '...'``) and uses the variable
further down (``dataset=dict(fold=fold, ...)``). mmengine substitutes the
value while it reads the file and keeps no link from the variable to its
uses, so ``Config.merge_from_dict({'label_base': 0})`` changes the
variable and nothing else: every dataset keeps ``label_base=1``.

:func:`load_config` reads the file again with the new value assigned right
after every top-level assignment of the variable, in every file of the
``_base_`` chain (an AST rewrite of the statement list, the same step where
mmengine removes ``_base_ = ...``). Every use then sees the new value by
Python's own rules: ``fold=fold``, ``{{_base_.fold}}``, f-strings and
arithmetic (``T_max=max_epochs - warmup_epochs``) alike, whatever the
value's type. What this cannot follow is refused with the reason
(:class:`ConfigOverrideError`):

- a top-level name that no file assigns at module level (defined in an
  ``if``/loop, or a typo) and that mmengine's runner does not read either;
  the entries the runner reads (:data:`RUNNER_KEYS`: ``model``,
  ``train_dataloader``, ``load_from`` ...) are merged as mmengine always
  does, dotted or not;
- a dotted override into a config *variable* (``train_pipeline.0.x=1``,
  ``landmark.checkpoint=...``): its uses were copied when the file was read,
  so the change would reach none of them;
- a value that cannot be written as a Python literal.
"""
import ast
import contextlib
import difflib
from typing import Dict, Mapping, Optional

from mmengine.config import Config
from mmengine.config import config as _mmengine_config

#: top-level keys mmengine's ``Runner.from_cfg`` (and s2d_mm's tools) read
#: from a config: overrides of them are mmengine's plain merge (the entry
#: itself, added if no file defines it), as every OpenMMLab user expects.
RUNNER_KEYS = frozenset({
    'model', 'work_dir', 'experiment_name', 'train_dataloader',
    'val_dataloader', 'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg',
    'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor',
    'log_level', 'visualizer', 'default_scope', 'randomness', 'runner_type',
    'model_wrapper_cfg', 'find_unused_parameters', 'compile', 'strategy',
    'custom_imports', 'cfg'
})


class ConfigOverrideError(ValueError):
    """A ``--cfg-options`` entry that would not reach what it names."""


def _literal(key: str, value) -> ast.expr:
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        same = False
    if not same:
        raise ConfigOverrideError(
            f'--cfg-options {key}={value!r}: the value cannot be written '
            'into the config as a Python literal')
    return ast.parse(text, mode='eval').body


def _assigned_names(stmt: ast.stmt):
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    else:
        return []
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _inject(body, values: Mapping, hits: Dict[str, int]):
    """``body`` with ``name = <new value>`` after every module-level
    assignment of a name in ``values``."""
    out = []
    for stmt in body:
        out.append(stmt)
        for name in _assigned_names(stmt):
            if name in values:
                new = ast.Assign(
                    targets=[ast.Name(id=name, ctx=ast.Store())],
                    value=_literal(name, values[name]))
                out.append(ast.copy_location(new, stmt))
                hits[name] = hits.get(name, 0) + 1
    return out


@contextlib.contextmanager
def _assignments_overridden(values: Mapping, hits: Dict[str, int]):
    """While active, mmengine reads every ``.py`` config with ``values``
    assigned after the files' own assignments of those names."""
    original = _mmengine_config.RemoveAssignFromAST

    class RemoveBaseAndOverride(original):
        # mmengine calls ``RemoveAssignFromAST('_base_').visit(module)``
        # on every python config file it parses
        def visit(self, node):
            node = super().visit(node)
            if isinstance(node, ast.Module):
                node.body = _inject(node.body, values, hits)
                ast.fix_missing_locations(node)
            return node

    _mmengine_config.RemoveAssignFromAST = RemoveBaseAndOverride
    try:
        yield
    finally:
        _mmengine_config.RemoveAssignFromAST = original


def _suggest(name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f' (did you mean {", ".join(close)}?)' if close else ''


def _split_options(filename: str, cfg: Config, options: Mapping,
                   read_keys=frozenset()):
    """(top-level variables to re-assign, options to merge); refuses what
    would be a silent no-op."""
    variables, merged = {}, {}
    for key, value in options.items():
        head = key.split('.')[0]
        if head in RUNNER_KEYS:
            # what the runner reads: mmengine's plain merge (the entry
            # alone, e.g. val_dataloader=None keeps test_dataloader)
            merged[key] = value
        elif '.' not in key:
            if head in cfg:
                variables[key] = value
            else:
                raise ConfigOverrideError(
                    f'--cfg-options {key}={value!r}: {filename} has no '
                    f'top-level variable {key!r}, and the runner does not '
                    f'read one{_suggest(key, cfg.keys())}')
        elif head in read_keys and head in cfg:
            # the caller reads this variable itself: a part of it is a use
            merged[key] = value
        elif head in cfg:
            raise ConfigOverrideError(
                f'--cfg-options {key}={value!r}: {head!r} is a variable of '
                f'{filename}; its value was copied into the entries that '
                'use it when the file was read, so changing a part of it '
                'reaches none of them. Override the entry that uses it '
                f'(e.g. the dataloader or model key), or give {head} whole')
        else:
            raise ConfigOverrideError(
                f'--cfg-options {key}={value!r}: {filename} has no top-level '
                f'key {head!r}{_suggest(head, cfg.keys())}')
    return variables, merged


def load_config(filename: str,
                cfg_options: Optional[Mapping] = None,
                read_keys=frozenset()) -> Config:
    """``Config.fromfile(filename)`` with ``cfg_options`` applied so that a
    top-level variable's new value reaches every place the files use it.

    Args:
        filename (str): Config file (``.py``).
        cfg_options (Mapping, optional): As parsed by mmengine's
            ``DictAction``: ``{'fold': 3, 'model.cls_head.loss_sdl': None}``.
        read_keys (Collection[str]): top-level variables the caller reads
            from the config itself besides :data:`RUNNER_KEYS` (e.g.
            ``test_pipeline`` for the inference API): a dotted override into
            one of them is merged, as for a runner key, instead of refused.

    Returns:
        Config: The config as if the files had been edited.

    Raises:
        ConfigOverrideError: An option that would not reach its uses
            (see the module docstring), with the reason.
    """
    cfg = Config.fromfile(filename)
    if not cfg_options:
        return cfg
    variables, merged = _split_options(filename, cfg, cfg_options,
                                       frozenset(read_keys))
    if variables:
        if not filename.endswith('.py') or Config._is_lazy_import(filename):
            raise ConfigOverrideError(
                f'--cfg-options {", ".join(variables)}: top-level variables '
                f'can only be overridden in plain python configs; '
                f'{filename} is not one')
        hits: Dict[str, int] = {}
        with _assignments_overridden(variables, hits):
            cfg = Config.fromfile(filename)
        missed = sorted(set(variables) - set(hits))
        if missed:
            raise ConfigOverrideError(
                f'--cfg-options {", ".join(missed)}: {filename} (or its '
                '_base_ files) defines these top-level keys other than by '
                'a plain `name = value` statement, so their uses cannot be '
                'followed; override the entries that use them instead')
    if merged:
        cfg.merge_from_dict(dict(merged))
    return cfg
