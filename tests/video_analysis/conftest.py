"""Videos of real faces for the detection / tracking / timeline tests: the
face of scikit-image's ``astronaut`` photograph (Eileen Collins), twice,
side by side and moving apart, optionally with face-free frames."""
import cv2
import numpy as np
import pytest

from s2d_mm.apis.video_reader import FrameReader

FRAME_SIZE = (180, 320)  # (H, W)


def astronaut_face(width=96):
    """BGR crop of the astronaut's head and shoulders, ``width`` wide."""
    from skimage import data
    face = data.astronaut()[20:240, 130:320, ::-1]  # RGB -> BGR
    height = int(round(width * face.shape[0] / face.shape[1]))
    return cv2.resize(np.ascontiguousarray(face), (width, height),
                      interpolation=cv2.INTER_AREA)


def two_faces_frame(i, n, face, gaps=(), spread=40):
    """Frame ``i`` of ``n``: the face left and its mirror image right of the
    centre, ``spread`` pixels further apart at the end; no face in the
    frames of ``gaps`` (``[(start, stop), ...]``)."""
    h, w = FRAME_SIZE
    frame = np.full((h, w, 3), 200, np.uint8)
    if any(a <= i < b for a, b in gaps):
        return frame
    fh, fw = face.shape[:2]
    d = int(round(i * spread / max(1, n - 1)))
    y = (h - fh) // 2
    x_left = max(0, w // 2 - fw - 4 - d // 2)
    x_right = min(w - fw, w // 2 + 4 + d // 2)
    frame[y:y + fh, x_left:x_left + fw] = face
    frame[y:y + fh, x_right:x_right + fw] = face[:, ::-1]
    return frame


class TwoFacesReader(FrameReader):
    """The two-faces clip rendered on demand (no frame is stored), counting
    what was decoded."""

    def __init__(self, n, fps=25.0, gaps=()):
        super().__init__()
        self.source, self.num_frames, self.fps = '<two faces>', n, fps
        self.face = astronaut_face()
        self.gaps = gaps

    def _decode(self, indices):
        return [two_faces_frame(i, self.num_frames, self.face, self.gaps)
                for i in indices]


def write_video(path, frames, fps=25):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return str(path)


@pytest.fixture(scope='session')
def tiny_s2d(tmp_path_factory):
    """``(config, checkpoint, model)`` of the untrained tiny S2D model
    (4 frames, 32 px, training frame interval 2)."""
    from s2d_testing.tiny import make_tiny_s2d

    from s2d_mm.apis import init_model
    cfg, ckpt = make_tiny_s2d(str(tmp_path_factory.mktemp('tiny_s2d_tl')))
    return cfg, ckpt, init_model(cfg, ckpt, device='cpu')


class FaceVideos:
    """The helpers above, for the tests (a fixture, since conftest modules
    are not imported by name)."""
    FRAME_SIZE = FRAME_SIZE
    Reader = TwoFacesReader
    astronaut_face = staticmethod(astronaut_face)
    frame = staticmethod(two_faces_frame)
    write_video = staticmethod(write_video)

    @staticmethod
    def frames(n, gaps=()):
        face = astronaut_face()
        return [two_faces_frame(i, n, face, gaps) for i in range(n)]


@pytest.fixture(scope='session')
def face_videos():
    return FaceVideos


@pytest.fixture(scope='session')
def two_faces_mp4(tmp_path_factory):
    """2 s at 25 fps, two faces moving apart the whole time."""
    return write_video(tmp_path_factory.mktemp('videos') / 'two_faces.mp4',
                       FaceVideos.frames(50))
