"""Parameters (total / trainable) and FLOPs per clip of an s2d_mm model.

Usage::

    python tools/analysis/params_flops.py CONFIG [--no-flops] [--groups]
        [--cfg-options model.backbone.num_frames=8 ...]

The model is built from CONFIG (video ``S2DRecognizer`` or image
``ImageClassifier``) without loading weights. Parameter counts exclude the
frozen landmark network (reported apart), as the release's counts do.
FLOPs use mmengine's ``FlopAnalyzer`` (one multiply-add = one FLOP, i.e.
GMACs) for one clip of ``num_frames`` x ``img_size`` through backbone and
head; without a landmark branch in the config, precomputed landmark
features are fed and the landmark network is not counted. Logic:
:mod:`s2d_mm.models.utils.complexity`.
"""
import argparse

from mmengine.logging import MMLogger
from mmengine.registry import MODELS, init_default_scope

import s2d_mm  # noqa: F401
from s2d_mm.engine import load_config
from s2d_mm.models.utils.complexity import count_flops, count_parameters, trainable_groups
from s2d_mm.utils.cli_args import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        '--no-flops', action='store_true', help='count parameters only')
    parser.add_argument(
        '--groups', action='store_true',
        help='also list trainable parameters by module')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def build(cfg):
    scope = cfg.get('default_scope', None)
    if scope is None:
        scope = 'mmaction' if 'Recognizer' in cfg.model.type else \
            'mmpretrain'
    init_default_scope(scope)
    return MODELS.build(cfg.model)


def main(argv=None):
    args = parse_args(argv)
    # building logs every initialised tensor at INFO; keep the report short
    MMLogger.get_instance('params_flops', log_level='WARNING')
    # top-level variables (num_frames=8) reach every use
    cfg = load_config(args.config, args.cfg_options)
    model = build(cfg)
    params = count_parameters(model)
    total, trainable = params['total'], params['trainable']
    print(f'config: {args.config}')
    print(f'params: {total / 1e6:.2f} M total ({total:,}), '
          f'{trainable / 1e6:.2f} M trainable ({trainable:,}, '
          f'{100 * trainable / max(total, 1):.2f} %)')
    if params['excluded']:
        print(f"landmark network (frozen, not counted above): "
              f"{params['excluded'] / 1e6:.2f} M ({params['excluded']:,})")
    if args.groups:
        for name, n in sorted(trainable_groups(model).items()):
            print(f'  trainable {name}: {n:,}')
    if not args.no_flops:
        flops = count_flops(model)
        bb = model.backbone
        unit = (f"clip of {bb.num_frames}x{bb.img_size[0]}x{bb.img_size[1]}"
                if hasattr(bb, 'num_frames') else
                f'image of {bb.img_size[0]}x{bb.img_size[1]}')
        print(f"FLOPs (multiply-adds) per {unit}: "
              f"{flops['total'] / 1e9:.2f} G ({flops['total']:,})")
        if flops['landmark']:
            print(f"  of which landmark network: "
                  f"{flops['landmark'] / 1e9:.2f} G; without it: "
                  f"{(flops['total'] - flops['landmark']) / 1e9:.2f} G")
        for name, n in flops['by_module'].items():
            print(f'  {name}: {n / 1e9:.3f} G ({n:,})')


if __name__ == '__main__':
    main()
