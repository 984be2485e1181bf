"""S2D recognizer <-> ONNX: export, check against PyTorch, run in ONNX Runtime.

The exported graph is the whole recognizer after the data preprocessor:
landmark branch (the frozen mmpose network and its grid mapping), ViT-MCP
with the TMAs and the temporal embedding, and the head (temporal mean and
classifier)::

    clips  (N, 3, T, H, W) float32, normalised as the data preprocessor
           outputs them (ImageNet mean/std, RGB)  ->  logits (N, C)

N (views of all clips) is dynamic; T, H and W are fixed by the model. The
file's metadata holds what an application without PyTorch needs to prepare
the input (``num_frames``, ``img_size``, ``mean``, ``std``, ``classes``) and
``weights_sha1``, the fingerprint of the weights it was exported from, so a
file is never run in place of another checkpoint.

Export uses ``torch.onnx.export(dynamo=True)`` (torch.export + onnxscript,
the default exporter since torch 2.9; the TorchScript exporter is the
legacy path).
"""
import atexit
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
import types
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    'RecognizerLogits', 'weights_fingerprint', 'export_onnx',
    'check_onnx_model', 'OnnxRuntimeLogits', 'attach_onnx_runtime',
    'ONNX_INPUT', 'ONNX_OUTPUT'
]

ONNX_INPUT = 'clips'
ONNX_OUTPUT = 'logits'


class RecognizerLogits(nn.Module):
    """The tensor part of an S2D recognizer's test forward, for export.

    ``forward(clips)``: ``(N, 3, T, H, W)`` normalised clips -> ``(N, C)``
    logits, i.e. ``cls_head(backbone(clips))`` in eval mode (no view
    de-duplication or averaging: those stay with the caller).
    """

    def __init__(self, recognizer: nn.Module):
        super().__init__()
        self.backbone = recognizer.backbone
        self.cls_head = recognizer.cls_head

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.cls_head(self.backbone(clips))


def weights_fingerprint(model: nn.Module) -> str:
    """SHA-1 over the names, shapes, dtypes and values of the recognizer's
    backbone and head state (what the ONNX graph is made of)."""
    h = hashlib.sha1()
    for part in ('backbone', 'cls_head'):
        for name, t in getattr(model, part).state_dict().items():
            if not isinstance(t, torch.Tensor):
                continue
            t = t.detach().cpu().contiguous()
            h.update(f'{part}.{name}:{tuple(t.shape)}:{t.dtype}'.encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _input_shape(model: nn.Module) -> tuple:
    bb = model.backbone
    t = int(getattr(bb, 'num_frames', 0) or 0)
    img = getattr(bb, 'img_size', None)
    if not t or img is None:
        raise ValueError(
            f'{type(bb).__name__} does not say its input size (needs '
            '`num_frames` and `img_size`, as S2DViT has)')
    h, w = (img, img) if isinstance(img, int) else tuple(img)
    return 3, t, int(h), int(w)


def _metadata(model: nn.Module, classes: Optional[Sequence[str]]) -> Dict:
    pre = model.data_preprocessor
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    _, t, h, w = _input_shape(model)
    meta = dict(
        producer='s2d_mm',
        input_format='NCTHW float32, RGB, (x - mean) / std',
        num_frames=t,
        img_size=[h, w],
        mean=None if mean is None else mean.flatten().tolist(),
        std=None if std is None else std.flatten().tolist(),
        num_classes=int(model.cls_head.num_classes),
        weights_sha1=weights_fingerprint(model))
    if classes is not None:
        meta['classes'] = list(classes)
    return meta


def check_onnx_model(model: nn.Module,
                     path: str,
                     batch_sizes: Sequence[int] = (1, 2),
                     atol: float = 1e-4,
                     seed: int = 0) -> float:
    """Run the ONNX file in ONNX Runtime and PyTorch on the same random
    clips; the largest logit difference must be <= ``atol``.

    Returns:
        float: the largest absolute logit difference.

    Raises:
        AssertionError: a difference above ``atol`` (with the figures).
    """
    wrapper = RecognizerLogits(model).eval()
    session = OnnxRuntimeLogits(path)
    gen = torch.Generator().manual_seed(seed)
    worst = 0.
    for n in batch_sizes:
        x = torch.randn((n, ) + _input_shape(model), generator=gen)
        with torch.no_grad():
            ref = wrapper(x).float()
        out = session(x)
        if out.shape != ref.shape:
            raise AssertionError(f'{path}: ONNX Runtime gives logits '
                                 f'{tuple(out.shape)}, PyTorch '
                                 f'{tuple(ref.shape)}')
        worst = max(worst, float((out - ref).abs().max()))
    if not worst <= atol:
        raise AssertionError(
            f'{path}: ONNX Runtime logits differ from PyTorch by {worst:.3g} '
            f'(allowed {atol:g}, float32)')
    return worst


def export_onnx(model: nn.Module,
                path: str,
                classes: Optional[Sequence[str]] = None,
                opset: Optional[int] = None,
                check: bool = True,
                atol: float = 1e-4) -> Dict:
    """Export an S2D recognizer (float32 weights, eval mode) to ONNX.

    Args:
        model (nn.Module): the recognizer, not prepared for another
            precision (``model.inference_precision`` unset or fp32).
        path (str): the ``.onnx`` file to write (one file, weights inside).
        classes (Sequence[str], optional): class names for the metadata.
        opset (int, optional): ONNX opset; default: the exporter's.
        check (bool): compare ONNX Runtime with PyTorch
            (:func:`check_onnx_model`) and fail beyond ``atol``.
        atol (float): allowed logit difference. Defaults to 1e-4.

    Returns:
        dict: ``path``, ``metadata``, ``max_abs_diff`` (None unless
        checked), ``opset``.
    """
    prepared = getattr(model, 'inference_precision', None)
    if prepared is not None and prepared.mode != 'fp32':
        raise ValueError('export_onnx needs the float32 model, got one '
                         f'prepared for {prepared.mode}')
    if any(p.dtype != torch.float32 for p in model.parameters()):
        raise ValueError('export_onnx needs float32 weights')
    import onnx
    model = model.eval()
    wrapper = RecognizerLogits(model).eval()
    meta = _metadata(model, classes)
    # batch 2 as the example: a size-1 dimension would be specialised
    example = torch.zeros((2, ) + _input_shape(model))
    kwargs = dict(
        input_names=[ONNX_INPUT],
        output_names=[ONNX_OUTPUT],
        dynamo=True,
        external_data=False,
        dynamic_shapes={'clips': {0: torch.export.Dim('batch', min=1)}},
        verbose=False)
    if opset is not None:
        kwargs['opset_version'] = opset
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(wrapper, (example, ), path, **kwargs)
    proto = onnx.load(path)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(proto, path)
    out = dict(path=path, metadata=meta, max_abs_diff=None,
               opset=int(next(o.version for o in proto.opset_import
                              if o.domain in ('', 'ai.onnx'))))
    if check:
        out['max_abs_diff'] = check_onnx_model(model, path, atol=atol)
    return out


class OnnxRuntimeLogits:
    """An exported S2D model in ONNX Runtime (the CPU execution provider
    unless ``providers`` says otherwise).

    ``session(clips)``: ``(N, 3, T, H, W)`` tensor or array -> ``(N, C)``
    float32 tensor.

    Args:
        path (str): the ``.onnx`` file.
        threads (int, optional): intra-op threads; default: torch's
            current thread count, so both runtimes use the same cores.
        providers (Sequence[str], optional): ONNX Runtime execution
            providers in order of preference, e.g.
            ``['CUDAExecutionProvider']`` (needs ``onnxruntime-gpu``);
            default ``['CPUExecutionProvider']``.
    """

    def __init__(self, path: str, threads: Optional[int] = None,
                 providers: Optional[Sequence[str]] = None):
        import onnxruntime as ort
        if not osp.isfile(path):
            raise FileNotFoundError(f'ONNX model not found: {path}')
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.graph_optimization_level = \
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self.session = ort.InferenceSession(
            path, sess_options=opts,
            providers=list(providers or ['CPUExecutionProvider']))
        raw = self.session.get_modelmeta().custom_metadata_map
        self.metadata = {}
        for k, v in raw.items():
            try:
                self.metadata[k] = json.loads(v)
            except ValueError:
                self.metadata[k] = v
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, clips) -> torch.Tensor:
        if isinstance(clips, torch.Tensor):
            clips = clips.detach().float().cpu().numpy()
        out = self.session.run(None, {
            self.input_name: np.ascontiguousarray(clips, dtype=np.float32)
        })[0]
        return torch.from_numpy(out)


_TEMP_DIRS = []


def _remove_temp_dirs():
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_remove_temp_dirs)


def _onnx_predict(self, inputs: torch.Tensor, data_samples, **kwargs):
    """``predict`` of a recognizer whose tensors run in ONNX Runtime:
    ``inputs`` ``(B, V, 3, T, H, W)`` -> data samples with scores, views
    averaged by the PyTorch head as usual."""
    from s2d_mm.models.recognizers.view_dedup import expand_views, unique_views
    flat = inputs.reshape((-1, ) + inputs.shape[2:])
    inverse = None
    if (self.test_cfg or {}).get('dedup_views', True):
        flat, inverse = unique_views(flat)
    logits = self.onnx_session(flat).to(inputs.device)
    if inverse is not None:
        logits = expand_views(logits, inverse)
    return self.cls_head.predict_by_feat(logits, data_samples)


def attach_onnx_runtime(model: nn.Module,
                        onnx_file: Optional[str] = None) -> str:
    """Make ``model``'s test forward run in ONNX Runtime.

    Args:
        model (nn.Module): the float32 recognizer.
        onnx_file (str, optional): a file from :func:`export_onnx`; it must
            come from the same weights (``weights_sha1``). None: the model
            is exported (and checked) into a temporary file now.

    Returns:
        str: a line saying what runs.
    """
    fingerprint = weights_fingerprint(model)
    if onnx_file is None:
        tmp = tempfile.mkdtemp(prefix='s2d_onnx_')
        _TEMP_DIRS.append(tmp)
        onnx_file = osp.join(tmp, 'model.onnx')
        report = export_onnx(model, onnx_file)
        how = (f'exported now to {onnx_file} (ONNX Runtime vs PyTorch '
               f'logits within {report["max_abs_diff"]:.1e})')
    else:
        how = f'from {onnx_file}'
    session = OnnxRuntimeLogits(onnx_file)
    theirs = session.metadata.get('weights_sha1')
    if theirs != fingerprint:
        raise ValueError(
            f'{onnx_file} was not exported from these weights (its '
            f'weights_sha1 is {theirs}, the model\'s {fingerprint}); export '
            'it again with tools/deployment/export_onnx.py')
    model.onnx_session = session
    model.predict = types.MethodType(_onnx_predict, model)
    import onnxruntime as ort
    return f'ONNX Runtime {ort.__version__} (CPU), model {how}'
