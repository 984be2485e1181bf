"""s2d_mm.apis: init_model / inference_video, face finding and cropping."""
import numpy as np
import pytest
from s2d_testing.tiny import make_tiny_s2d

from demo import DFEW_CLASSES, render_clip, render_scene_clip
from s2d_mm.apis import NoFaceFoundError, inference_video, init_model, sample_frame_indices
from s2d_mm.video_analysis import HaarFaceDetector, MTCNNFaceDetector, clip_face_box, crop_clip


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    cfg, ckpt = make_tiny_s2d(str(tmp_path_factory.mktemp('tiny_s2d')))
    return cfg, ckpt, init_model(cfg, ckpt, device='cpu')


def test_probabilities_of_a_clip(tiny):
    _, _, model = tiny
    clip = render_clip('Happy', np.random.default_rng(0), 10, (48, 48))
    res = inference_video(model, clip['frames'], detect=False)
    assert res['probs'].shape == (7, )
    assert res['probs'].sum() == pytest.approx(1.0, abs=1e-6)
    assert (res['probs'] >= 0).all()
    assert res['classes'] == list(DFEW_CLASSES)
    assert res['pred_class'] == DFEW_CLASSES[int(res['probs'].argmax())]
    # 4 model frames spread over 10 input frames
    assert res['frame_inds'] == [1, 3, 6, 8]
    assert len(res['frames']) == 4 and res['face_box'] is None
    # the model saw exactly those input frames, in order
    for crop, i in zip(res['frames'], res['frame_inds']):
        np.testing.assert_array_equal(crop, clip['frames'][i])
    assert res['num_input_frames'] == 10


def test_frame_folder_is_read_in_natural_order(tiny, tmp_path):
    import cv2

    from s2d_mm.apis import load_clip
    _, _, model = tiny
    clip = render_clip('Angry', np.random.default_rng(4), 12, (48, 48))
    for i, f in enumerate(clip['frames']):
        cv2.imwrite(str(tmp_path / f'{i + 1}.png'), f)  # 1 .. 12, lossless
    frames = load_clip(str(tmp_path))
    assert len(frames) == 12
    for got, want in zip(frames, clip['frames']):
        np.testing.assert_array_equal(got, want)  # 2.png before 10.png
    from_dir = inference_video(model, str(tmp_path), detect=False)['probs']
    in_memory = inference_video(model, clip['frames'], detect=False)['probs']
    np.testing.assert_allclose(from_dir, in_memory, atol=1e-6)


def test_checkpoint_restores_weights(tiny):
    cfg, ckpt, model = tiny
    again = init_model(cfg, ckpt, device='cpu')
    clip = render_clip('Sad', np.random.default_rng(1), 4, (40, 40))
    p1 = inference_video(model, clip['frames'], detect=False)['probs']
    p2 = inference_video(again, clip['frames'], detect=False)['probs']
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    # an untrained model built without the checkpoint predicts otherwise
    fresh = init_model(cfg, None, device='cpu')
    p3 = inference_video(fresh, clip['frames'], detect=False)['probs']
    assert np.abs(p1 - p3).max() > 1e-4


def test_missing_checkpoint_is_named(tiny, tmp_path):
    cfg = tiny[0]
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_model(cfg, str(tmp_path / 'nope.pth'))


def test_sample_frame_indices():
    np.testing.assert_array_equal(sample_frame_indices(16, 8),
                                  [1, 3, 5, 7, 9, 11, 13, 15])
    np.testing.assert_array_equal(sample_frame_indices(3, 6),
                                  [0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match='no frames'):
        sample_frame_indices(0, 4)


def test_haar_finds_the_rendered_face():
    clip = render_scene_clip('Surprise', seed=2, num_frames=8)
    box, info = clip_face_box(clip['frames'], HaarFaceDetector())
    assert sum(h is not None for h in info['hits']) >= 2
    lms = clip['landmarks'].reshape(-1, 2)
    centre = (box[:2] + box[2:]) / 2
    face_w = np.median(clip['landmarks'][:, 16, 0] - clip['landmarks'][:, 0, 0])
    # the clip box is centred on the face and contains all the landmarks
    assert np.abs(centre - lms.mean(0)).max() < 0.3 * face_w
    assert (lms.min(0) >= box[:2]).all() and (lms.max(0) <= box[2:]).all()
    crops = crop_clip(clip['frames'], box, size=64)
    assert len(crops) == 8 and crops[0].shape == (64, 64, 3)


def test_default_detector_is_that_of_extract_faces(tiny):
    """inference_video finds faces with MTCNN unless told otherwise (the
    default of tools/data/extract_faces.py) and crops as it does: a square
    1.3 x the detector's longer box side; Haar stays selectable by name."""
    from s2d_testing.raw_videos import render_video
    _, _, model = tiny
    frames, truth = render_video(
        8, (320, 240), [dict(start=(150, 115), end=(150, 115), side=90)],
        'gravel', seed=1)
    fx1, fy1, fx2, fy2 = truth[0, 0]  # the astronaut's (still) face
    res = inference_video(model, frames)
    assert res['detector'] == 'MTCNNFaceDetector'
    x1, y1, x2, y2 = res['face_box']
    assert x2 - x1 == pytest.approx(y2 - y1, abs=1e-3)
    mtcnn = MTCNNFaceDetector()
    longer = np.median([np.ptp(mtcnn(f)[0].reshape(2, 2), axis=0).max()
                        for f in frames])
    assert x2 - x1 == pytest.approx(1.3 * longer, rel=1e-3)
    assert x1 <= fx1 and y1 <= fy1 and fx2 <= x2 and fy2 <= y2
    haar = inference_video(model, frames, detector='HaarFaceDetector')
    assert haar['detector'] == 'HaarFaceDetector'
    hx1, _, hx2, _ = haar['face_box']
    # Haar frames the face differently: its box is the known square box
    assert hx2 - hx1 == pytest.approx(1.3 * (fx2 - fx1), rel=0.05)
    assert (x2 - x1) / (hx2 - hx1) > 1.08
    assert inference_video(model, frames, detect=False)['detector'] is None


def test_demo_face_is_found_by_the_default_detector():
    """The demo's inference example (demo/run_demo.py) runs the default
    detector on this rendered face: MTCNN finds it in every frame."""
    clip = render_scene_clip('Happy', seed=1, num_frames=16)
    box, info = clip_face_box(clip['frames'])
    assert all(h is not None for h in info['hits'])
    lms = clip['landmarks'].reshape(-1, 2)
    assert (lms.min(0) >= box[:2]).all() and (lms.max(0) <= box[2:]).all()


def test_no_face_raises():
    rng = np.random.default_rng(0)
    frames = [np.full((120, 160, 3), 90, np.uint8) +
              rng.integers(0, 20, (120, 160, 3), dtype=np.uint8)
              for _ in range(6)]
    with pytest.raises(NoFaceFoundError, match='no face found'):
        clip_face_box(frames, HaarFaceDetector())


def test_crop_pads_outside_the_frame():
    frame = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    crop = crop_clip([frame], np.array([-2, -2, 6, 6]))[0]
    assert crop.shape == (8, 8, 3)
    np.testing.assert_array_equal(crop[2:, 2:], frame[:6, :6])
    np.testing.assert_array_equal(crop[0, 2:], frame[0, :6])  # replicated


def test_init_model_config_variable_reaches_its_uses(tmp_path):
    """``init_model(path, cfg_options={'clip_len': ...})``: a top-level
    variable given to the inference API reaches the test pipeline that
    used it (not only the top-level copy)."""
    from s2d_mm.apis.inference import _model_config
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text(
        "clip_len = 4\n"
        "model = dict(type='S2DRecognizer', cls_head=dict(type='S2DHead'))\n"
        "test_pipeline = [dict(type='SampleFrames', clip_len=clip_len)]\n")
    cfg = _model_config(str(cfg_file), {'clip_len': 6})
    assert cfg.test_pipeline[0]['clip_len'] == 6
    assert cfg.clip_len == 6
    # inference reads test_pipeline itself: a part of it is merged
    cfg = _model_config(str(cfg_file), {'test_pipeline.0.clip_len': 2})
    assert cfg.test_pipeline[0]['clip_len'] == 2
    # a part of another variable would reach none of its uses: refused
    from s2d_mm.engine.config_variables import ConfigOverrideError
    cfg_file.write_text(cfg_file.read_text() +
                        "head = dict(num_classes=7)\n")
    with pytest.raises(ConfigOverrideError, match="'head' is a variable"):
        _model_config(str(cfg_file), {'head.num_classes': 3})
