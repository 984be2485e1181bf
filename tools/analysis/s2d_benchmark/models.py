"""What the benchmark sections run on.

- :func:`load_setup`: the model dict, the test and training pipelines and
  the sizes (frames ``T``, side ``S``, width ``D``) read from a project
  config: the shipped ``configs/s2d_dfew.py`` by default (ViT-B/16, 16
  frames of 224 px, the released MobileFaceNet landmark branch, S2DHead
  with SDL, DFEW's 2 clips x 2 crops test protocol), or the tiny
  ``configs/_base_/models/s2d_tiny.py`` (``--tiny``) with the same
  pipelines sized for it. Checkpoints are dropped: speed does not depend
  on the weights.
- :func:`build_pair`: this project's recognizer and the release-style
  reference (:mod:`s2d_benchmark.reference`) with the same weights.
- :class:`Bench`: arguments, setup, both models, device and the report,
  handed to every ``bench_<section>`` function.
- inputs (:func:`clip_batch`, :func:`make_samples`) and the test forward
  (:func:`view_logits`).
"""
import copy
import os.path as osp
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import torch

from . import reference  # noqa: F401  (registers the reference recognizer)
from .report import Report

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
#: the full-size default: the paper's DFEW config as shipped
DEFAULT_CONFIG = osp.join(REPO, 'configs', 's2d_dfew.py')
TINY_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 's2d_tiny.py')
#: the CLI the sections start worker processes of (fresh-process memory)
BENCHMARK_SCRIPT = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')


# --------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------
def without_checkpoints(cfg):
    """``cfg`` (a model dict) without pretrained-weight loading: speed does
    not depend on the weights, and the benchmark runs without them."""
    if isinstance(cfg, dict):
        out = {}
        for k, v in cfg.items():
            if k == 'init_cfg' and isinstance(v, dict) and \
                    v.get('type') in ('Pretrained', 'ImageStageInit'):
                continue
            if k == 'checkpoint' and cfg.get('type') == \
                    'LandmarkFeatureExtractor':
                continue
            out[k] = without_checkpoints(v)
        return out
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(without_checkpoints(v) for v in cfg)
    return cfg


def _dataset_pipeline(cfg, loader: str) -> Optional[List[dict]]:
    try:
        ds = cfg[loader]['dataset']
        while 'pipeline' not in ds and 'dataset' in ds:
            ds = ds['dataset']
        return [dict(t) for t in ds['pipeline']]
    except (KeyError, TypeError):
        return None


def _resize_pipeline(pipeline: List[dict], frames: int, img: int):
    """DFEW's pipeline with the clip length and frame size of the tiny
    model (whose config has no pipelines)."""
    pipeline = copy.deepcopy(pipeline)
    for t in pipeline:
        if t['type'] == 'SampleFrames':
            t['clip_len'] = frames
        elif t['type'] == 'Resize':
            t['scale'] = (img, img)
        elif t['type'] == 'SpatialCrops':
            t['crop_size'] = img
    return pipeline


def load_setup(config: Optional[str] = None, tiny: bool = False,
               num_classes: Optional[int] = None,
               frames: Optional[int] = None) -> Dict[str, Any]:
    """Model dict, pipelines and sizes of a benchmark run.

    Args:
        config (str, optional): a project config with a model and data
            loaders; default :data:`DEFAULT_CONFIG`.
        tiny (bool): without ``config``, the tiny model of
            :data:`TINY_CONFIG` with the default config's pipelines.
        num_classes (int, optional): overrides the head's (and SDL's).
        frames (int, optional): overrides the clip length (model and
            pipelines).

    Returns:
        dict: ``model`` (dict, no checkpoints), ``test_pipeline``,
        ``train_pipeline``, ``frames`` (T), ``img`` (S), ``dims`` (D, the
        head's input width) and ``config`` (what was read).
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config or DEFAULT_CONFIG)
    model = without_checkpoints(cfg.model.to_dict())
    if tiny and config is None:
        model = Config.fromfile(TINY_CONFIG).model.to_dict()
    bb, head = model['backbone'], model['cls_head']
    if num_classes is not None:
        head['num_classes'] = num_classes
        if head.get('loss_sdl'):
            head['loss_sdl']['num_classes'] = num_classes
    resize = (tiny and config is None) or bool(frames)
    if frames:
        bb['num_frames'] = frames
    frames = bb.get('num_frames', 16)
    img = bb.get('img_size', 224)
    img = img if isinstance(img, int) else img[0]
    setup = dict(model=model, frames=frames, img=img,
                 dims=head.get('in_channels', 768),
                 config=(TINY_CONFIG if tiny and config is None else
                         config or DEFAULT_CONFIG))
    for key, loader in (('test_pipeline', 'test_dataloader'),
                        ('train_pipeline', 'train_dataloader')):
        pipeline = _dataset_pipeline(cfg, loader)
        if pipeline is None:
            raise ValueError(f'{config}: no {loader}.dataset.pipeline')
        setup[key] = (_resize_pipeline(pipeline, frames, img)
                      if resize else pipeline)
    return setup


def build_model(model_cfg: dict, device='cpu'):
    """This project's recognizer with seeded random weights, eval mode."""
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    fast = MODELS.build(copy.deepcopy(model_cfg))
    fast.init_weights()
    return fast.to(device).eval()


def build_pair(model_cfg: dict, device='cpu'):
    """:func:`build_model` and the release-style reference with the same
    weights, both in eval mode on ``device``."""
    from mmaction.registry import MODELS
    fast = build_model(model_cfg)
    ref_cfg = copy.deepcopy(model_cfg)
    ref_cfg['type'] = 'ReleaseStyleS2DRecognizer'
    ref = MODELS.build(ref_cfg)
    ref.load_state_dict(fast.state_dict())
    return fast.to(device).eval(), ref.to(device).eval()


def load_weights(checkpoint: Optional[str], fast, ref=None) -> None:
    """``checkpoint`` into both paths (strict: every key must fit)."""
    if not checkpoint:
        return
    from mmengine.runner.checkpoint import _load_checkpoint

    from s2d_mm.utils.state_dict_fit import load_state_dict_checked, state_dict_of
    state = state_dict_of(_load_checkpoint(checkpoint, map_location='cpu'))
    load_state_dict_checked(fast, state, checkpoint, strict=True)
    if ref is not None:
        ref.load_state_dict(fast.state_dict())


# --------------------------------------------------------------------------
# the context of a run
# --------------------------------------------------------------------------
@dataclass
class Bench:
    """What every ``bench_<section>(bench)`` reads and writes.

    Attributes:
        args: the parsed command line (``tools/analysis/benchmark.py``).
        setup (dict): :func:`load_setup`'s.
        device (torch.device): where the models run.
        fast, ref: this project's recognizer and the reference (eval mode).
        report (Report): figures (``report.res``) and the printed table.
        workdir (str): a temporary folder for generated data.
    """
    args: Any
    setup: Dict[str, Any]
    device: torch.device
    fast: Any
    ref: Any
    report: Report = field(default_factory=Report)
    workdir: str = field(default_factory=tempfile.gettempdir)
    _dataset: Optional[Dict[str, Any]] = None

    @property
    def res(self) -> Dict[str, Any]:
        return self.report.res

    def row(self, name: str, value: str, note: str = '') -> None:
        self.report.row(name, value, note)

    def fake_dfew(self) -> Dict[str, Any]:
        """A generated DFEW layout in ``workdir`` at the model's sizes
        (made once, by the demo's renderer: ``--train-per-class`` +
        ``--test-per-class`` synthetic face clips a class, fold 1, 0-based
        labels): ``train_ann``, ``test_ann`` (with ``{fold}``) and
        ``frame_root``."""
        if self._dataset is None:
            from .clone import import_demo
            import_demo()
            from demo.synthetic_dfew import generate_dataset
            a = self.args
            root = osp.join(self.workdir, 'dfew')
            per_class = a.train_per_class + a.test_per_class
            generate_dataset(
                root, clips_per_class=per_class,
                num_frames=a.video_frames or self.setup['frames'],
                img_size=self.setup['img'],
                test_fraction=a.test_per_class / per_class, label_base=0,
                stills_per_class=0, progress=False)
            self._dataset = dict(
                train_ann=osp.join(root, 'train_set_{fold}.csv'),
                test_ann=osp.join(root, 'test_set_{fold}.csv'),
                frame_root=root)
        return self._dataset

    def worker_command(self, *extra: str) -> List[str]:
        """The command line of a fresh benchmark process with this run's
        arguments and ``extra`` (a worker flag)."""
        return [sys.executable, BENCHMARK_SCRIPT, *self.args.argv, *extra]


# --------------------------------------------------------------------------
# inputs and forward
# --------------------------------------------------------------------------
def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """``torch.autocast`` in ``dtype``, or disabled for None."""
    if dtype is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=dtype)


def clip_batch(setup, batch: int, views: int, device='cpu', seed: int = 0):
    """Normalised clips ``(B, V, 3, T, S, S)`` as the data preprocessor
    outputs them."""
    gen = torch.Generator().manual_seed(seed)
    t, s = setup['frames'], setup['img']
    return torch.randn(batch, views, 3, t, s, s, generator=gen).to(device)


def view_logits(model, inputs: torch.Tensor) -> torch.Tensor:
    """``(B, V, 3, T, S, S)`` -> per-view logits ``(B*V, C)``: the test
    forward (landmark branch, backbone, head) without the preprocessor."""
    feats, kwargs = model.extract_feat(inputs, test_mode=True)
    return model.cls_head(feats, **kwargs)


def make_samples(batch: int, num_classes: int):
    """``batch`` data samples with labels ``0, 1, ...`` (mod classes)."""
    from mmaction.structures import ActionDataSample
    samples = []
    for i in range(batch):
        s = ActionDataSample()
        s.set_gt_labels(torch.tensor([i % num_classes]))
        samples.append(s)
    return samples


def layer_macs(model, x: torch.Tensor, convs: bool = False) -> Dict[str, int]:
    """MACs of every Linear (and with ``convs`` every Conv2d) layer of
    ``model`` in one backbone + head forward of ``x`` ``(B, 3, T, S, S)``,
    by module name; forward hooks, so it is cheap next to a FLOP trace."""
    macs, hooks = {}, []

    def linear(mod, inp, outp, name):
        macs[name] = macs.get(name, 0) + \
            inp[0].numel() // mod.in_features * mod.out_features * \
            mod.in_features

    def conv(mod, inp, outp, name):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[name] = macs.get(name, 0) + \
            outp.numel() * mod.in_channels // mod.groups * k

    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear):
            fn = linear
        elif convs and isinstance(m, torch.nn.Conv2d):
            fn = conv
        else:
            continue
        hooks.append(m.register_forward_hook(
            lambda mod, i, o, name=name, fn=fn: fn(mod, i, o, name)))
    try:
        with torch.no_grad():
            model.cls_head(model.backbone(x))
    finally:
        for h in hooks:
            h.remove()
    return macs
