import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import DefaultScope
from s2d_testing import tiny_landmark_net
from safetensors.torch import load_file

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import LandmarkFeatureExtractor
from s2d_mm.models.backbones.landmark import IMAGENET_MEAN, IMAGENET_STD
from s2d_mm.registry import MMACTION_MODELS, MMPOSE_MODELS, MMPRETRAIN_MODELS
from s2d_mm.utils.state_dict_fit import CheckpointMismatchError

# A quarter-width MobileFaceNet on 64 px crops: conv_4 (stage 5) is 32x8x8.
TINY = tiny_landmark_net(out_indices=(5, 8), feat_size=4)

HRNET_WFLW = ('mmpose::face_2d_keypoint/topdown_heatmap/wflw/'
              'td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py')


def tiny_extractor(**kwargs):
    kwargs.setdefault('input_size', 64)
    return LandmarkFeatureExtractor(model=copy.deepcopy(TINY), stage=0, **kwargs)


def randomise(module, seed=0):
    """Non-trivial weights and BN statistics, so loading is observable."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=gen)
                tensor.copy_(values + 0.5 if 'running_var' in name else values - 0.5)


def test_builds_from_action_and_pretrain_registries():
    for registry, scope in ((MMACTION_MODELS, 'mmaction'), (MMPRETRAIN_MODELS, 'mmpretrain')):
        with DefaultScope.overwrite_default_scope(scope):
            ext = registry.build(dict(type='LandmarkFeatureExtractor', model=copy.deepcopy(TINY),
                                      stage=0, input_size=64, grid_size=4))
        assert isinstance(ext, LandmarkFeatureExtractor)
        assert ext.out_channels == 32 and ext.feat_size == (8, 8)


@pytest.mark.parametrize('grid_mode', ['resize', 'pool'])
def test_output_on_patch_grid(grid_mode):
    ext = tiny_extractor(grid_size=(4, 4), grid_mode=grid_mode)
    frames = torch.randn(3, 3, 56, 56)
    out = ext(frames)
    assert out.shape == (3, 32, 4, 4)
    native = ext.extract(frames)
    assert native.shape == (3, 32, 8, 8)
    if grid_mode == 'pool':
        expected = F.avg_pool2d(native, 2)
    else:
        expected = F.interpolate(native, size=(4, 4), mode='bilinear', align_corners=False)
    torch.testing.assert_close(out, expected)
    # The per-call grid overrides the configured one (e.g. another ViT size).
    assert ext(frames, grid_size=(7, 7)).shape == (3, 32, 7, 7)


def test_frames_are_resized_align_corners_like_the_release():
    ext = tiny_extractor()
    frames = torch.randn(2, 3, 96, 96)
    resized = F.interpolate(frames, size=(64, 64), mode='bilinear', align_corners=True)
    with torch.no_grad():
        expected = ext.backbone(resized)[0]
    torch.testing.assert_close(ext(frames), expected)


def test_precomputed_features_skip_the_network():
    ext = tiny_extractor(grid_size=4, grid_mode='pool')
    feat = torch.randn(2, 32, 8, 8)
    torch.testing.assert_close(ext(landmark_feat=feat), F.avg_pool2d(feat, 2))
    with pytest.raises(ValueError, match=r'landmark_feat must be \(N, 32, h, w\)'):
        ext(landmark_feat=torch.randn(2, 16, 8, 8))


def test_frozen_and_kept_in_eval_mode():
    class Parent(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Constant', layer='Conv2d', val=0.0))
            self.landmark = tiny_extractor()
            self.proj = torch.nn.Conv2d(32, 8, 1)

    parent = Parent()
    trained = copy.deepcopy(parent.landmark)
    randomise(trained)
    before = trained.state_dict()
    # Weights loaded into the branch (e.g. with an S2D checkpoint) ...
    parent.landmark.load_state_dict(before)
    # ... survive the parent's init_cfg (Constant 0 on every Conv2d).
    parent.init_weights()
    assert (parent.proj.weight == 0).all()
    parent.train()
    ext = parent.landmark
    assert not ext.training
    assert not any(m.training for m in ext.modules())
    assert not any(p.requires_grad for p in ext.parameters())
    frames = torch.randn(2, 3, 64, 64, requires_grad=True)
    out = ext(frames)
    assert not out.requires_grad
    after = ext.state_dict()
    for key, value in before.items():  # weights and BN statistics untouched
        torch.testing.assert_close(after[key], value)


def test_checkpoint_loading(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpose'):
        pose = MMPOSE_MODELS.build(copy.deepcopy(TINY))
    randomise(pose, seed=1)
    # An mmengine checkpoint of the whole pose model ...
    ckpt = str(tmp_path / 'tiny_pose.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=pose.state_dict()), ckpt)
    ext = tiny_extractor(checkpoint=ckpt)
    for key, value in pose.backbone.state_dict().items():
        torch.testing.assert_close(ext.backbone.state_dict()[key], value)
    # ... and a bare, DataParallel-wrapped network in the released layout.
    bare = {'module.' + k.replace('head.', '', 1).replace('backbone.', '', 1): v
            for k, v in pose.state_dict().items()}
    released = str(tmp_path / 'tiny_model_best.pth.tar')
    torch.save(dict(epoch=9, state_dict=bare), released)
    frames = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(tiny_extractor(checkpoint=released)(frames), ext(frames))


def test_released_mobilefacenet_through_the_extractor(repo_root, reference_dir, tmp_path):
    """Release config + released weights + 112 px frames = authors' conv_4."""
    sd = load_file(osp.join(reference_dir, 'mobilefacenet_state_dict.safetensors'))
    io = load_file(osp.join(reference_dir, 'mobilefacenet_io.safetensors'))
    ckpt = str(tmp_path / 'mobilefacenet_model_best.pth.tar')
    torch.save(dict(state_dict=sd), ckpt)
    ext = LandmarkFeatureExtractor(
        model=osp.join(repo_root, 'configs/_base_/models/landmark_mobilefacenet.py'),
        checkpoint=ckpt, out_indices=(5, ), grid_size=(14, 14))
    assert ext.out_channels == 128 and ext.input_size == (112, 112)
    torch.testing.assert_close(ext(io['image']), io['landmark_feat'], atol=1e-4, rtol=0)


def test_model_normalisation_undoes_the_vit_one():
    """'model' mode: ViT-normalised RGB -> the pose model's BGR / 255."""
    ext = tiny_extractor(input_norm='model')
    rgb255 = torch.rand(2, 3, 64, 64) * 255
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = ext.backbone(rgb255.flip(1) / 255)[0]
    torch.testing.assert_close(ext((rgb255 - mean) / std), expected, atol=1e-5, rtol=1e-4)
    # The release mode feeds the normalised frames as they are.
    release = tiny_extractor()
    with torch.no_grad():
        assert not torch.allclose(release((rgb255 - mean) / std), expected, atol=1e-3)


def test_errors():
    with pytest.raises(IndexError, match='stage 2 is out of range.*returns 2 map'):
        LandmarkFeatureExtractor(model=copy.deepcopy(TINY), stage=2, input_size=64)
    with pytest.raises(FileNotFoundError, match='landmark checkpoint not found: /no/such.pth'):
        tiny_extractor(checkpoint='/no/such.pth')
    with pytest.raises(FileNotFoundError, match='landmark model config not found'):
        LandmarkFeatureExtractor(model='/no/such_config.py')
    with pytest.raises(ValueError, match='no codec input_size'):
        LandmarkFeatureExtractor(model=copy.deepcopy(TINY))
    with pytest.raises(ValueError, match="grid_mode must be 'resize' or 'pool'"):
        tiny_extractor(grid_mode='nearest')


def test_mismatched_checkpoint_names_the_file(tmp_path):
    with DefaultScope.overwrite_default_scope('mmpose'):
        other = MMPOSE_MODELS.build(dict(copy.deepcopy(TINY), backbone=dict(
            type='MobileFaceNet', widen_factor=0.5, num_blocks=(1, 1, 1))))
    ckpt = str(tmp_path / 'wider.pth')
    torch.save(dict(state_dict=other.state_dict()), ckpt)
    with pytest.raises(CheckpointMismatchError,
                       match=r"wider.pth' does not fit[\s\S]*shape mismatch"):
        tiny_extractor(checkpoint=ckpt)


def test_mmpose_hrnetv2_face_config_builds():
    ext = LandmarkFeatureExtractor(model=HRNET_WFLW, stage=0, grid_size=14,
                                   init_from_config=False, input_norm='model')
    assert ext.input_size == (256, 256)
    assert ext.out_channels == 18 and ext.feat_size == (64, 64)
    # Same ImageNet statistics and RGB on both sides: the remap is the identity.
    torch.testing.assert_close(ext.input_scale.flatten(), torch.ones(3))
    torch.testing.assert_close(ext.input_shift.flatten(), torch.zeros(3))


def test_channels_last_and_reduced_precision():
    frames = torch.randn(2, 3, 64, 64)
    ext = tiny_extractor()
    reference = ext(frames)
    cl = tiny_extractor(channels_last=True)
    cl.load_state_dict(ext.state_dict())
    torch.testing.assert_close(cl(frames), reference, atol=1e-5, rtol=1e-4)
    # Under autocast the network runs in bf16; the output keeps the frames' dtype.
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = ext(frames)
    assert out.dtype == torch.float32
    assert (out - reference).abs().max() < 0.05 * reference.abs().max()
    # A parent cast to bf16 casts the branch too.
    half = copy.deepcopy(ext).to(torch.bfloat16)
    assert half(frames.bfloat16()).dtype == torch.bfloat16
