"""Face detectors behind one small interface, registered in
:data:`s2d_mm.registry.FACE_DETECTORS` so that configs name them::

    from s2d_mm.video_analysis import build_face_detector
    det = build_face_detector(dict(type='YuNetFaceDetector',
                                   model='face_detection_yunet_2023mar.onnx'))
    boxes, scores = det.detect(frame_bgr)    # (K, 4) x1 y1 x2 y2, (K, )

Four are provided:

- :class:`MTCNNFaceDetector` (default, :func:`build_face_detector` of None):
  the MTCNN cascade with the weights of the ``facenet-pytorch`` wheel; no
  file to supply.
- :class:`HaarFaceDetector`: OpenCV's frontal-face Haar cascade, whose XML
  ships inside the OpenCV 4.x wheels (``cv2.data.haarcascades``); no file
  to supply. OpenCV 5 moved the cascades out of the main module.
- :class:`YuNetFaceDetector`: OpenCV's CNN face detector
  (``cv2.FaceDetectorYN``, OpenCV >= 4.5.4) with the ONNX model file the
  user downloads from the OpenCV model zoo
  (``face_detection_yunet_2023mar.onnx``); far more robust to pose and
  light than Haar.
- :class:`MMDetFaceDetector`: any mmdet detector given as config +
  checkpoint (mmpose's demo convention ``--det-config --det-checkpoint``),
  when mmdet is installed.
"""
import os.path as osp
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from s2d_mm.registry import FACE_DETECTORS

__all__ = [
    'BaseFaceDetector', 'HaarFaceDetector', 'YuNetFaceDetector',
    'MMDetFaceDetector', 'FaceDetectorSetupError', 'build_face_detector'
]


class FaceDetectorSetupError(RuntimeError):
    """A face detector cannot be set up (missing package, file or OpenCV
    feature); the message names what is missing."""


class BaseFaceDetector:
    """Interface of the face detectors.

    Subclasses implement :meth:`detect`. Calling the detector returns the
    boxes only, largest first, which is what
    :func:`~s2d_mm.video_analysis.face_crop.clip_face_box` takes.
    """

    def detect(self, frame: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Faces of one BGR frame ``(H, W, 3)`` uint8.

        Returns:
            tuple: boxes ``(K, 4)`` float32 ``(x1, y1, x2, y2)`` in pixels
            and scores ``(K, )`` float32 (higher is surer; the scale is the
            detector's own).
        """
        raise NotImplementedError

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        boxes, _ = self.detect(frame)
        if len(boxes) == 0:
            return np.zeros((0, 4), np.float32)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return boxes[np.argsort(-area, kind='stable')]

    @staticmethod
    def _downscaled(frame: np.ndarray, max_side: Optional[int]):
        """``frame`` shrunk so that its longer side is at most ``max_side``
        (detection cost grows with the pixel count), and the scale to
        divide the boxes by."""
        h, w = frame.shape[:2]
        if not max_side or max(h, w) <= max_side:
            return frame, 1.0
        scale = max_side / max(h, w)
        return cv2.resize(frame, (max(1, round(w * scale)),
                                  max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA), scale

    @staticmethod
    def _empty() -> Tuple[np.ndarray, np.ndarray]:
        return np.zeros((0, 4), np.float32), np.zeros((0, ), np.float32)


@FACE_DETECTORS.register_module()
class HaarFaceDetector(BaseFaceDetector):
    """OpenCV Haar cascade face detector.

    Scores are the numbers of overlapping raw detections behind each box
    (``detectMultiScale2``), OpenCV's own measure of confidence.

    Args:
        cascade (str): File name inside ``cv2.data.haarcascades`` or a path
            to a cascade XML. Defaults to the frontal-face default cascade.
        scale_factor (float): Image pyramid step of ``detectMultiScale``.
        min_neighbors (int): Overlapping detections needed to keep one.
        min_size_ratio (float): Smallest face side as a fraction of the
            frame's shorter side.
    """

    def __init__(self,
                 cascade: str = 'haarcascade_frontalface_default.xml',
                 scale_factor: float = 1.1,
                 min_neighbors: int = 4,
                 min_size_ratio: float = 0.08):
        if not hasattr(cv2, 'CascadeClassifier'):
            raise FaceDetectorSetupError(
                f'HaarFaceDetector needs cv2.CascadeClassifier, which OpenCV '
                f'{cv2.__version__} does not have (OpenCV 5 moved the Haar '
                'cascades out of the main module): install '
                "'opencv-python-headless<5', or use YuNetFaceDetector "
                '(--detector yunet --det-model FILE.onnx)')
        path = cascade
        data_dir = getattr(getattr(cv2, 'data', None), 'haarcascades', '')
        if not osp.isfile(path):
            path = osp.join(data_dir, cascade)
        if not osp.isfile(path):
            raise FaceDetectorSetupError(
                f'Haar cascade {cascade!r} not found (looked in '
                f'{data_dir or "cv2.data.haarcascades"}); is '
                'opencv-python(-headless) < 5 installed with its data files?')
        self.classifier = cv2.CascadeClassifier(path)
        if self.classifier.empty():
            raise FaceDetectorSetupError(
                f'could not load the Haar cascade {path}')
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size_ratio = min_size_ratio

    def detect(self, frame):
        gray = frame if frame.ndim == 2 else cv2.cvtColor(
            frame, cv2.COLOR_BGR2GRAY)
        side = max(16, int(min(gray.shape[:2]) * self.min_size_ratio))
        faces, neighbours = self.classifier.detectMultiScale2(
            gray, scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors, minSize=(side, side))
        if len(faces) == 0:
            return self._empty()
        boxes = np.asarray(faces, np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        return boxes, np.asarray(neighbours, np.float32).reshape(-1)


@FACE_DETECTORS.register_module()
class MTCNNFaceDetector(BaseFaceDetector):
    """MTCNN (:mod:`s2d_mm.video_analysis.mtcnn`), the default detector:
    a CNN cascade whose weights ship inside the ``facenet-pytorch`` wheel,
    so nothing is downloaded and nothing needs registering.

    Args:
        score_thr (float): smallest O-Net face probability kept (0-1).
        min_size_ratio (float): smallest face side searched for, as a
            fraction of the frame's shorter side (at least 20 px); also
            bounds the pyramid, hence the cost.
        max_side (int, optional): frames whose longer side exceeds this are
            downscaled for detection (boxes are mapped back).
        thresholds (tuple): P-, R-, O-Net probability thresholds.
        weights_dir (str, optional): folder with the three weight files
            (an offline copy); default: the installed facenet-pytorch's.
        device (str): where the networks run.
    """

    def __init__(self,
                 score_thr: float = 0.9,
                 min_size_ratio: float = 0.08,
                 max_side: Optional[int] = 640,
                 thresholds: Tuple[float, float, float] = (0.6, 0.7, 0.7),
                 weights_dir: Optional[str] = None,
                 device: str = 'cpu'):
        from .mtcnn import MTCNN
        self.net = MTCNN(weights_dir, thresholds=thresholds, device=device)
        self.score_thr = score_thr
        self.min_size_ratio = min_size_ratio
        self.max_side = max_side
        self.landmarks = np.zeros((0, 5, 2), np.float32)

    def detect(self, frame):
        frame, scale = self._downscaled(frame, self.max_side)
        self.net.min_face = max(20., self.min_size_ratio *
                                min(frame.shape[:2]))
        boxes, scores, marks = self.net(frame[..., ::-1])  # BGR -> RGB
        keep = scores >= self.score_thr
        # the last frame's landmarks, for callers that align faces
        self.landmarks = marks[keep] / scale
        return boxes[keep] / scale, scores[keep]


@FACE_DETECTORS.register_module()
class YuNetFaceDetector(BaseFaceDetector):
    """OpenCV's YuNet CNN face detector (``cv2.FaceDetectorYN``).

    Args:
        model (str): the YuNet ONNX file, e.g.
            ``face_detection_yunet_2023mar.onnx`` from the OpenCV model zoo
            (github.com/opencv/opencv_zoo, ``models/face_detection_yunet``).
        score_thr (float): smallest face score kept (0-1).
        nms_thr (float): IoU of the detector's non-maximum suppression.
        top_k (int): candidates kept before the suppression.
        max_side (int, optional): frames whose longer side exceeds this are
            downscaled for detection (boxes are mapped back); YuNet's cost
            grows with the pixel count. None: detect at full size.
    """

    def __init__(self,
                 model: str,
                 score_thr: float = 0.7,
                 nms_thr: float = 0.3,
                 top_k: int = 100,
                 max_side: Optional[int] = 640):
        if not hasattr(cv2, 'FaceDetectorYN'):
            raise FaceDetectorSetupError(
                f'YuNetFaceDetector needs cv2.FaceDetectorYN (OpenCV >= '
                f'4.5.4); this is OpenCV {cv2.__version__}')
        if not model or not osp.isfile(model):
            raise FaceDetectorSetupError(
                f'YuNet model file not found: {model!r}; download '
                'face_detection_yunet_2023mar.onnx from the OpenCV model zoo '
                '(github.com/opencv/opencv_zoo, models/face_detection_yunet)'
                ' and pass its path (--det-model FILE)')
        try:
            self.net = cv2.FaceDetectorYN.create(model, '', (320, 320),
                                                 score_thr, nms_thr, top_k)
        except cv2.error as err:
            raise FaceDetectorSetupError(
                f'OpenCV cannot load the YuNet model {model}: '
                f'{err.msg.strip() if hasattr(err, "msg") else err}'
            ) from None
        self.model = model
        self.max_side = max_side
        self._size = None

    def detect(self, frame):
        frame, scale = self._downscaled(frame, self.max_side)
        size = (frame.shape[1], frame.shape[0])
        if size != self._size:
            self.net.setInputSize(size)
            self._size = size
        _, faces = self.net.detect(np.ascontiguousarray(frame))
        if faces is None or len(faces) == 0:
            return self._empty()
        # rows: x, y, w, h, 5 landmarks (x, y), score
        faces = np.asarray(faces, np.float32).reshape(-1, 15)
        boxes = faces[:, :4].copy()
        boxes[:, 2:] += boxes[:, :2]
        return boxes / scale, faces[:, 14].copy()


@FACE_DETECTORS.register_module()
class MMDetFaceDetector(BaseFaceDetector):
    """A face detector trained with mmdet, given as config + checkpoint.

    Args:
        config (str): mmdet config file of the detector.
        checkpoint (str): its checkpoint.
        device (str): e.g. ``'cpu'``, ``'cuda:0'``.
        score_thr (float): smallest score kept.
        face_label (int, optional): the class index of faces in the
            detector's classes; None keeps every class (a face-only
            detector).
    """

    def __init__(self,
                 config: str,
                 checkpoint: str,
                 device: str = 'cpu',
                 score_thr: float = 0.5,
                 face_label: Optional[int] = 0):
        try:
            from mmdet.apis import inference_detector, init_detector
        except ImportError as err:
            raise FaceDetectorSetupError(
                'MMDetFaceDetector (--det-config/--det-checkpoint) needs '
                "mmdet, which is not importable here ({err}); install it "
                "with `mim install 'mmdet>=3.0.0'` (its detectors usually "
                'also need the compiled mmcv, not mmcv-lite), or use the '
                'Haar or YuNet detector'.format(err=err)) from None
        for what, path in (('config', config), ('checkpoint', checkpoint)):
            if not path or ('://' not in path and not osp.isfile(path)):
                raise FaceDetectorSetupError(
                    f'mmdet detector {what} not found: {path!r}')
        self._inference = inference_detector
        self.model = init_detector(config, checkpoint, device=device)
        self.score_thr = score_thr
        self.face_label = face_label

    def detect(self, frame):
        result = self._inference(self.model, frame)  # BGR, as mmdet reads
        inst = result.pred_instances
        boxes = inst.bboxes.detach().float().cpu().numpy().reshape(-1, 4)
        scores = inst.scores.detach().float().cpu().numpy().reshape(-1)
        keep = scores >= self.score_thr
        if self.face_label is not None:
            labels = inst.labels.detach().cpu().numpy().reshape(-1)
            keep &= labels == self.face_label
        return boxes[keep].astype(np.float32), scores[keep].astype(np.float32)


def build_face_detector(cfg: Union[None, str, dict, BaseFaceDetector] = None
                        ) -> BaseFaceDetector:
    """A detector from a config dict (``type`` = a registered detector), a
    registered name, or an object (returned as is); None gives the default
    :class:`MTCNNFaceDetector`."""
    if cfg is None:
        return MTCNNFaceDetector()
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if isinstance(cfg, dict):
        # under the caller's default scope (mmaction after init_model)
        from s2d_mm.registry import build_in_scope
        return build_in_scope(FACE_DETECTORS, dict(cfg))
    if callable(cfg):
        return cfg
    raise TypeError(f'a face detector must be a config dict, a name or a '
                    f'callable, got {type(cfg)}')
