"""s2d_mm.apis.video_reader: frames by index from files, folders, arrays;
inference_video on a long video decodes only the frames it uses."""
import cv2
import numpy as np
import pytest
from s2d_testing.tiny import make_tiny_s2d

from s2d_mm.apis import inference_video, init_model, sample_frame_indices
from s2d_mm.apis.video_reader import (
    ArrayReader,
    DecordReader,
    FrameFolderReader,
    FrameReader,
    OpenCVReader,
    open_video,
)


def numbered_frame(i, size=(64, 80)):
    """A frame whose index (0-255) can be read back from its pixels after
    lossy compression: four regions hold its base-4 digits as grey levels."""
    h, w = size
    f = np.zeros((h, w, 3), np.uint8)
    f[:, :w // 2] = 40 + 50 * (i % 4)
    f[:, w // 2:] = 40 + 50 * ((i // 4) % 4)
    f[:8] = 40 + 50 * ((i // 16) % 4)
    f[h - 8:] = 40 + 50 * ((i // 64) % 4)
    return f


def frame_number(frame):
    h, w = frame.shape[:2]
    regions = [(16, h - 16, 0, w // 2), (16, h - 16, w // 2, w),
               (0, 6, 0, w), (h - 6, h, 0, w)]
    digits = [int(round((float(np.median(frame[r0:r1, c0:c1])) - 40) / 50))
              for (r0, r1, c0, c1) in regions]
    return sum(d * 4**k for k, d in enumerate(digits))


def write_numbered_video(path, n, fps=25):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (80, 64))
    assert writer.isOpened()
    for i in range(n):
        writer.write(numbered_frame(i))
    writer.release()
    return str(path)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    return write_numbered_video(tmp_path_factory.mktemp('vr') / 'v.mp4', 60)


@pytest.mark.parametrize('backend', ['decord', 'opencv'])
def test_reads_the_asked_frames(video, backend):
    reader = open_video(video, backend=backend)
    assert isinstance(reader, DecordReader if backend == 'decord' else
                      OpenCVReader)
    assert reader.num_frames == 60 and reader.fps == pytest.approx(25)
    inds = [50, 3, 3, 17, 59, 0]
    frames = reader.read(inds)
    assert [frame_number(f) for f in frames] == inds
    assert frames[0].shape == (64, 80, 3) and frames[0].dtype == np.uint8
    assert reader.num_decoded == 5  # the repeated 3 is decoded once
    got = [(i, frame_number(f)) for i, f in
           reader.iter_frames([40, 10, 41, 10], chunk_size=2)]
    assert got == [(10, 10), (40, 40), (41, 41)]
    assert reader.num_decoded == 8
    assert frame_number(reader[-1]) == 59
    with pytest.raises(IndexError, match='frame 60 is out of range'):
        reader.read([60])
    reader.close()


def test_decord_and_opencv_give_the_same_pixels(video):
    a = open_video(video, backend='decord').read([0, 31, 59])
    b = open_video(video, backend='opencv').read([0, 31, 59])
    for x, y in zip(a, b):
        assert np.abs(x.astype(int) - y.astype(int)).mean() < 1.0


def test_folder_and_array_readers(tmp_path):
    for i in [1, 2, 10]:  # natural order: 2 before 10
        cv2.imwrite(str(tmp_path / f'{i}.png'), numbered_frame(i))
    reader = open_video(str(tmp_path))
    assert isinstance(reader, FrameFolderReader) and reader.fps is None
    assert [frame_number(f) for f in reader.read([2, 0, 1])] == [10, 1, 2]
    arr = open_video([numbered_frame(i) for i in range(4)])
    assert isinstance(arr, ArrayReader) and len(arr) == 4
    assert frame_number(arr.read([3])[0]) == 3
    assert open_video(arr) is arr
    with pytest.raises(ValueError, match='frame 1 must be an'):
        open_video([numbered_frame(0), np.zeros((4, 4))])


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        open_video(str(tmp_path / 'missing.mp4'))
    bad = tmp_path / 'broken.mp4'
    bad.write_bytes(b'not a video')
    with pytest.raises(ValueError, match='broken.mp4'):
        open_video(str(bad))
    cv2.imwrite(str(tmp_path / '1.png'), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / '2.png'), np.zeros((9, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='differ in size'):
        open_video(str(tmp_path)).read([0, 1])


class CountingReader(FrameReader):
    """A long generated clip that records which frames were decoded."""

    def __init__(self, n):
        super().__init__()
        self.source, self.num_frames, self.fps = '<generated>', n, 25.0
        self.decoded = []

    def _decode(self, indices):
        self.decoded.extend(indices)
        return [numbered_frame(i % 256) for i in indices]


def test_inference_on_a_long_video_decodes_only_the_sampled_frames(
        tmp_path, monkeypatch):
    cfg, ckpt = make_tiny_s2d(str(tmp_path))
    model = init_model(cfg, ckpt)
    reader = CountingReader(25 * 60 * 10)  # 10 minutes at 25 fps
    res = inference_video(model, reader, detect=False)
    want = sample_frame_indices(reader.num_frames, 4).tolist()
    assert res['frame_inds'] == want
    assert sorted(reader.decoded) == want  # nothing else was decoded
    assert res['num_input_frames'] == 15000
    # a real file: the reader behind inference_video decodes the same 4
    path = write_numbered_video(tmp_path / 'long.mp4', 200)
    seen = []
    original = DecordReader._decode

    def spy(self, indices):
        seen.extend(indices)
        return original(self, indices)

    monkeypatch.setattr(DecordReader, '_decode', spy)
    res = inference_video(model, path, detect=False)
    assert seen == sample_frame_indices(200, 4).tolist() == res['frame_inds']
    assert [frame_number(f) for f in res['frames']] == res['frame_inds']
