"""MTCNN face detector (Zhang et al., "Joint Face Detection and Alignment
using Multi-task Cascaded Convolutional Networks", IEEE SPL 2016), the
default detector of :mod:`s2d_mm.video_analysis`.

Three small CNNs run as a cascade on an image pyramid:

1. **P-Net** (fully convolutional, 12x12 receptive field, stride 2) scores
   every position of every pyramid level; positions above ``thresholds[0]``
   become candidate boxes, refined by P-Net's box regression and merged by
   non-maximum suppression (NMS);
2. **R-Net** re-scores each candidate from a 24x24 crop, rejects those
   below ``thresholds[1]`` and refines the survivors;
3. **O-Net** does the same from 48x48 crops (``thresholds[2]``) and also
   gives five facial landmarks (eyes, nose, mouth corners).

The weights are the authors' networks as ported to PyTorch by the
``facenet-pytorch`` package (MIT), which ships them as three state-dict
files inside its wheel (``facenet_pytorch/data/{p,r,o}net.pt``). Only those
files are read (``torch.load(weights_only=True)``, checked against their
sha256); the package's code is never imported, so its old torch/numpy pins
do not matter. ``weights_dir=`` points at a folder with the three files
instead (an offline copy).

The network definitions below follow the layer names and shapes of those
files; two details of the port matter for the weights to work: the inputs
are RGB scaled as ``(x - 127.5) / 128``, and R-Net / O-Net flatten their
last feature map in (W, H, C) order (the layout of the TensorFlow model
the port came from).
"""
import hashlib
import importlib.util
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn

__all__ = ['MTCNN', 'PNet', 'RNet', 'ONet', 'mtcnn_weights_dir',
           'MTCNN_WEIGHTS_SHA256']

#: sha256 of the weight files of facenet-pytorch 2.6.0 (the lock's version)
MTCNN_WEIGHTS_SHA256 = {
    'pnet.pt':
    'a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f',
    'rnet.pt':
    'bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86',
    'onet.pt':
    '165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d',
}


class PNet(nn.Module):
    """Proposal network: ``(N, 3, H, W)`` -> face probability
    ``(N, H', W')`` and box offsets ``(N, 4, H', W')``, one cell per 12x12
    window at stride 2."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)  # face / not face
        self.conv4_2 = nn.Conv2d(32, 4, 1)  # box offsets

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_1(x).softmax(1)[:, 1], self.conv4_2(x)


class RNet(nn.Module):
    """Refinement network: crops ``(N, 3, 24, 24)`` -> face probability
    ``(N, )`` and box offsets ``(N, 4)``."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense5_1(x).softmax(1)[:, 1], self.dense5_2(x)


class ONet(nn.Module):
    """Output network: crops ``(N, 3, 48, 48)`` -> face probability
    ``(N, )``, box offsets ``(N, 4)`` and landmarks ``(N, 10)`` (five x
    then five y, relative to the box)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return (self.dense6_1(x).softmax(1)[:, 1], self.dense6_2(x),
                self.dense6_3(x))


def mtcnn_weights_dir() -> Optional[str]:
    """Folder of the MTCNN weight files inside the installed
    ``facenet-pytorch`` (found without importing it), or None."""
    try:
        spec = importlib.util.find_spec('facenet_pytorch')
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return osp.join(list(spec.submodule_search_locations)[0], 'data')


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def _nms(boxes: torch.Tensor, scores: torch.Tensor, thr: float,
         mode: str = 'union') -> torch.Tensor:
    """Indices kept by greedy NMS, best first. ``mode='min'`` measures the
    overlap by the smaller box's area, which also removes a box nested in
    a better one (O-Net's last step)."""
    if mode == 'union':
        from torchvision.ops import nms
        return nms(boxes, scores, thr)
    order = scores.argsort(descending=True)
    boxes = boxes[order]
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(1)
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    overlap = inter / torch.minimum(area[:, None], area[None]).clamp(min=1e-6)
    keep = []
    removed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in range(len(boxes)):
        if removed[i]:
            continue
        keep.append(i)
        removed |= overlap[i] > thr
    return order[torch.tensor(keep, dtype=torch.long)]


def _squared(boxes: torch.Tensor) -> torch.Tensor:
    """Boxes made square around their centres (side = the longer side)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).max(1, keepdim=True).values / 2
    return torch.cat([centre - half, centre + half], 1)


def _regressed(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Boxes moved by the networks' offsets (fractions of width/height)."""
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    return boxes + offsets * wh


class MTCNN(nn.Module):
    """The three-stage cascade on one image.

    Args:
        weights_dir (str, optional): folder with ``pnet.pt``, ``rnet.pt``,
            ``onet.pt``; default: the installed facenet-pytorch's.
        thresholds (tuple): face probability kept after P-, R- and O-Net.
        min_face (float): smallest face side in pixels searched for (the
            pyramid's first scale is ``12 / min_face``).
        factor (float): scale step between pyramid levels.
        device (str): where the networks run.
        check_sha256 (bool): refuse weight files other than those of
            :data:`MTCNN_WEIGHTS_SHA256`.
    """

    def __init__(self,
                 weights_dir: Optional[str] = None,
                 thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 min_face: float = 20.,
                 factor: float = 0.709,
                 device: str = 'cpu',
                 check_sha256: bool = True):
        super().__init__()
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
        self.thresholds = tuple(float(t) for t in thresholds)
        self.min_face = float(min_face)
        self.factor = float(factor)
        self.load_weights(weights_dir, check_sha256)
        self.eval().requires_grad_(False).to(device)
        self.device = torch.device(device)

    def load_weights(self, weights_dir: Optional[str],
                     check_sha256: bool = True) -> None:
        from .face_detectors import FaceDetectorSetupError
        folder = weights_dir or mtcnn_weights_dir()
        if folder is None:
            raise FaceDetectorSetupError(
                'the MTCNN face detector needs the weight files of the '
                "'facenet-pytorch' package, which is not installed: "
                '`python -m pip install --no-deps facenet-pytorch==2.6.0` '
                '(only its data files are used), or pass weights_dir= (a '
                'folder with pnet.pt, rnet.pt, onet.pt), or use the Haar '
                'detector (--detector haar)')
        from s2d_mm.utils.state_dict_fit import load_state_dict_checked
        for name, net in (('pnet.pt', self.pnet), ('rnet.pt', self.rnet),
                          ('onet.pt', self.onet)):
            path = osp.join(folder, name)
            if not osp.isfile(path):
                raise FaceDetectorSetupError(
                    f'MTCNN weight file not found: {path}')
            if check_sha256 and _sha256(path) != MTCNN_WEIGHTS_SHA256[name]:
                raise FaceDetectorSetupError(
                    f'{path} is not the MTCNN weight file this detector was '
                    f'checked with (sha256 {MTCNN_WEIGHTS_SHA256[name]}); '
                    'install facenet-pytorch==2.6.0, or pass '
                    'check_sha256=False to use it anyway')
            state = torch.load(path, map_location='cpu', weights_only=True)
            load_state_dict_checked(net, state, path)

    def _level_candidates(self, rgb: np.ndarray, scale: float):
        """P-Net's boxes ``(K, 4)`` and scores at one pyramid level of
        ``rgb`` ``(H, W, 3)`` uint8."""
        h, w = rgb.shape[:2]
        # OpenCV's area resampling: several times faster than torch's here
        level = cv2.resize(rgb, (int(w * scale + 1), int(h * scale + 1)),
                           interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(level).to(self.device).permute(2, 0, 1)[None]
        prob, offsets = self.pnet((x.float() - 127.5) / 128.)
        ys, xs = torch.nonzero(prob[0] >= self.thresholds[0], as_tuple=True)
        if len(ys) == 0:
            return prob.new_zeros((0, 4)), prob.new_zeros((0, ))
        # cell (y, x) sees the 12x12 window at (2x, 2y) of the scaled image
        corner = torch.stack([xs, ys], 1).to(prob.dtype) * 2
        boxes = torch.cat([corner, corner + 12], 1) / scale
        boxes = _regressed(boxes, offsets[0, :, ys, xs].T)
        scores = prob[0, ys, xs]
        keep = _nms(boxes, scores, 0.5)
        return boxes[keep], scores[keep]

    @staticmethod
    def _crops(img: torch.Tensor, boxes: torch.Tensor, size: int):
        """``size x size`` crops of ``boxes`` (zero outside the image),
        averaged over each output pixel's area, normalised."""
        from torchvision.ops import roi_align
        rois = torch.cat([boxes.new_zeros((len(boxes), 1)), boxes], 1)
        crops = roi_align(img, rois, (size, size), spatial_scale=1.,
                          sampling_ratio=-1, aligned=True)
        return (crops - 127.5) / 128.

    @torch.no_grad()
    def forward(self, rgb: np.ndarray
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces of one RGB image ``(H, W, 3)`` uint8.

        Returns:
            tuple: boxes ``(K, 4)`` (x1, y1, x2, y2), O-Net's face
            probabilities ``(K, )`` and landmarks ``(K, 5, 2)`` (x, y:
            eyes, nose, mouth corners), as float32 arrays, best first.
        """
        rgb = np.ascontiguousarray(rgb)
        img = torch.from_numpy(rgb).to(
            self.device).permute(2, 0, 1)[None].float()
        h, w = rgb.shape[:2]
        empty = (np.zeros((0, 4), np.float32), np.zeros((0, ), np.float32),
                 np.zeros((0, 5, 2), np.float32))
        # stage 1: the pyramid, from faces of min_face px to the whole image
        scale, levels = 12. / self.min_face, []
        while min(h, w) * scale >= 12:
            levels.append(self._level_candidates(rgb, scale))
            scale *= self.factor
        if not levels:
            return empty
        boxes = torch.cat([b for b, _ in levels])
        scores = torch.cat([s for _, s in levels])
        if len(boxes) == 0:
            return empty
        keep = _nms(boxes, scores, 0.7)
        boxes = _squared(boxes[keep])
        # stage 2: R-Net on 24x24 crops
        prob, offsets = self.rnet(self._crops(img, boxes, 24))
        keep = prob >= self.thresholds[1]
        boxes, prob, offsets = boxes[keep], prob[keep], offsets[keep]
        if len(boxes) == 0:
            return empty
        keep = _nms(boxes, prob, 0.7)
        boxes = _squared(_regressed(boxes[keep], offsets[keep]))
        # stage 3: O-Net on 48x48 crops, landmarks
        prob, offsets, marks = self.onet(self._crops(img, boxes, 48))
        keep = prob >= self.thresholds[2]
        boxes, prob, offsets, marks = (boxes[keep], prob[keep],
                                       offsets[keep], marks[keep])
        if len(boxes) == 0:
            return empty
        wh = boxes[:, 2:] - boxes[:, :2]
        marks = torch.stack([marks[:, :5], marks[:, 5:]], -1) * \
            wh[:, None] + boxes[:, None, :2]
        boxes = _regressed(boxes, offsets)
        keep = _nms(boxes, prob, 0.7, mode='min')
        return tuple(t[keep].float().cpu().numpy().astype(np.float32)
                     for t in (boxes, prob, marks))
