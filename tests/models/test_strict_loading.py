"""Wrong weights are refused with the keys listed; partial loads are explicit.

Covers the checker (s2d_mm.utils.state_dict_fit), ``init_model`` (and so
tools/infer.py) and the image-stage -> video-stage handoff
(``init_cfg=dict(type='ImageStageInit', ...)``).
"""
import logging
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS as ACTION_MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from s2d_testing.tiny import make_tiny_s2d

import s2d_mm  # noqa: F401
from s2d_mm.apis import init_model
from s2d_mm.models.utils import StageTransferError
from s2d_mm.utils.state_dict_fit import CheckpointMismatchError, check_state_dict, diff_state_dict

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
IMG, PATCH, FRAMES, C_L = 32, 8, 4, 16


class _Net(nn.Module):

    def __init__(self, classes=3, width=4):
        super().__init__()
        self.body = nn.ModuleList(nn.Linear(width, width) for _ in range(8))
        self.bn = nn.BatchNorm1d(width)
        self.cls_head = nn.Linear(width, classes)


@pytest.fixture
def log_records():
    """Messages of mmengine's current logger during the test."""
    records = []

    class _Keep(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = _Keep()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


# ---------------------------------------------------------------- checker
def test_diff_lists_the_first_keys_and_counts_the_rest():
    model = _Net()
    sd = _Net(width=4).state_dict()
    for i in range(7):
        del sd[f'body.{i}.weight']
    sd['extra.weight'] = torch.zeros(1)
    sd['body.7.bias'] = torch.zeros(5)
    del sd['bn.num_batches_tracked']  # never required (as in mmengine)
    with pytest.raises(CheckpointMismatchError) as err:
        check_state_dict(sd, model, 'other.pth', hint='HINT')
    msg = str(err.value)
    assert "checkpoint 'other.pth' does not fit the model (_Net)" in msg
    assert '7 missing key(s)' in msg
    assert 'body.0.weight, body.1.weight, body.2.weight, body.3.weight, ' \
        'body.4.weight, ... (2 more)' in msg
    assert '1 unexpected key(s)' in msg and 'extra.weight' in msg
    assert '1 shape mismatch(es): body.7.bias: checkpoint (5,) vs model ' \
        '(4,)' in msg
    assert 'num_batches_tracked' not in msg
    assert msg.endswith('HINT')


def test_partial_load_warns_with_the_list_and_keeps_the_rest(log_records):
    model = _Net()
    before = model.body[0].weight.clone()
    sd = _Net().state_dict()
    del sd['body.0.weight']
    sd['cls_head.weight'] = torch.ones(5, 4)
    to_load, diff = check_state_dict(sd, model, 'part.pth', strict=False)
    assert diff.missing == ['body.0.weight']
    assert [k for k, _, _ in diff.mismatched] == ['cls_head.weight']
    assert 'cls_head.weight' not in to_load
    model.load_state_dict(to_load, strict=False)
    torch.testing.assert_close(model.body[0].weight, before)
    torch.testing.assert_close(model.body[1].weight, sd['body.1.weight'])
    warning = next(m for m in log_records if 'partial load' in m)
    assert "'part.pth'" in warning and 'body.0.weight' in warning
    assert 'cls_head.weight: checkpoint (5, 4) vs model (3, 4)' in warning


def test_head_mismatch_only_when_allowed():
    model = _Net(classes=3)
    sd = _Net(classes=8).state_dict()
    with pytest.raises(CheckpointMismatchError, match='cls_head.weight'):
        check_state_dict(sd, model, 'eight.pth')
    to_load, diff = check_state_dict(sd, model, 'eight.pth',
                                     allow_head_mismatch=True)
    assert not diff and 'cls_head.weight' not in to_load
    assert [k for k, _, _ in diff.skipped_head] == ['cls_head.weight',
                                                   'cls_head.bias']
    # allow_head_mismatch does not excuse the rest of the model
    sd['body.0.weight'] = torch.zeros(2, 2)
    with pytest.raises(CheckpointMismatchError, match='body.0.weight'):
        check_state_dict(sd, model, 'eight.pth', allow_head_mismatch=True)


def test_pos_embed_resized_by_mmpretrain_is_not_a_mismatch():
    """mmpretrain's ViT resizes pos_embed of another image size on load;
    the check sees the state dict as that hook leaves it."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        small = PRETRAIN_MODELS.build(
            dict(type='VisionTransformer', arch=dict(ARCH), img_size=32,
                 patch_size=8))
        large = PRETRAIN_MODELS.build(
            dict(type='VisionTransformer', arch=dict(ARCH), img_size=48,
                 patch_size=8))
    diff = diff_state_dict(small.state_dict(), large)
    assert not diff, diff.describe()
    # a width that no hook can adapt stays a mismatch
    sd = small.state_dict()
    sd['cls_token'] = torch.zeros(1, 1, 16)
    assert [k for k, _, _ in diff_state_dict(sd, large).mismatched] == [
        'cls_token'
    ]


# ------------------------------------------------------------- init_model
@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('strict_init_model')
    cfg, ckpt = make_tiny_s2d(str(root))
    sd = torch.load(ckpt, map_location='cpu', weights_only=True)['state_dict']
    return root, cfg, ckpt, sd


def test_init_model_refuses_another_class_count(tiny):
    root, cfg, _, sd = tiny
    wrong = dict(sd)
    wrong['cls_head.fc_cls.weight'] = torch.zeros(8, 32)
    wrong['cls_head.fc_cls.bias'] = torch.zeros(8)
    path = str(root / 'eight_classes.pth')
    torch.save(dict(state_dict=wrong), path)
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(cfg, path)
    msg = str(err.value)
    assert 'eight_classes.pth' in msg
    assert 'cls_head.fc_cls.weight: checkpoint (8, 32) vs model (7, 32)' in msg
    assert 'allow_head_mismatch=True' in msg
    # fine-tuning to another class set: only the classifier is new
    model = init_model(cfg, path, allow_head_mismatch=True)
    torch.testing.assert_close(model.backbone.layers[0].attn.qkv.weight,
                               sd['backbone.layers.0.attn.qkv.weight'])
    assert model.cls_head.fc_cls.weight.shape == (7, 32)


def test_init_model_refuses_a_missing_prompter(tiny, log_records):
    root, cfg, _, sd = tiny
    lacking = {k: v for k, v in sd.items()
               if not k.startswith('backbone.prompters.1.')}
    path = str(root / 'no_prompter_1.pth')
    torch.save(dict(state_dict=lacking), path)
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(cfg, path)
    msg = str(err.value)
    assert 'no_prompter_1.pth' in msg
    n = len(sd) - len(lacking)
    assert f'{n} missing key(s)' in msg
    assert f'by module: backbone.prompters.1 ({n})' in msg
    # the explicit partial load: same list as a warning, rest loaded
    model = init_model(cfg, path, strict=False)
    assert any('partial load' in m and 'no_prompter_1.pth' in m
               for m in log_records)
    torch.testing.assert_close(model.backbone.prompters[0].proj_out.weight,
                               sd['backbone.prompters.0.proj_out.weight'])


def test_init_model_loads_a_fitting_checkpoint_silently(tiny, log_records):
    _, cfg, ckpt, sd = tiny
    model = init_model(cfg, ckpt)
    got = model.state_dict()
    for key, value in sd.items():
        torch.testing.assert_close(got[key], value, msg=key)
    assert not any('partial load' in m or 'do not match' in m
                   for m in log_records)


# ---------------------------------------------- image stage -> video stage
def _tiny(repo_root, name, **backbone):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'models', name))
    bb = cfg.model.backbone
    bb.update(arch=dict(ARCH), img_size=IMG, patch_size=PATCH,
              landmark=None, landmark_channels=C_L)
    bb.update(backbone)
    head = cfg.model.get('cls_head') or cfg.model.head
    head.update(in_channels=ARCH['embed_dims'], num_classes=3)
    return cfg.model


def _image_checkpoint(repo_root, path, **arch):
    model = _tiny(repo_root, 'vitmcp_vit-base-p16.py',
                  arch=dict(ARCH, **arch))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        image = PRETRAIN_MODELS.build(model)
    image.init_weights()
    torch.save(dict(state_dict=image.state_dict()), path)
    return image.state_dict()


def _video(repo_root, ckpt, **init):
    model = _tiny(repo_root, 's2d_vit-base-p16.py', num_frames=FRAMES,
                  tma=dict(ratio=0.25, num_heads=2),
                  init_cfg=dict(type='ImageStageInit', checkpoint=ckpt,
                                **init))
    with DefaultScope.overwrite_default_scope('mmaction'):
        return ACTION_MODELS.build(model)


def test_image_stage_init_loads_and_names_what_is_new(repo_root, tmp_path,
                                                      log_records):
    ckpt = str(tmp_path / 'image.pth')
    image = _image_checkpoint(repo_root, ckpt)
    video = _video(repo_root, ckpt)
    video.init_weights()
    got = video.state_dict()
    shared = [k for k in image if k.startswith('backbone.')]
    assert any('prompters.1.' in k for k in shared)
    for key in shared:
        # loaded after the blocks' own init (they re-initialise themselves)
        torch.testing.assert_close(got[key], image[key], msg=key)
    note = next(m for m in log_records if m.startswith('static->dynamic'))
    assert 'image.pth' in note
    assert 'prompters.*.tma.' in note and 'temporal_embedding' in note


def test_image_stage_of_another_model_is_refused(repo_root, tmp_path):
    ckpt = str(tmp_path / 'wider_image.pth')
    _image_checkpoint(repo_root, ckpt, embed_dims=48,
                      feedforward_channels=96)
    video = _video(repo_root, ckpt)
    frozen = video.backbone.layers[0].attn.qkv.weight.clone()
    with pytest.raises(StageTransferError) as err:
        video.init_weights()
    msg = str(err.value)
    assert 'wider_image.pth' in msg and 'shape mismatch' in msg
    assert 'cls_token: checkpoint (1, 1, 48) vs model (1, 1, 32)' in msg
    assert 'Resize the pos_embed' not in msg
    # nothing was loaded into the frozen ViT
    torch.testing.assert_close(video.backbone.layers[0].attn.qkv.weight,
                               frozen)


def test_image_stage_lacking_a_prompter_is_refused(repo_root, tmp_path):
    ckpt = str(tmp_path / 'image.pth')
    sd = _image_checkpoint(repo_root, ckpt)
    lacking = {k: v for k, v in sd.items()
               if not k.startswith('backbone.prompters.1.')}
    torch.save(dict(state_dict=lacking), ckpt)
    with pytest.raises(StageTransferError,
                       match=r'missing key\(s\)[\s\S]*prompters\.1\.'):
        _video(repo_root, ckpt).init_weights()
    # explicit partial load
    video = _video(repo_root, ckpt, strict=False)
    video.init_weights()
    torch.testing.assert_close(video.backbone.layers[1].ln1.weight,
                               sd['backbone.layers.1.ln1.weight'])
