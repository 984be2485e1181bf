"""Command-line options the tools share (tools/train.py, tools/test.py,
tools/infer.py, tools/analyze_video.py, ...): ``--cfg-options`` and the
distributed launcher. A malformed option is a usage error (exit 2, one
line naming the bad entry), never a traceback."""
import argparse

from mmengine.config import DictAction


class CfgOptionsAction(DictAction):
    """mmengine's :class:`~mmengine.config.DictAction` (``key=value``
    entries, values parsed as int / float / bool / list / tuple), refusing a
    malformed entry through ``parser.error``: ``fold`` without ``=``, an
    empty key, or unbalanced brackets in the value."""

    def __call__(self, parser, namespace, values, option_string=None):
        for entry in values or ():
            key, sep, value = entry.partition('=')
            if not sep or not key:
                parser.error(f"{option_string}: '{entry}' is not key=value "
                             '(e.g. fold=2)')
            try:
                self._parse_iterable(value)
            except (AssertionError, ValueError):
                parser.error(f"{option_string}: '{entry}': unbalanced "
                             'brackets in the value')
        super().__call__(parser, namespace, values, option_string)


def add_cfg_options(parser: argparse.ArgumentParser,
                    help: str = 'override config entries, key=value '
                    '(e.g. fold=2 train_dataloader.batch_size=4)',
                    flag: str = '--cfg-options', **kwargs) -> None:
    """``--cfg-options key=value ...`` (or ``flag``) parsed by
    :class:`CfgOptionsAction`."""
    parser.add_argument(flag, nargs='+', action=CfgOptionsAction, help=help,
                        **kwargs)


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """mmengine's ``--launcher`` and the ``--local_rank`` / ``--local-rank``
    that ``torch.distributed.launch`` passes (torchrun sets ``LOCAL_RANK``
    instead)."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
