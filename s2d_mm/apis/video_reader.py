"""Frames of a clip read by index, never the whole clip at once.

Inference on one's own videos needs a few frames of a possibly long file:
T frames spread over the clip (:func:`~s2d_mm.apis.inference_video`), or
the frames of the windows of a timeline (:mod:`s2d_mm.video_analysis.timeline`).
The readers here hand out exactly the frames asked for, so the memory a
caller holds depends on how many frames it asks for at a time, not on the
length of the video.

Sources and backends (:func:`open_video`):

- a video file through **decord** (``decord.VideoReader.get_batch``, the
  reader mmaction2's ``DecordInit`` uses; it seeks to the key frame before
  an index, so far-apart indices cost little);
- a video file through **OpenCV** (``cv2.VideoCapture``) when decord is not
  installed or cannot open the file: one sequential pass, frames between the
  asked ones are grabbed (decoded, not converted or kept), which is exact
  for every codec, unlike ``CAP_PROP_POS_FRAMES`` seeking;
- a folder of frame images (natural name order, ``2.png`` before
  ``10.png``): only the asked files are read;
- frames already in memory (a list of BGR arrays).

Every reader returns BGR ``(H, W, 3)`` uint8 frames (OpenCV's order, as the
face detectors and :mod:`s2d_mm.video_analysis.face_crop` expect) and counts the frames
it decoded in :attr:`FrameReader.num_decoded`.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from s2d_mm.datasets.utils import natural_key

__all__ = [
    'FrameReader', 'DecordReader', 'OpenCVReader', 'FrameFolderReader',
    'ArrayReader', 'open_video', 'list_frames', 'VIDEO_EXTENSIONS',
    'IMAGE_EXTENSIONS'
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
                    '.mpeg', '.wmv', '.flv')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_frames(folder: str) -> List[str]:
    """Image files of a frame folder in natural order (2 before 10)."""
    names = [
        n for n in os.listdir(folder)
        if n.lower().endswith(IMAGE_EXTENSIONS)
        and osp.isfile(osp.join(folder, n))
    ]
    return [osp.join(folder, n) for n in sorted(names, key=natural_key)]


class FrameReader:
    """Random access to the frames of one clip.

    Subclasses implement :meth:`_decode` for sorted, unique, in-range
    indices; :meth:`read` and :meth:`iter_frames` add checking, repeated
    indices and the decode count.

    Attributes:
        source (str): what was opened (path, or ``'<frames>'``).
        num_frames (int): frames in the clip.
        fps (float | None): frame rate, None when the source has none
            (frame folders, arrays).
        num_decoded (int): frames decoded so far by this reader (frames
            grabbed and dropped by the OpenCV backend are counted in
            ``num_skipped``).
    """

    source: str = ''
    num_frames: int = 0
    fps: Optional[float] = None

    def __init__(self):
        self.num_decoded = 0
        self.num_skipped = 0

    # -- implemented by the backends -----------------------------------
    def _decode(self, indices: List[int]) -> List[np.ndarray]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the decoder."""

    # -- API -------------------------------------------------------------
    def _check(self, indices) -> np.ndarray:
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        if inds.size and (inds.min() < 0 or inds.max() >= self.num_frames):
            bad = inds[(inds < 0) | (inds >= self.num_frames)][0]
            raise IndexError(f'frame {int(bad)} is out of range: '
                             f'{self.source} has {self.num_frames} frames')
        return inds

    def read(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Frames at ``indices`` (any order, repeats allowed), BGR.

        Each distinct frame is decoded once; the list holds them in the
        order of ``indices``.
        """
        inds = self._check(indices)
        unique = sorted(set(inds.tolist()))
        frames = dict(zip(unique, self._decode(unique))) if unique else {}
        self.num_decoded += len(unique)
        return [frames[i] for i in inds.tolist()]

    def iter_frames(self,
                    indices: Optional[Sequence[int]] = None,
                    chunk_size: int = 16
                    ) -> Iterator[Tuple[int, np.ndarray]]:
        """``(index, frame)`` for the distinct ``indices`` in increasing
        order (all frames when None), decoded ``chunk_size`` at a time: at
        most ``chunk_size`` frames are alive inside the reader."""
        if indices is None:
            unique = list(range(self.num_frames))
        else:
            unique = sorted(set(self._check(indices).tolist()))
        for s in range(0, len(unique), max(1, chunk_size)):
            chunk = unique[s:s + chunk_size]
            frames = self._decode(chunk)
            self.num_decoded += len(chunk)
            yield from zip(chunk, frames)
            del frames

    def __len__(self) -> int:
        return self.num_frames

    def __getitem__(self, index: int) -> np.ndarray:
        """One frame, so that a reader can stand where a list of frames is
        expected (e.g. :func:`~s2d_mm.video_analysis.face_crop.clip_face_box`)."""
        if not isinstance(index, (int, np.integer)):
            raise TypeError('readers take one integer index; use read() for '
                            'several frames')
        if index < 0:
            index += self.num_frames
        return self.read([int(index)])[0]

    def __enter__(self) -> 'FrameReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.source!r}, '
                f'num_frames={self.num_frames}, fps={self.fps})')


class DecordReader(FrameReader):
    """A video file through decord (``get_batch`` on the asked indices).

    Args:
        path (str): video file.
        num_threads (int): decoder threads (0: decord's choice).
    """

    def __init__(self, path: str, num_threads: int = 1):
        super().__init__()
        import decord
        self.source = path
        try:
            self._vr = decord.VideoReader(
                path, ctx=decord.cpu(0), num_threads=num_threads)
        except Exception as err:  # decord raises its own DECORDError
            raise ValueError(f'decord cannot open {path}: '
                             f'{str(err).splitlines()[0]}') from None
        self.num_frames = len(self._vr)
        fps = float(self._vr.get_avg_fps())
        self.fps = fps if fps > 0 else None
        if self.num_frames == 0:
            raise ValueError(f'{path} holds no frames')

    def _decode(self, indices):
        batch = self._vr.get_batch(indices).asnumpy()  # (N, H, W, 3) RGB
        return [np.ascontiguousarray(f[..., ::-1]) for f in batch]

    def close(self):
        self._vr = None


class OpenCVReader(FrameReader):
    """A video file through ``cv2.VideoCapture``, read in one forward pass.

    Frames between the asked ones are grabbed and dropped; asking for an
    index behind the current position reopens the file.

    Args:
        path (str): video file.
    """

    def __init__(self, path: str):
        super().__init__()
        self.source = path
        self._cap = None
        self._pos = 0
        self._open()
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.fps = fps if fps > 0 else None
        if count <= 0:
            # the container does not tell: count in one pass, keeping none
            count = 0
            while self._cap.grab():
                count += 1
            self._open()
        self.num_frames = count
        if count == 0:
            raise ValueError(f'could not read any frame from {path} (not a '
                             'video, or a codec OpenCV cannot decode)')

    def _open(self):
        if self._cap is not None:
            self._cap.release()
        self._cap = cv2.VideoCapture(self.source)
        self._pos = 0
        if not self._cap.isOpened():
            raise ValueError(f'OpenCV cannot open {self.source} (not a '
                             'video, or a codec it cannot decode)')

    def _decode(self, indices):
        if indices[0] < self._pos:
            self._open()
        out = []
        for i in indices:
            while self._pos < i:
                if not self._cap.grab():
                    break
                self._pos += 1
                self.num_skipped += 1
            ok, frame = self._cap.read()
            if not ok:
                raise ValueError(
                    f'{self.source}: frame {i} cannot be decoded (the file '
                    f'announces {self.num_frames} frames)')
            self._pos += 1
            out.append(frame)
        return out

    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FrameFolderReader(FrameReader):
    """A folder of frame images, natural name order; reads only the asked
    files and checks that they share the first frame's size."""

    def __init__(self, folder: str):
        super().__init__()
        self.source = folder
        self.files = list_frames(folder)
        if not self.files:
            raise ValueError(f'{folder} holds no image files '
                             f'({", ".join(IMAGE_EXTENSIONS)})')
        self.num_frames = len(self.files)
        self._shape = None

    def _decode(self, indices):
        out = []
        for i in indices:
            img = cv2.imread(self.files[i], cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'cannot read frame {self.files[i]}')
            if self._shape is None:
                self._shape = img.shape
            elif img.shape != self._shape:
                raise ValueError(
                    f'frames of {self.source} differ in size: '
                    f'{self.files[i]} is {img.shape}, earlier frames '
                    f'{self._shape}')
            out.append(img)
        return out


class ArrayReader(FrameReader):
    """Frames already in memory (BGR ``(H, W, 3)`` arrays)."""

    def __init__(self, frames: Sequence[np.ndarray],
                 fps: Optional[float] = None):
        super().__init__()
        self.source = '<frames>'
        self.frames = list(frames)
        if not self.frames:
            raise ValueError('the clip has no frames')
        for i, f in enumerate(self.frames):
            if not (isinstance(f, np.ndarray) and f.ndim == 3
                    and f.shape[2] == 3):
                raise ValueError(f'frame {i} must be an (H, W, 3) BGR array')
        self.num_frames = len(self.frames)
        self.fps = fps

    def _decode(self, indices):
        return [self.frames[i] for i in indices]


def open_video(source: Union[str, Path, Sequence[np.ndarray], FrameReader],
               backend: str = 'auto') -> FrameReader:
    """A :class:`FrameReader` for a video file, a frame folder or frames.

    Args:
        source: video file, folder of frame images, a sequence of BGR
            frames, or a reader (returned as is).
        backend (str): for video files: ``'decord'``, ``'opencv'`` or
            ``'auto'`` (decord when it is installed and opens the file,
            else OpenCV).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file cannot be decoded (the message names it and
            what each backend said).
    """
    if isinstance(source, FrameReader):
        return source
    if not isinstance(source, (str, Path)):
        return ArrayReader(source)
    source = str(source)
    if osp.isdir(source):
        return FrameFolderReader(source)
    if not osp.isfile(source):
        raise FileNotFoundError(f'video not found: {source}')
    if backend not in ('auto', 'decord', 'opencv'):
        raise ValueError("backend must be 'auto', 'decord' or 'opencv', got "
                         f'{backend!r}')
    errors = []
    if backend in ('auto', 'decord'):
        try:
            return DecordReader(source)
        except ImportError as err:
            if backend == 'decord':
                raise ImportError(
                    'backend=decord needs the decord package '
                    f'(pip install decord): {err}') from None
            errors.append(f'decord is not installed ({err})')
        except ValueError as err:
            if backend == 'decord':
                raise
            errors.append(str(err))
    try:
        return OpenCVReader(source)
    except ValueError as err:
        errors.append(str(err))
    raise ValueError(f'could not read any frame from {source}: ' +
                     '; '.join(errors))
