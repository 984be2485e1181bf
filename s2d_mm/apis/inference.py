"""Inference with an S2D video model on one's own clips.

Follows mmaction2's ``init_recognizer`` / ``inference_recognizer``:
:func:`init_model` builds the model from a config and loads a checkpoint,
:func:`inference_video` runs the config's test pipeline on a clip and
returns per-class probabilities. What S2D needs in addition:

- the model takes a fixed number of frames T (its temporal embedding), so a
  clip of any length is sampled to T frames spread evenly over the whole
  clip (DFEW's time-normalised ``16f`` crops are made the same way);
- the model expects face crops: unless told that the input is already
  cropped, the face is found by a face detector and every frame is cropped
  with one box for the whole clip (:mod:`s2d_mm.video_analysis.face_crop`).
"""
import copy
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence, Union

import cv2
import mmengine
import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from s2d_mm.video_analysis.face_crop import NoFaceFoundError, clip_face_box, crop_clip
from s2d_mm.video_analysis.face_detectors import build_face_detector

from .video_reader import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, list_frames, open_video  # noqa: F401

__all__ = [
    'init_model', 'inference_video', 'load_clip', 'sample_frame_indices',
    'model_num_frames', 'NoFaceFoundError', 'ClipReadError',
    'VIDEO_EXTENSIONS', 'IMAGE_EXTENSIONS'
]


def init_model(config: Union[str, Path, mmengine.Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None,
               strict: bool = True,
               allow_head_mismatch: bool = False,
               precision: str = 'fp32',
               onnx_file: Optional[str] = None) -> nn.Module:
    """Build an S2D video model from a config and load its checkpoint.

    Same contract as :func:`mmaction.apis.init_recognizer`, plus:

    - the head averages test views as probabilities
      (``cls_head.average_clips='prob'``), so :func:`inference_video`
      returns a distribution;
    - when the checkpoint already holds the landmark branch's weights
      (S2D checkpoints do), the branch's own ``checkpoint`` entry is not
      needed and is ignored, so a model can be run from its one file;
    - the checkpoint must fit the model: missing, unexpected or mis-shaped
      keys raise :class:`~s2d_mm.utils.state_dict_fit.CheckpointMismatchError`
      naming the file and the keys (mmaction2 would load what fits and
      warn).

    Args:
        config (str | Path | Config): the model's config.
        checkpoint (str, optional): checkpoint file; None keeps the
            initial weights.
        device (str | torch.device): where to put the model.
        cfg_options (dict, optional): overrides merged into the config.
        strict (bool): refuse a checkpoint that does not fit. False: load
            what fits, warn with the list, keep the rest as initialised.
        allow_head_mismatch (bool): a classifier of another class count
            keeps its initial weights instead of failing.
        precision (str): ``'fp32'`` (default), ``'bf16'``, ``'int8'``,
            ``'onnx'`` or ``'auto'``: prepared by
            :func:`s2d_mm.apis.precision.apply_precision` after loading
            (``model.inference_precision`` says what runs); a precision
            the device only emulates is refused.
        onnx_file (str, optional): for ``'onnx'``, a file exported from
            the same weights (default: exported now).

    Returns:
        nn.Module: the recognizer in eval mode, with ``model.cfg`` set.
    """
    from mmaction.apis import init_recognizer

    import s2d_mm  # noqa: F401  (registers the S2D modules)

    config = _model_config(config, cfg_options)
    state_dict = _read_checkpoint(checkpoint)
    if state_dict is not None:
        _skip_landmark_init(config, state_dict)
    # mmaction2's builder (default scope, device, eval mode, model.cfg);
    # the checkpoint is loaded below, strictly, instead of by it
    model = init_recognizer(config, None, device=device)
    if state_dict is not None:
        _landmark_from_own_file(model, config, state_dict)
        _load_strictly(model, state_dict, checkpoint, strict,
                       allow_head_mismatch)
    if precision != 'fp32':
        from .precision import apply_precision
        apply_precision(model, precision, device=device,
                        onnx_file=onnx_file)
    return model


def _model_config(config: Union[str, Path, mmengine.Config],
                 cfg_options: Optional[dict] = None) -> mmengine.Config:
    """A copy of the config (read from file if a path) with ``cfg_options``
    merged and the head set to average test views as probabilities."""
    if isinstance(config, (str, Path)):
        # a top-level variable (fold, num_frames, ...) given in cfg_options
        # reaches every use, or is refused with the reason; inference reads
        # test_pipeline itself, so a part of it is a use, not a copy
        from s2d_mm.engine.config_variables import load_config
        config = load_config(str(config), cfg_options,
                             read_keys={'test_pipeline'})
    elif not isinstance(config, mmengine.Config):
        raise TypeError('config must be a filename or Config object, '
                        f'but got {type(config)}')
    else:
        config = copy.deepcopy(config)
        if cfg_options:
            config.merge_from_dict(cfg_options)
    if 'model' not in config:
        raise KeyError(f'config {getattr(config, "filename", "")} has no '
                       '`model` entry')
    head = config.model.get('cls_head')
    if head is not None:
        head['average_clips'] = 'prob'
    return config


def _read_checkpoint(checkpoint: Optional[str]) -> Optional[dict]:
    """The state dict of a checkpoint file (mmengine's loader: local
    paths and URLs), None for None."""
    if checkpoint is None:
        return None
    if not osp.isfile(checkpoint) and '://' not in checkpoint:
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    from mmengine.runner.checkpoint import _load_checkpoint

    from s2d_mm.utils.state_dict_fit import state_dict_of
    return state_dict_of(_load_checkpoint(checkpoint, map_location='cpu'))


def _skip_landmark_init(config: mmengine.Config, state_dict: dict) -> None:
    """When the S2D checkpoint restores the landmark branch, neither the
    branch's own file nor its initialisation is needed."""
    landmark = config.model.get('backbone', {}).get('landmark')
    if isinstance(landmark, dict) and any(
            k.startswith('backbone.landmark.') for k in state_dict):
        landmark['checkpoint'] = None
        landmark['init_from_config'] = False


def _landmark_from_own_file(model: nn.Module, config: mmengine.Config,
                            state_dict: dict) -> None:
    """A converted release checkpoint holds no landmark weights: the
    branch read them from its own ``checkpoint`` (strictly) when it was
    built, so the strict load takes them from there instead of calling
    them missing."""
    landmark = config.model.get('backbone', {}).get('landmark')
    if not (isinstance(landmark, dict) and landmark.get('checkpoint')):
        return
    if any(k.startswith('backbone.landmark.') for k in state_dict):
        return
    state_dict.update({k: v for k, v in model.state_dict().items()
                       if k.startswith('backbone.landmark.')})


def _load_strictly(model: nn.Module, state_dict: dict, checkpoint: str,
                   strict: bool, allow_head_mismatch: bool) -> None:
    from s2d_mm.utils.state_dict_fit import load_state_dict_checked
    load_state_dict_checked(
        model, state_dict, checkpoint, strict=strict,
        allow_head_mismatch=allow_head_mismatch,
        hint='init_model(..., strict=False) loads what fits; '
        'allow_head_mismatch=True accepts only a classifier of another '
        'class count (it keeps its initial weights).')


# ---------------------------------------------------------------- reading
class ClipReadError(ValueError):
    """The clip cannot be read: missing, not decodable, no frames, or
    frames that do not fit together. A problem of the input, unlike the
    other errors of :func:`inference_video`."""


def read_video(path: str) -> List[np.ndarray]:
    """All frames of a video file as BGR ``(H, W, 3)`` uint8 arrays (for
    short clips; :func:`~s2d_mm.apis.video_reader.open_video` reads frames
    by index)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'video not found: {path}')
    with open_video(path) as reader:
        return reader.read(range(reader.num_frames))


def read_frame_folder(folder: str) -> List[np.ndarray]:
    """All frames of a folder of images, BGR, natural name order."""
    with open_video(folder) as reader:
        return reader.read(range(reader.num_frames))


def load_clip(source: Union[str, Sequence[np.ndarray], np.ndarray]
              ) -> List[np.ndarray]:
    """A whole clip from a video file, a frame folder, or frames (BGR)."""
    with open_video(source) as reader:
        return reader.read(range(reader.num_frames))


# --------------------------------------------------------------- sampling
def sample_frame_indices(total: int, num: int) -> np.ndarray:
    """``num`` frame indices spread evenly over ``total`` frames (the middle
    of ``num`` equal segments); short clips repeat frames."""
    if total <= 0:
        raise ValueError('the clip has no frames')
    idx = np.floor((np.arange(num) + 0.5) * total / num).astype(np.int64)
    return np.clip(idx, 0, total - 1)


def model_num_frames(model: nn.Module) -> int:
    """T of the model: its backbone's ``num_frames`` or the test pipeline's
    ``clip_len``."""
    t = getattr(getattr(model, 'backbone', None), 'num_frames', None)
    if t:
        return int(t)
    for step in model.cfg.get('test_pipeline', []):
        if 'clip_len' in step:
            return int(step['clip_len'])
    raise ValueError('cannot tell how many frames the model takes: no '
                     'backbone.num_frames and no clip_len in test_pipeline')


def _post_decode_pipeline(pipeline_cfg: Sequence[dict]) -> List[dict]:
    """The part of a test pipeline that follows frame decoding.

    Sampling and decoding are done here (the clip is already in memory);
    resizing, cropping, formatting and packing come from the config, so the
    model sees frames prepared exactly as in testing.
    """
    steps = list(pipeline_cfg)
    last = -1
    for i, step in enumerate(steps):
        name = step['type'] if isinstance(step['type'], str) else \
            step['type'].__name__
        if name.endswith('Decode'):
            last = i
    if last < 0:
        raise ValueError(
            'test_pipeline has no decoding step (RawFrameDecode, '
            'DecordDecode, ...); cannot tell where frame preparation starts')
    return copy.deepcopy(steps[last + 1:])


# -------------------------------------------------------------- inference
@torch.no_grad()
def inference_video(model: nn.Module,
                    video: Union[str, Sequence[np.ndarray]],
                    detect: bool = True,
                    detector=None,
                    enlarge: float = 1.3,
                    min_hit_ratio: float = 0.25) -> dict:
    """Expression probabilities of one clip.

    Args:
        model (nn.Module): from :func:`init_model`.
        video (str | Sequence[np.ndarray] | FrameReader): a video file, a
            folder of frames, BGR frames ``(H, W, 3)`` or a reader from
            :func:`~s2d_mm.apis.video_reader.open_video`; only the probed
            and the sampled frames are decoded.
        detect (bool): find and crop the face (False: the frames are
            already face crops).
        detector (callable | dict | str, optional): face detector (frame
            -> boxes), its config or registered name. None: MTCNN
            (:class:`~s2d_mm.video_analysis.MTCNNFaceDetector`), the
            default of ``tools/data/extract_faces.py`` and
            ``tools/analyze_video.py``, so that the crops match those of
            the training clips cut with it; ``'HaarFaceDetector'`` (OpenCV)
            and the other detectors of
            :mod:`s2d_mm.video_analysis.face_detectors` stay selectable.
        enlarge (float): crop side relative to the detected face box, as
            ``--enlarge`` of extract_faces (the same crop geometry:
            :func:`~s2d_mm.video_analysis.square_box` of the detector's
            box).
        min_hit_ratio (float): share of probed frames that must show a face.

    Returns:
        dict: ``probs`` ``(C,)`` float numpy array summing to 1, ``classes``
        (names, from the config's dataset or model), ``pred_label`` and
        ``pred_class``, ``frame_inds`` (indices into the input frames that
        the model saw), ``num_input_frames``, ``face_box`` (x1, y1, x2, y2
        in the input frames, or None), ``detector`` (the class name of the
        detector that found it, or None), ``frames`` (the T face crops fed
        to the pipeline, BGR) and ``precision`` (what the model runs in,
        see :func:`init_model`).

    Raises:
        NoFaceFoundError: ``detect`` is on and no face was found.
    """
    init_default_scope(model.cfg.get('default_scope', 'mmaction'))
    detector = build_face_detector(detector) if detect else None
    clip, inds, num_input, box = _read_clip(
        video, model_num_frames(model), detect, detector, enlarge,
        min_hit_ratio)
    probs = _clip_probs(model, clip)
    classes = _class_names(model, len(probs))
    label = int(probs.argmax())
    return dict(
        probs=probs,
        classes=classes,
        pred_label=label,
        pred_class=classes[label],
        frame_inds=inds.tolist(),
        num_input_frames=num_input,
        face_box=None if box is None else [float(v) for v in box],
        # a detector's class name (a plain function: its name)
        detector=None if detector is None else getattr(
            detector, '__name__', type(detector).__name__),
        frames=clip,
        precision=getattr(getattr(model, 'inference_precision', None),
                          'mode', 'fp32'))


def _read_clip(video, num: int, detect: bool, detector, enlarge: float,
               min_hit_ratio: float) -> tuple:
    """``(frames, frame_inds, num_input_frames, face_box)``: ``num`` frames
    spread over the clip, cropped to the face when ``detect``.

    Only the probed and the sampled frames are decoded, whatever the length
    of the video; what fails while reading is the input's fault
    (:class:`ClipReadError`), anything after it is not.
    """
    try:
        reader = open_video(video)
    except (OSError, ValueError) as err:
        raise ClipReadError(str(err)) from err
    with reader:
        box = None
        try:
            if detect:
                box, _ = clip_face_box(reader, detector, enlarge=enlarge,
                                       min_hit_ratio=min_hit_ratio)
            num_input = reader.num_frames
            inds = sample_frame_indices(num_input, num)
            clip = reader.read(inds)
        except (OSError, ValueError, IndexError) as err:
            raise ClipReadError(str(err)) from err
    if box is not None:
        clip = crop_clip(clip, box)
    return clip, inds, num_input, box


def _clip_probs(model: nn.Module, clip: List[np.ndarray]) -> np.ndarray:
    """Class probabilities ``(C,)`` (float64, sum 1) of T decoded BGR frames
    run through the rest of the config's test pipeline and the model."""
    num = len(clip)
    h, w = clip[0].shape[:2]
    data = dict(
        imgs=[cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in clip],
        original_shape=(h, w),
        img_shape=(h, w),
        modality='RGB',
        num_clips=1,
        clip_len=num,
        frame_interval=1,
        frame_inds=np.arange(num),
        total_frames=num,
        start_index=0)
    pipeline = Compose(_post_decode_pipeline(model.cfg.test_pipeline))
    data = pseudo_collate([pipeline(data)])
    result = model.test_step(data)[0]
    scores = result.pred_scores.item.detach().float().cpu()
    if getattr(getattr(model, 'cls_head', None), 'average_clips',
               None) != 'prob':
        scores = scores.softmax(-1)
    probs = scores.numpy().astype(np.float64)
    return probs / probs.sum()


def _class_names(model: nn.Module, num_classes: int) -> List[str]:
    """Class names from the config (dataset metainfo, ``classes``) or the
    dataset class, else ``class_<i>``."""
    cfg = model.cfg
    names = cfg.get('classes')
    if names is None:
        for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
            ds = cfg.get(key, {}).get('dataset', {}) if cfg.get(key) else {}
            names = (ds.get('metainfo') or {}).get('classes')
            if names is None and isinstance(ds.get('type'), str):
                from mmaction.registry import DATASETS
                cls = DATASETS.get(ds['type'])
                names = getattr(cls, 'METAINFO', {}).get('classes') \
                    if cls is not None else None
            if names:
                break
    if not names or len(names) != num_classes:
        names = [f'class_{i}' for i in range(num_classes)]
    return list(names)
