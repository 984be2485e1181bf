"""Face detectors (MTCNN, Haar, YuNet, mmdet) behind one interface, their setup
errors, and the IoU tracker."""
import os.path as osp
import sys
import types

import cv2
import numpy as np
import pytest
import torch

from s2d_mm.video_analysis.face_detectors import (
    BaseFaceDetector,
    FaceDetectorSetupError,
    HaarFaceDetector,
    MMDetFaceDetector,
    MTCNNFaceDetector,
    YuNetFaceDetector,
    build_face_detector,
)
from s2d_mm.video_analysis.face_tracking import IoUFaceTracker, box_iou


def test_mtcnn_is_the_default_and_finds_only_the_astronauts_face():
    """The whole photograph (face, suit, flag, patches): one face, where
    it is, with landmarks on the eyes, nose and mouth."""
    from skimage import data
    img = np.ascontiguousarray(data.astronaut()[..., ::-1])
    det = build_face_detector(None)
    assert isinstance(det, MTCNNFaceDetector)
    boxes, scores = det.detect(img)
    assert boxes.shape == (1, 4) and scores[0] > 0.99
    x1, y1, x2, y2 = boxes[0]
    assert 170 < x1 < 195 and 255 < x2 < 280 and 55 < y1 < 80
    assert 160 < y2 < 190
    (lx, ly), (rx, ry), (nx, ny), (ml, _), (mr, my) = det.landmarks[0]
    assert 195 < lx < 215 and 240 < rx < 255 and 95 < ly < 112
    assert lx < nx < rx and ly < ny < my and ml < mr
    # no face in the photo's lower half (suit, flag, patches) or sky
    assert len(det.detect(img[260:])[0]) == 0
    # the same face found on a frame of another size (boxes mapped back)
    big = cv2.resize(img, (1024, 1024))
    b2, _ = det.detect(big)  # downscaled to max_side 640 for detection
    assert len(b2) == 1 and np.abs(b2[0] / 2 - boxes[0]).max() < 8


def test_mtcnn_weights_checked(tmp_path):
    from s2d_mm.video_analysis.mtcnn import MTCNN, mtcnn_weights_dir
    with pytest.raises(FaceDetectorSetupError,
                       match=r'MTCNN weight file not found: .*pnet\.pt'):
        MTCNN(weights_dir=str(tmp_path))
    import shutil
    for name in ('pnet.pt', 'rnet.pt', 'onet.pt'):
        shutil.copy(osp.join(mtcnn_weights_dir(), name), tmp_path / name)
    MTCNN(weights_dir=str(tmp_path))  # an offline copy works
    torch.save({'conv1.weight': torch.zeros(1)}, tmp_path / 'rnet.pt')
    with pytest.raises(FaceDetectorSetupError, match='is not the MTCNN'):
        MTCNN(weights_dir=str(tmp_path))
    with pytest.raises(Exception, match='rnet.pt'):  # mismatch named
        MTCNN(weights_dir=str(tmp_path), check_sha256=False)


def test_mtcnn_without_facenet_pytorch_says_what_to_install(monkeypatch):
    from s2d_mm.video_analysis import mtcnn
    monkeypatch.setattr(mtcnn, 'mtcnn_weights_dir', lambda: None)
    with pytest.raises(FaceDetectorSetupError,
                       match='facenet-pytorch==2.6.0.*--detector haar'):
        build_face_detector(dict(type='MTCNNFaceDetector'))


def test_haar_finds_the_astronauts_face():
    from skimage import data
    img = np.ascontiguousarray(data.astronaut()[..., ::-1])
    det = build_face_detector('HaarFaceDetector')
    boxes, scores = det.detect(img)
    assert len(boxes) >= 1 and scores.shape == (len(boxes), )
    x1, y1, x2, y2 = det(img)[0]  # largest first
    # Eileen Collins' face: eyes near (205, 110) and (245, 105), chin ~170
    assert x1 < 200 and x2 > 250 and y1 < 100 and 150 < y2 < 230


def test_registry_builds_detectors_by_name():
    assert isinstance(build_face_detector('HaarFaceDetector'),
                      HaarFaceDetector)
    det = build_face_detector(dict(type='HaarFaceDetector', min_neighbors=6))
    assert det.min_neighbors == 6
    with pytest.raises(TypeError, match='config dict'):
        build_face_detector(3)


def test_haar_without_cascade_support_says_what_to_install(monkeypatch):
    monkeypatch.delattr(cv2, 'CascadeClassifier', raising=False)  # OpenCV 5
    with pytest.raises(FaceDetectorSetupError,
                       match=r"opencv-python-headless<5.*YuNet"):
        HaarFaceDetector()


def test_yunet_needs_its_model_file(tmp_path):
    missing = str(tmp_path / 'face_detection_yunet_2023mar.onnx')
    with pytest.raises(FaceDetectorSetupError,
                       match='YuNet model file not found.*opencv_zoo'):
        build_face_detector(dict(type='YuNetFaceDetector', model=missing))
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not an onnx model')
    with pytest.raises(FaceDetectorSetupError, match='bad.onnx'):
        YuNetFaceDetector(str(bad))


def _yunet_like_onnx(path, width, height, box, score):
    """An ONNX graph with YuNet's inputs and outputs (cls/obj/bbox/kps at
    strides 8, 16, 32) that always reports one face ``box`` (x, y, w, h at
    the detector's input size) with ``score``; OpenCV's FaceDetectorYN
    decodes it like the real model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    pad_w, pad_h = ((width - 1) // 32 + 1) * 32, ((height - 1) // 32 + 1) * 32
    nodes = [helper.make_node('ReduceMean', ['input'], ['m'], keepdims=0),
             helper.make_node('Mul', ['m', 'zero'], ['z'])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), 'zero')]
    outputs = []
    x, y, w, h = box
    for stride in (8, 16, 32):
        rows, cols = pad_h // stride, pad_w // stride
        arrays = dict(cls=np.zeros((1, rows * cols, 1), np.float32),
                      obj=np.zeros((1, rows * cols, 1), np.float32),
                      bbox=np.zeros((1, rows * cols, 4), np.float32),
                      kps=np.zeros((1, rows * cols, 10), np.float32))
        if stride == 16:
            cx, cy = x + w / 2, y + h / 2
            c, r = int(cx // stride), int(cy // stride)
            arrays['cls'][0, r * cols + c] = score
            arrays['obj'][0, r * cols + c] = score
            arrays['bbox'][0, r * cols + c] = [
                cx / stride - c, cy / stride - r, np.log(w / stride),
                np.log(h / stride)]
        for name, arr in arrays.items():
            out = f'{name}_{stride}'
            inits.append(numpy_helper.from_array(arr, out + '_const'))
            nodes.append(helper.make_node('Add', [out + '_const', 'z'], [out]))
            outputs.append(helper.make_tensor_value_info(
                out, TensorProto.FLOAT, list(arr.shape)))
    graph = helper.make_graph(
        nodes, 'yunet_like', [helper.make_tensor_value_info(
            'input', TensorProto.FLOAT, [1, 3, pad_h, pad_w])], outputs, inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def test_yunet_boxes_and_scores_in_frame_pixels(tmp_path):
    pytest.importorskip('onnx')
    # the detector sees the 160x128 frame at half size (max_side=80)
    path = _yunet_like_onnx(tmp_path / 'yunet_like.onnx', 80, 64,
                            box=(20, 12, 16, 20), score=0.9)
    det = YuNetFaceDetector(path, score_thr=0.5, max_side=80)
    boxes, scores = det.detect(np.zeros((128, 160, 3), np.uint8))
    np.testing.assert_allclose(boxes, [[40, 24, 72, 64]], atol=1e-3)
    np.testing.assert_allclose(scores, [0.9], atol=1e-5)
    assert isinstance(det, BaseFaceDetector) and det(
        np.zeros((128, 160, 3), np.uint8)).shape == (1, 4)
    # below the score threshold: no face
    low = YuNetFaceDetector(path, score_thr=0.95, max_side=80)
    assert len(low.detect(np.zeros((128, 160, 3), np.uint8))[0]) == 0


def test_mmdet_missing_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmdet', None)  # not importable
    monkeypatch.setitem(sys.modules, 'mmdet.apis', None)
    with pytest.raises(FaceDetectorSetupError) as err:
        build_face_detector(dict(type='MMDetFaceDetector', config='det.py',
                                 checkpoint='det.pth'))
    msg = str(err.value)
    assert 'needs mmdet' in msg and "mim install 'mmdet>=3.0.0'" in msg
    assert '--det-config' in msg


def test_mmdet_results_are_filtered(monkeypatch, tmp_path):
    """With mmdet present (a stand-in for its two API functions), detections
    are filtered by score and face label and returned as numpy arrays."""
    cfg, ckpt = tmp_path / 'det.py', tmp_path / 'det.pth'
    cfg.write_text('')
    ckpt.write_bytes(b'')
    inst = types.SimpleNamespace(
        bboxes=torch.tensor([[1., 2., 30., 40.], [5., 5., 9., 9.],
                             [0., 0., 50., 60.]]),
        scores=torch.tensor([0.9, 0.2, 0.8]),
        labels=torch.tensor([0, 0, 1]))
    apis = types.ModuleType('mmdet.apis')
    apis.init_detector = lambda c, k, device: ('model', c, k, device)
    apis.inference_detector = lambda model, frame: types.SimpleNamespace(
        pred_instances=inst)
    monkeypatch.setitem(sys.modules, 'mmdet', types.ModuleType('mmdet'))
    monkeypatch.setitem(sys.modules, 'mmdet.apis', apis)
    det = MMDetFaceDetector(str(cfg), str(ckpt), score_thr=0.5, face_label=0)
    assert det.model == ('model', str(cfg), str(ckpt), 'cpu')
    boxes, scores = det.detect(np.zeros((64, 64, 3), np.uint8))
    np.testing.assert_allclose(boxes, [[1, 2, 30, 40]])
    np.testing.assert_allclose(scores, [0.9], rtol=1e-6)
    with pytest.raises(FaceDetectorSetupError, match='checkpoint not found'):
        MMDetFaceDetector(str(cfg), str(tmp_path / 'nope.pth'))


def test_box_iou():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10],
                                     [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1, 1 / 3, 0]])


def test_tracker_gap_tolerance_and_interpolation():
    """A face missed for K-1 rounds keeps its track; K rounds end it."""
    tracker = IoUFaceTracker(iou_thr=0.3, max_missed=3)
    box = np.array([[10, 10, 50, 50]], np.float32)
    rounds = [(0, box), (5, box + 2), (10, None), (15, None), (20, box + 4),
              (25, None), (30, None), (35, None), (40, box + 6)]
    ids = [tracker.update(f, np.zeros((0, 4)) if b is None else b)
           for f, b in rounds]
    assert [i for i in ids if i] == [[0], [0], [0], [1]]
    tracks = tracker.tracks()
    assert [(t.first_frame, t.last_frame) for t in tracks] == [(0, 20),
                                                               (40, 40)]
    assert tracker.tracks(min_frames=2) == tracks[:1]
    # smoothed (radius 0: raw) and interpolated across the gap
    np.testing.assert_allclose(tracks[0].box_at(12, radius=0),
                               box[0] + 2 + 2 * 7 / 15, atol=1e-4)


def test_tracker_keeps_two_moving_faces_apart():
    tracker = IoUFaceTracker()
    for k in range(10):
        f = 5 * k
        left = [60 - 3 * k, 40, 100 - 3 * k, 80]
        right = [180 + 3 * k, 40, 220 + 3 * k, 80]
        order = [right, left] if k % 2 else [left, right]  # any order
        ids = tracker.update(f, np.array(order, np.float32))
        assert ids == ([1, 0] if k % 2 else [0, 1])
    left, right = tracker.tracks()
    assert len(left.frames) == len(right.frames) == 10


def _track(frames, x, descriptor):
    from s2d_mm.video_analysis import FaceTrack
    t = FaceTrack(0)
    for f in frames:
        t.add(f, np.array([x, 10, x + 20, 30]), 1., descriptor)
    return t


def test_reidentification_by_appearance_then_place():
    from s2d_mm.video_analysis import link_reappearances
    rng = np.random.default_rng(0)
    a, b = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 32)))
    # faces A (left) and B (right) leave; they come back in the other
    # order of creation (B's track is numbered first)
    old = [_track(range(0, 20, 5), 10, a), _track(range(0, 20, 5), 200, b)]
    new = [_track(range(60, 80, 5), 205, b), _track(range(60, 80, 5), 15, a)]
    groups, links = link_reappearances(old + new, max_gap_frames=50)
    assert [[t.boxes[0][0] for t in g] for g in groups] == [[10, 15],
                                                            [200, 205]]
    assert [round(k['similarity'], 3) for k in links] == [1.0, 1.0]
    # a gap longer than max_gap_frames: no link
    assert len(link_reappearances(old + new, max_gap_frames=30)[0]) == 4
    # looking different: no link, whatever the place
    c = np.roll(a, 7)
    far = [_track(range(60, 80, 5), 15, c)]
    assert len(link_reappearances(old[:1] + far, 50)[0]) == 2
    # looking the same (two copies of one picture): the place decides
    twins = [_track(range(60, 80, 5), 205, a), _track(range(60, 80, 5), 15, a)]
    groups, _ = link_reappearances([old[0], _track(range(0, 20, 5), 200, a)]
                                   + twins, 50)
    assert [[t.boxes[0][0] for t in g] for g in groups] == [[10, 15],
                                                            [200, 205]]
