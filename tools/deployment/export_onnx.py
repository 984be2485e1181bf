"""Export an S2D video model to ONNX and check it against PyTorch.

Usage (from any directory)::

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx \\
        [--opset 20] [--atol 1e-4] [--no-check] [--cfg-options k=v ...]

The graph is the whole recognizer after the data preprocessor (landmark
branch, ViT-MCP, TMAs, head): ``clips (N, 3, T, H, W)`` float32 normalised
as the config's data preprocessor does -> ``logits (N, C)``, N dynamic. The
file's metadata holds ``num_frames``, ``img_size``, ``mean``, ``std``,
``classes`` and ``weights_sha1`` (see ``s2d_mm/apis/onnx_model.py``).
ONNX Runtime's logits are compared with PyTorch's on random clips (batch 1
and 2); a difference above ``--atol`` fails the export (exit status 1).

Run it with ``tools/infer.py --precision onnx --onnx-file OUT.onnx`` or
``tools/test.py --precision onnx --onnx-file OUT.onnx``, or from any
application through ONNX Runtime alone.
"""
import argparse
import os.path as osp
import sys
import time


def parse_args(argv=None):
    from s2d_mm.utils.cli_args import add_cfg_options
    p = argparse.ArgumentParser(description='S2D model -> ONNX')
    p.add_argument('config', help='model config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('out', help='the .onnx file to write')
    p.add_argument('--opset', type=int, default=None,
                   help="ONNX opset (default: the exporter's)")
    p.add_argument('--atol', type=float, default=1e-4,
                   help='allowed logit difference ONNX Runtime vs PyTorch')
    p.add_argument('--no-check', dest='check', action='store_false',
                   help='skip the ONNX Runtime check')
    add_cfg_options(p, help='config overrides, key=value')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from s2d_mm.apis import init_model
    from s2d_mm.apis.inference import _class_names
    from s2d_mm.apis.onnx_model import export_onnx

    model = init_model(args.config, args.checkpoint, device='cpu',
                       cfg_options=args.cfg_options)
    classes = _class_names(model, model.cls_head.num_classes)
    t0 = time.perf_counter()
    try:
        report = export_onnx(model, args.out, classes=classes,
                             opset=args.opset, check=args.check,
                             atol=args.atol)
    except AssertionError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    meta = report['metadata']
    print(f'wrote {args.out} (opset {report["opset"]}, '
          f'{osp.getsize(args.out) / 2**20:.1f} MiB, '
          f'{time.perf_counter() - t0:.0f} s)')
    print(f'input clips (N, 3, {meta["num_frames"]}, {meta["img_size"][0]}, '
          f'{meta["img_size"][1]}) float32, {meta["input_format"]}; output '
          f'logits (N, {meta["num_classes"]})')
    if report['max_abs_diff'] is not None:
        print(f'ONNX Runtime vs PyTorch: max abs logit difference '
              f'{report["max_abs_diff"]:.2e} (allowed {args.atol:g})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
