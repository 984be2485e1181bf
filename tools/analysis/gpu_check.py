#!/usr/bin/env python
"""One command that measures S2D on a GPU and prints one table.

Usage (from the repository root)::

    python tools/analysis/gpu_check.py --out work_dirs/gpu_check
    python tools/analysis/gpu_check.py --tiny --device cpu --out /tmp/gc   # smoke

What it measures (full size: ``configs/_base_/models/s2d_vit-base-p16.py``,
ViT-B/16 with MCPs, TMAs and the MobileFaceNet landmark branch, 16 frames of
224 px, random weights; ``--tiny``: ``configs/_base_/models/s2d_tiny.py``):

- ``train``: training throughput (clips/s) and peak memory
  (``torch.cuda.max_memory_allocated`` over the timed steps) of one
  optimizer step (AdamW on the trainable parameters) in fp32, AMP fp16
  (``torch.autocast`` + dynamic loss scale, what mmengine's
  ``AmpOptimWrapper`` does) and AMP bf16, each with and without activation
  checkpointing of the backbone (``with_cp``); the release-style reference
  path (``s2d_benchmark.reference``) in fp32 beside them.
- ``infer``: test-forward clips/s (``cls_head(backbone(clips))``) in fp32,
  fp16 and bf16 autocast, the model prepared by
  ``apply_precision(..., 'bf16')``, ``torch.compile`` where it compiles,
  ONNX Runtime with its CUDA execution provider where installed, and the
  reference path; each with its largest class-probability difference to
  fp32 (``max dprob``).
- ``ddp``: one DDP training step in two processes on the one device
  (NCCL on CUDA; where NCCL refuses two ranks on one GPU, gloo with the
  reason), the ranks' parameters compared after the step.

Every row is timed after warm-up (median of ``--repeats`` steps, the device
synchronised); the first rows name the machine and the GEMM rates measured
in the same run. The table is printed and written as ``gpu_check.md`` and
``gpu_check.json`` under ``--out``. ``--time-limit`` skips
what would start after it (default 420 s), saying so in the table.
"""
import argparse
import copy
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import torch

# tools/analysis/ is this script's folder, so s2d_benchmark is importable
from s2d_benchmark.models import clip_batch, make_samples, without_checkpoints
from s2d_benchmark.training import set_checkpointing, train_step

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FULL_CONFIG = osp.join(REPO, 'configs', '_base_', 'models',
                       's2d_vit-base-p16.py')
TINY_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 's2d_tiny.py')
DDP_TAG = 'DDP_JSON '
DTYPES = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--tiny', action='store_true',
                   help='the tiny model (a CPU smoke run of every row)')
    p.add_argument('--config', help='model config (default: the full-size '
                   's2d_vit-base-p16.py, or s2d_tiny.py with --tiny)')
    p.add_argument('--frames', type=int, default=None,
                   help="frames per clip (default: the config's)")
    p.add_argument('--train-batch', type=int, default=None,
                   help='clips per training step (default 8; 2 with --tiny)')
    p.add_argument('--infer-batch', type=int, default=None,
                   help='clips per inference call (default 16; 2 with '
                   '--tiny)')
    p.add_argument('--warmup', type=int, default=None,
                   help='untimed steps first (default 3; 1 with --tiny)')
    p.add_argument('--repeats', type=int, default=None,
                   help='timed steps per row (default 10; 2 with --tiny)')
    p.add_argument('--dtypes', default='fp32,fp16,bf16',
                   help='training / autocast dtypes of the rows')
    p.add_argument('--checkpointing', choices=['both', 'off', 'on'],
                   default='both', help='training rows with / without '
                   'activation checkpointing')
    p.add_argument('--no-reference', dest='reference', action='store_false',
                   help='leave out the release-style reference rows')
    p.add_argument('--sections', default='train,infer,ddp',
                   help='comma-separated subset of train,infer,ddp')
    p.add_argument('--compile', dest='compile', action='store_true',
                   default=None, help='time torch.compile (default: on, '
                   'off with --tiny)')
    p.add_argument('--no-compile', dest='compile', action='store_false')
    p.add_argument('--time-limit', type=float, default=420.,
                   help='seconds; rows that would start later are skipped')
    p.add_argument('--out', required=True,
                   help='folder for gpu_check.json and gpu_check.md')
    p.add_argument('--ddp-worker', type=int, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument('--ddp-backend', default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.sections.split(',')) - {'train', 'infer', 'ddp'}
    if unknown:
        p.error(f'unknown sections {sorted(unknown)}; choose from '
                'train, infer, ddp')
    args.dtypes = args.dtypes.split(',')
    if set(args.dtypes) - set(DTYPES) or 'fp32' not in args.dtypes:
        p.error(f'--dtypes: a subset of {list(DTYPES)} with fp32, got '
                f'{args.dtypes}')
    tiny = args.tiny
    for name, full, small in (('train_batch', 8, 2), ('infer_batch', 16, 2),
                              ('warmup', 3, 1), ('repeats', 10, 2)):
        if getattr(args, name) is None:
            setattr(args, name, small if tiny else full)
    if args.compile is None:
        args.compile = not tiny
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


# --------------------------------------------------------------------------
# model and timing
# --------------------------------------------------------------------------
def load_model_cfg(args) -> dict:
    """The model dict (no checkpoints) of ``--config`` / ``--tiny``."""
    from mmengine.config import Config
    path = args.config or (TINY_CONFIG if args.tiny else FULL_CONFIG)
    model = without_checkpoints(Config.fromfile(path).model.to_dict())
    if args.frames:
        model['backbone']['num_frames'] = args.frames
    return model


def sizes(model_cfg: dict) -> dict:
    bb = model_cfg['backbone']
    img = bb.get('img_size', 224)
    return dict(frames=bb.get('num_frames', 16),
                img=img if isinstance(img, int) else img[0])


def build(model_cfg: dict, device, reference: bool = False):
    """The recognizer (seeded random weights) on ``device``, train mode."""
    import s2d_benchmark.reference  # noqa: F401  (registers the reference)
    from mmaction.registry import MODELS
    cfg = copy.deepcopy(model_cfg)
    if reference:
        cfg['type'] = 'ReleaseStyleS2DRecognizer'
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.to(device)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn, device, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after ``warmup``."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


class PeakMemory:
    """Peak CUDA memory allocated inside the block (None on a CPU)."""

    def __init__(self, device):
        self.device, self.peak = device, None

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak = torch.cuda.max_memory_allocated(self.device)


def gemm_rates(device) -> dict:
    """GEMM rates (GFLOP/s) per dtype now, in this process."""
    from s2d_mm.utils.machine import matmul_rate
    n = 4096 if device.type == 'cuda' else 512
    out = {}
    for name, dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16),
                        ('fp16', torch.float16)):
        try:
            out[name] = round(matmul_rate(((n, n, n), ), dtype=dtype,
                                          device=device, repeats=5)['gflops'])
        except RuntimeError as e:  # a dtype the device has no GEMM for
            out[name] = f'n/a ({str(e).splitlines()[0][:60]})'
    return out


def machine_rows(device) -> dict:
    from s2d_mm.utils.machine import cpu_model
    info = dict(torch=torch.__version__, cpu=cpu_model(),
                cpu_count=os.cpu_count(), device=str(device))
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(
            props.total_memory / 2**30, 1), cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    info['gemm_gflops'] = gemm_rates(device)
    return info


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------
class Table:
    """Rows of the one table, printed as they come."""

    def __init__(self, deadline: float):
        self.rows, self.deadline = [], deadline

    def expired(self, need: float = 0.) -> bool:
        """Whether less than ``need`` seconds are left before the limit."""
        return time.perf_counter() + need > self.deadline

    def add(self, section, name, clips_s=None, peak=None, note=''):
        row = dict(section=section, name=name,
                   clips_per_s=None if clips_s is None else round(clips_s, 3),
                   peak_memory_mib=None if peak is None else round(
                       peak / 2**20),
                   note=note)
        self.rows.append(row)
        print(f'{section:6s} {name:34s} '
              f'{"-" if clips_s is None else f"{clips_s:9.2f}":>9s} clips/s '
              f'{"-" if peak is None else f"{peak / 2**20:8.0f}":>8s} MiB  '
              f'{note}', flush=True)

    def skip(self, section, name):
        self.add(section, name, note='skipped: --time-limit reached')


def amp_step(model, optim, scaler, dtype, inputs, samples, device):
    """One training step under ``dtype`` autocast (None: fp32); fp16
    scales the loss as mmengine's AmpOptimWrapper does."""
    if dtype is None:
        return train_step(model, optim, inputs, samples)
    with torch.autocast(device_type=device.type, dtype=dtype):
        losses = model.loss(inputs, samples)
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optim)
        scaler.update()
    else:
        loss.backward()
        optim.step()
    optim.zero_grad(set_to_none=True)


def bench_train(args, model_cfg, device, table):
    size = sizes(model_cfg)
    b = args.train_batch
    num_classes = model_cfg['cls_head']['num_classes']
    inputs = clip_batch(size, b, 1, device, seed=2)
    samples = make_samples(b, num_classes)
    cps = dict(both=(False, True), off=(False, ), on=(True, ))
    variants = [(f'{mode}{" AMP" if mode != "fp32" else ""}'
                 f'{", checkpointing" if cp else ""}', mode, cp, False)
                for mode in args.dtypes for cp in cps[args.checkpointing]]
    if args.reference:
        variants.append(('reference (release-style) fp32', 'fp32', False,
                         True))
    for name, mode, cp, ref in variants:
        if table.expired():
            table.skip('train', name)
            continue
        try:
            model = build(model_cfg, device, reference=ref)
            if cp and not set_checkpointing(model, True):
                table.add('train', name, note='the backbone has no with_cp')
                continue
            model.train()
            optim = torch.optim.AdamW(
                [p for p in model.parameters() if p.requires_grad], lr=1e-5)
            dtype = DTYPES[mode]
            scaler = (torch.amp.GradScaler(device.type)
                      if dtype is torch.float16 else None)

            def step():
                amp_step(model, optim, scaler, dtype, inputs, samples,
                         device)

            step()  # optimizer state exists before the memory window
            with PeakMemory(device) as mem:
                sec = timed(step, device, args.warmup, args.repeats)
            table.add('train', name, b / sec, mem.peak,
                      f'batch {b}, {sec:.3f} s/step')
        except Exception as e:  # noqa: BLE001  (a row fails, not the table)
            table.add('train', name, note=f'failed: {_short(e)}')
        finally:
            model = optim = None
            if device.type == 'cuda':
                torch.cuda.empty_cache()


def _probs(logits):
    return logits.float().softmax(-1)


def bench_infer(args, model_cfg, device, table):
    from s2d_mm.apis.onnx_model import RecognizerLogits
    from s2d_mm.apis.precision import apply_precision
    size = sizes(model_cfg)
    b = args.infer_batch
    clips = clip_batch(size, b, 1, device, seed=3).flatten(0, 1)
    model = build(model_cfg, device).eval()
    net = RecognizerLogits(model).eval()
    with torch.no_grad():
        ref_probs = _probs(net(clips))

    def row(name, fn, mem=True):
        if table.expired():
            table.skip('infer', name)
            return
        try:
            with torch.no_grad():
                probs = _probs(fn())
                with PeakMemory(device) as peak:
                    sec = timed(fn, device, args.warmup, args.repeats)
            dprob = (probs.to(ref_probs.device) - ref_probs).abs().max()
            table.add('infer', name, b / sec, peak.peak if mem else None,
                      f'batch {b}, max dprob vs fp32 {dprob.item():.4f}')
        except Exception as e:  # noqa: BLE001
            table.add('infer', name, note=f'failed: {_short(e)}')

    for mode in args.dtypes:
        dtype = DTYPES[mode]
        if dtype is None:
            row('fp32', lambda: net(clips))
        else:
            def run(dtype=dtype):
                with torch.autocast(device_type=device.type, dtype=dtype):
                    return net(clips)
            row(f'{mode} autocast', run)
    try:
        prepared = apply_precision(model, 'bf16', device, copy_model=True)
        pnet = RecognizerLogits(prepared).eval()
        row('bf16 apply_precision (s2d_mm)', lambda: pnet(clips))
    except Exception as e:  # noqa: BLE001  (e.g. no native bf16 here)
        table.add('infer', 'bf16 apply_precision (s2d_mm)',
                  note=f'refused: {_short(e)}')
    if args.reference:
        ref = build(model_cfg, device, reference=True).eval()
        ref.load_state_dict(model.state_dict())
        rnet = RecognizerLogits(ref).eval()
        row('reference (release-style) fp32', lambda: rnet(clips))
        ref = rnet = None
    _onnx_rows(model, clips, device, row, table)
    # last: compiling the full model can take minutes
    if args.compile and table.expired(need=120.):
        table.add('infer', 'torch.compile', note='skipped: under 120 s '
                  'left before --time-limit')
    elif args.compile:
        try:
            compiled = torch.compile(net)
            row('fp32 torch.compile', lambda: compiled(clips))

            def run_bf16():
                with torch.autocast(device_type=device.type,
                                    dtype=torch.bfloat16):
                    return compiled(clips)
            row('bf16 autocast torch.compile', run_bf16)
        except Exception as e:  # noqa: BLE001
            table.add('infer', 'torch.compile', note=f'failed: {_short(e)}')
    else:
        table.add('infer', 'torch.compile', note='not run (--no-compile)')


def _onnx_rows(model, clips, device, row, table):
    """ONNX Runtime with the device's execution provider, where installed
    (``onnxruntime-gpu`` for CUDA)."""
    name = 'onnxruntime ' + ('CUDA' if device.type == 'cuda' else 'CPU')
    try:
        import onnxruntime as ort
    except ImportError:
        table.add('infer', name, note='onnxruntime not installed')
        return
    provider = ('CUDAExecutionProvider' if device.type == 'cuda' else
                'CPUExecutionProvider')
    if provider not in ort.get_available_providers():
        table.add('infer', name, note=f'{provider} not available (providers: '
                  f'{", ".join(ort.get_available_providers())})')
        return
    if table.expired():
        table.skip('infer', name)
        return
    try:
        from s2d_mm.apis.onnx_model import OnnxRuntimeLogits, export_onnx
        cpu_model = copy.deepcopy(model).cpu().float().eval()
        tmp = tempfile.mkdtemp(prefix='s2d_gpu_check_')
        path = osp.join(tmp, 'model.onnx')
        export_onnx(cpu_model, path, check=False)
        session = OnnxRuntimeLogits(path, providers=[provider])
        host = clips.cpu().numpy()
        row(f'{name} (fp32)', lambda: session(host), mem=False)
    except Exception as e:  # noqa: BLE001
        table.add('infer', name, note=f'failed: {_short(e)}')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_run(args, backend: str):
    """Two worker processes of one DDP step; their JSON lines."""
    env = dict(os.environ, MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(_free_port()), WORLD_SIZE='2')
    procs = []
    for rank in range(2):
        cmd = [sys.executable, osp.abspath(__file__), *args.argv,
               '--ddp-worker', str(rank), '--ddp-backend', backend]
        procs.append(subprocess.Popen(
            cmd, env=dict(env, RANK=str(rank)), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            err += '\n(timed out after 150 s)'
        lines = [ln for ln in out.splitlines() if ln.startswith(DDP_TAG)]
        outs.append(json.loads(lines[-1][len(DDP_TAG):]) if lines and
                    p.returncode == 0 else dict(error=_last_line(err)))
    return outs


def bench_ddp(args, device, table):
    if table.expired():
        table.skip('ddp', '2 processes, one device')
        return
    backends = ['nccl', 'gloo'] if device.type == 'cuda' else ['gloo']
    why = []
    for backend in backends:
        outs = _ddp_run(args, backend)
        errors = [o['error'] for o in outs if 'error' in o]
        if errors:
            why.append(f'{backend}: {errors[0]}')
            continue
        same = all(o['checksum'] == outs[0]['checksum'] for o in outs)
        sec = max(o['step_seconds'] for o in outs)
        peak = max((o['peak'] or 0) for o in outs) or None
        note = (f'{backend}, batch {args.train_batch} per rank, '
                f'{sec:.3f} s/step; ranks equal after the step: {same}')
        if why:
            note += f' (after {"; ".join(why)})'
        table.add('ddp', '2 processes, one device',
                  2 * args.train_batch / sec, peak, note)
        return
    table.add('ddp', '2 processes, one device',
              note='failed: ' + '; '.join(why))


def ddp_worker(args, device):
    """One rank of :func:`bench_ddp`: warm-up step, timed step, checksum of
    the trainable parameters (equal on both ranks when DDP synchronised
    the gradients)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    rank = int(os.environ['RANK'])
    dist.init_process_group(args.ddp_backend, rank=rank, world_size=2)
    try:
        model_cfg = load_model_cfg(args)
        model = build(model_cfg, device).train()
        ids = [device.index or 0] if device.type == 'cuda' else None
        ddp = DDP(model, device_ids=ids, find_unused_parameters=True)
        optim = torch.optim.AdamW(
            [p for p in ddp.parameters() if p.requires_grad], lr=1e-3)
        size = sizes(model_cfg)
        # different clips per rank: only synchronised gradients keep the
        # ranks' weights equal
        inputs = clip_batch(size, args.train_batch, 1, device, seed=10 + rank)
        samples = make_samples(args.train_batch,
                               model_cfg['cls_head']['num_classes'])

        def step():
            losses = ddp(inputs, samples, mode='loss')
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            optim.step()
            optim.zero_grad(set_to_none=True)

        with PeakMemory(device) as mem:
            sec = timed(step, device, 1, 1)
        checksum = sum(p.double().sum().item() for p in model.parameters()
                       if p.requires_grad)
        dist.barrier()
        print(DDP_TAG + json.dumps(dict(rank=rank, step_seconds=sec,
                                        checksum=round(checksum, 6),
                                        peak=mem.peak)), flush=True)
    finally:
        dist.destroy_process_group()


def _short(e: BaseException) -> str:
    text = f'{type(e).__name__}: {e}'.splitlines()[0]
    return text[:160]


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return (lines[-1] if lines else 'no output')[:200]


# --------------------------------------------------------------------------
def to_markdown(res: dict) -> str:
    m = res['machine']
    head = [f'# S2D GPU check ({res["model"]})', '',
            f'- device: {m.get("gpu", m["cpu"])} ({m["device"]}), torch '
            f'{m["torch"]}' + (f', CUDA {m["cuda"]}' if 'cuda' in m else ''),
            '- GEMM rate now (GFLOP/s): ' + ', '.join(
                f'{k} {v}' for k, v in m['gemm_gflops'].items()),
            f'- {res["frames"]} frames of {res["img"]} px, random weights; '
            f'median of {res["repeats"]} steps after {res["warmup"]}; '
            f'{res["total_seconds"]:.0f} s in all', '',
            '| section | what | clips/s | peak MiB | note |',
            '|---|---|---|---|---|']
    for r in res['rows']:
        head.append(
            f'| {r["section"]} | {r["name"]} | '
            f'{"-" if r["clips_per_s"] is None else r["clips_per_s"]} | '
            f'{"-" if r["peak_memory_mib"] is None else r["peak_memory_mib"]}'
            f' | {r["note"]} |')
    return '\n'.join(head) + '\n'


def main(argv=None):
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import s2d_mm  # noqa: F401  (registers the modules)
    init_default_scope('mmaction')
    MMLogger.get_instance('s2d_gpu_check', log_level='WARNING')
    device = torch.device(args.device)
    if device.type == 'cuda':
        if device.index is None:
            # 'cuda' names no device; torch.cuda.set_device refuses it
            device = torch.device('cuda', torch.cuda.current_device())
        torch.cuda.set_device(device)
    if args.ddp_worker is not None:
        return ddp_worker(args, device)
    t0 = time.perf_counter()
    model_cfg = load_model_cfg(args)
    size = sizes(model_cfg)
    machine = machine_rows(device)
    print(f'S2D GPU check on {machine.get("gpu", machine["cpu"])}: torch '
          f'{machine["torch"]}, GEMM GFLOP/s {machine["gemm_gflops"]}',
          flush=True)
    table = Table(t0 + args.time_limit)
    sections = args.sections.split(',')
    # torch.compile (the slowest to prepare) comes last, in infer
    for name, fn in (('train', lambda: bench_train(args, model_cfg, device,
                                                   table)),
                     ('ddp', lambda: bench_ddp(args, device, table)),
                     ('infer', lambda: bench_infer(args, model_cfg, device,
                                                   table))):
        if name in sections:
            try:
                fn()
            except Exception as e:  # noqa: BLE001  (keep the other rows)
                traceback.print_exc()
                table.add(name, 'section', note=f'failed: {_short(e)}')
    res = dict(model='tiny' if args.tiny and not args.config else
               osp.relpath(args.config or FULL_CONFIG, REPO),
               frames=size['frames'], img=size['img'], repeats=args.repeats,
               warmup=args.warmup, machine=machine, rows=table.rows,
               total_seconds=time.perf_counter() - t0)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        json.dump(res, f, indent=1, default=str)
    text = to_markdown(res)
    with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write(text)
    print('\n' + text, flush=True)
    return res


if __name__ == '__main__':
    main()
