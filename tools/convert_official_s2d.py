"""Convert a released S2D / timm / MAE / MobileFaceNet checkpoint.

Usage::

    python tools/convert_official_s2d.py SRC DST [--out-config CFG.py]
        [--model-args release_args.json] [--num-heads N] [--tma-heads N]
        [--num-classes C]

SRC: the authors' S2D video checkpoint, their image-stage checkpoint
(``pretrain-AffectNet-7.pth``), a timm/MAE ViT checkpoint or the released
MobileFaceNet (``.pth``/``.pth.tar``/``.safetensors``). DST: an mmengine
checkpoint ``{'state_dict', 'meta'}``. The architecture is inferred from the
weights; head counts cannot be, so they default to width // 64 (ViT) and 8
(TMA) unless given. The logic lives in :mod:`s2d_mm.models.utils.convert`.
"""
import argparse
import os.path as osp
import sys

from s2d_mm.models.utils.convert import (
    CheckpointConversionError,
    convert_file,
    landmark_branch_config,
    read_overrides,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released / timm / MAE checkpoint')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument(
        '--out-config', help='also write the matching s2d_mm config here')
    parser.add_argument(
        '--model-args',
        help='JSON of the release model arguments (embed_dim, depth, '
        'num_heads, num_frames, ...); checked against the weights')
    parser.add_argument('--num-heads', type=int, help='ViT attention heads')
    parser.add_argument('--tma-heads', type=int, help='TMA attention heads')
    parser.add_argument(
        '--num-classes', type=int,
        help='classes of a new head (plain ViT without a classifier)')
    parser.add_argument(
        '--landmark-config',
        help='mmpose config of the landmark network for the written config '
        '(e.g. configs/_base_/models/landmark_mobilefacenet.py); a '
        'MobileFaceNet SRC is checked against it (default: the released '
        'architecture)')
    parser.add_argument(
        '--landmark-checkpoint', help='its weights (e.g. the released '
        'mobilefacenet_model_best.pth.tar)')
    parser.add_argument(
        '--landmark-out-index', type=int, default=5,
        help='backbone stage tapped (5: MobileFaceNet conv_4)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    overrides = read_overrides(args.model_args)
    for key in ('num_heads', 'tma_heads', 'num_classes'):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    landmark = None
    if args.landmark_checkpoint and not args.landmark_config:
        # the released network's weights: its architecture is the shipped one
        args.landmark_config = osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
            '_base_', 'models', 'landmark_mobilefacenet.py')
    if args.landmark_config:
        landmark = landmark_branch_config(args.landmark_config,
                                          args.landmark_checkpoint,
                                          args.landmark_out_index)
    try:
        meta = convert_file(args.src, args.dst, overrides, args.out_config,
                            landmark)
    except CheckpointConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f"converted {args.src} ({meta['source_kind']} checkpoint) -> "
          f'{args.dst}')
    if meta.get('arch'):
        print(f"architecture: {meta['arch']}")
    for key in meta.get('dropped_keys', []):
        print(f'dropped: {key}')
    if args.out_config:
        print(f'config: {args.out_config}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
