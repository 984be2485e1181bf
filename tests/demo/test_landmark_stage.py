"""The demo's landmark stage: trained on a small generated set, every frame's
prediction stays on the face, and the Runner's figures are the ones a direct
``inference_topdown`` gives.

Training the demo config (its own schedule) on 4 clips a class takes ~15 s on
one thread: 48 iterations. Without the mean-shape start of the head
(``demo/landmark_init.py``) those 48 iterations leave the output BatchNorm
near its random start: ~11 px mean error on 64-px frames, worse than the
constant mean face (3.2 px), and whether landmarks leave the box then
depends on the CPU's rounding (all frames on an Intel AMX machine, none or
all here depending on the run). With it the net starts at the mean face.

Margin, over 3 seeds (``S2D_TEST_SEED`` 0-2) x {1, 2} threads
(``S2D_TEST_THREADS``) x {default kernels, AVX2-held, AVX512_CORE} on a
2-core AMD EPYC (AVX-512 + AVX512_BF16), see docs/testing.md:

- every landmark of every frame (train and test) stays 19.6-21.2 % of the
  box size inside the box (asserted: no more than 10 % outside);
- mean error 3.48-3.77 px (asserted: < 8 px; before the mean-shape start,
  11 px), largest per-frame error 5.25-5.76 px, NME 0.162-0.170
  (asserted: < 0.4; before, 0.49);
- kernels and threads move these in the third digit; the seeds differ more.

(Re-measured on the 18-cell grid after issue 20 changed the demo's
Surprise/Fear curves; before: 19.5-21.2 %, 3.2-3.8 px, 5.3-6.9 px,
0.163-0.170.)
"""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from demo import generate_dataset, stages
from demo.landmark_init import mean_shape
from s2d_mm.evaluation import frame_errors, outside_box

SMALL = dict(clips_per_class=4, num_frames=8, img_size=64,
             stills_per_class=0, landmark_stride=1, seed=0, progress=False)
MARGIN = 0.1  # of the box size, each side


@pytest.fixture(scope='module')
def trained(tmp_path_factory, train_seed):
    root = str(tmp_path_factory.mktemp('landmark_data'))
    generate_dataset(root, **dict(SMALL, seed=train_seed))
    work = str(tmp_path_factory.mktemp('landmark_work'))
    lm = stages.train_landmark(root, work, seed=train_seed)
    return root, lm


def _predict(root, checkpoint, split):
    """Landmarks of every frame of ``split`` by mmpose's own top-down
    inference on the annotated box; returns pred, gt, boxes."""
    from mmpose.apis import inference_topdown, init_model
    model = init_model(Config.fromfile(stages.LANDMARK_CONFIG), checkpoint,
                       device='cpu')
    with open(osp.join(root, 'landmarks', f'{split}.json')) as f:
        coco = json.load(f)
    anns = {a['image_id']: a for a in coco['annotations']}
    preds, gts, boxes = [], [], []
    for img in coco['images']:
        ann = anns[img['id']]
        x, y, w, h = ann['bbox']
        box = np.array([[x, y, x + w, y + h]], np.float32)
        res = inference_topdown(model, osp.join(root, img['file_name']),
                                bboxes=box, bbox_format='xyxy')
        preds.append(res[0].pred_instances.keypoints[0])
        gts.append(np.array(ann['keypoints'], np.float64).reshape(-1, 3)[:, :2])
        boxes.append(box[0])
    return np.stack(preds), np.stack(gts), np.stack(boxes)


def test_mean_shape_is_read_in_the_normalised_input_frame():
    # a 40x20 box centred at (50, 30) is widened to 40x40 (square input)
    info = dict(keypoints=np.array([[[30., 30.], [60., 40.]]]),
                bbox_center=np.array([[50., 30.]]),
                bbox_scale=np.array([[40., 20.]]),
                flip_indices=[1, 0])
    mean, std = mean_shape([info], (64, 64), flip=False)
    np.testing.assert_allclose(mean, [0.0, 0.5, 0.75, 0.75])
    assert mean.shape == std.shape == (4, ) and not std.any()
    # mirrored: left/right swapped and x -> 1 - x, averaged with the face
    mean, std = mean_shape([info], (64, 64))
    np.testing.assert_allclose(mean, [0.125, 0.625, 0.875, 0.625])
    np.testing.assert_allclose(std, [0.125] * 4)
    with pytest.raises(ValueError, match='no training annotations'):
        mean_shape([], (64, 64))


def test_the_stage_uses_frozen_batch_norm_epochs():
    cfg = Config.fromfile(stages.LANDMARK_CONFIG)
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'FrozenBatchNormHook']
    assert len(hooks) == 1
    assert 0 < hooks[0]['begin_epoch'] < cfg.train_cfg.max_epochs
    # a shorter or longer run (--landmark-epochs) keeps a frozen phase
    for epochs in (2, 5, 30):
        stages._set_epochs(cfg, epochs)
        assert 0 < hooks[0]['begin_epoch'] < epochs


@pytest.mark.trains
@pytest.mark.parametrize('split', ['train', 'test'])
def test_no_frame_is_predicted_off_the_face(trained, split):
    root, lm = trained
    pred, _, boxes = _predict(root, lm['checkpoint'], split)
    assert np.isfinite(pred).all()
    off = outside_box(pred, boxes, MARGIN)
    assert not off.any(), (
        f'{off.sum()} of {len(off)} {split} frames have landmarks more than '
        f'{MARGIN:.0%} outside their box; range {pred.min():.0f}..'
        f'{pred.max():.0f} px on {SMALL["img_size"]}-px frames')
    # and the Runner's own check of the test frames says the same
    assert lm['frame_error']['outside_box'] == 0.0


@pytest.mark.trains
def test_runner_figures_match_direct_inference(trained):
    root, lm = trained
    pred, gt, _ = _predict(root, lm['checkpoint'], 'test')
    # 300-W inter-ocular NME: outer eye corners 36 and 45
    inter_ocular = np.linalg.norm(gt[:, 36] - gt[:, 45], axis=-1)
    dist = np.linalg.norm(pred - gt, axis=-1)
    nme = float((dist / inter_ocular[:, None]).mean())
    epe = float(dist.mean())
    per_frame = frame_errors(pred, gt)
    assert lm['NME'] == pytest.approx(nme, rel=1e-4)
    assert lm['EPE'] == pytest.approx(epe, rel=1e-4)
    fe = lm['frame_error']
    assert fe['median'] == pytest.approx(np.median(per_frame), rel=1e-4)
    assert fe['mean'] == pytest.approx(per_frame.mean(), rel=1e-4)
    assert fe['max'] == pytest.approx(per_frame.max(), rel=1e-4)
    assert fe['over_10px'] == pytest.approx(100 * np.mean(per_frame > 10))
    # a network at least at the mean face (3.2-3.6 px here), not the
    # 11 px of a head still near its random start
    assert nme < 0.4 and epe < 0.125 * SMALL['img_size']
