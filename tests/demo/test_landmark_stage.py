"""The demo's landmark stage: trained on a small generated set, every frame's
prediction stays on the face, and the Runner's figures are the ones a direct
``inference_topdown`` gives.

Training the demo config (its own schedule) on 4 clips a class takes ~15 s on
one thread. Without the config's FrozenBatchNormHook the same run puts
landmarks of ~30 % of the test frames outside the image (the failure seen
in `make demo`), so the off-the-face test fails on that regression.
"""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from demo import generate_dataset, stages
from s2d_mm.evaluation import frame_errors, outside_box

SMALL = dict(clips_per_class=4, num_frames=8, img_size=64,
             stills_per_class=0, landmark_stride=1, seed=0, progress=False)
MARGIN = 0.1  # of the box size, each side


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('landmark_data'))
    generate_dataset(root, **SMALL)
    work = str(tmp_path_factory.mktemp('landmark_work'))
    lm = stages.train_landmark(root, work)
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


def test_the_stage_uses_frozen_batch_norm_epochs():
    cfg = Config.fromfile(stages.LANDMARK_CONFIG)
    hooks = [h for h in cfg.custom_hooks if h['type'] == 'FrozenBatchNormHook']
    assert len(hooks) == 1
    assert 0 < hooks[0]['begin_epoch'] < cfg.train_cfg.max_epochs
    # a shorter or longer run (--landmark-epochs) keeps a frozen phase
    for epochs in (2, 5, 30):
        stages._set_epochs(cfg, epochs)
        assert 0 < hooks[0]['begin_epoch'] < epochs


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
    # a trained network, not the mean face: well under the frame size
    assert nme < 1.0 and epe < 0.3 * SMALL['img_size']
