import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample
from safetensors.torch import load_file

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones.mobilefacenet import MobileFaceNet, convert_mobilefacenet_state_dict
from s2d_mm.registry import MMPOSE_MODELS

CONFIG = 'configs/_base_/models/landmark_mobilefacenet.py'
#: |diff| to the authors' outputs (values ~0.2-0.4). Observed on a 2-core
#: AMD EPYC (AVX-512), 1 and 2 threads, default / AVX2-held /
#: AVX512_CORE kernels: landmarks identical, conv_4 features within 3e-8
#: (one float32 ulp); 1e-6 leaves room for kernels that sum in another order.
ATOL = 1e-6


def build_pose_model(repo_root, **overrides):
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    cfg.merge_from_dict(dict(model=overrides))
    with DefaultScope.overwrite_default_scope('mmpose'):
        return MMPOSE_MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def released(reference_dir):
    sd = load_file(osp.join(reference_dir, 'mobilefacenet_state_dict.safetensors'))
    io = load_file(osp.join(reference_dir, 'mobilefacenet_io.safetensors'))
    return sd, io


def test_released_weights_reproduce_reference(repo_root, released):
    """conv_4 map and 136 landmark outputs of the authors' code, fp32 eval."""
    sd, io = released
    model = build_pose_model(repo_root, backbone=dict(out_indices=(5, 8)))
    # The released keys only gain the backbone./head. prefix.
    model.load_state_dict(convert_mobilefacenet_state_dict(sd), strict=True)
    model.eval()
    assert sum(p.numel() for p in model.parameters()) == 1_007_248
    with torch.no_grad():
        conv4, last = model.backbone(io['image'])
        landmarks = model.head((last, ))
    assert conv4.shape == (2, 128, 14, 14)
    assert landmarks.shape == (2, 68, 2)
    torch.testing.assert_close(conv4, io['landmark_feat'], atol=ATOL, rtol=0)
    # (x, y) pairs interleaved as in the released 136-vector.
    torch.testing.assert_close(
        landmarks.reshape(2, 136), io['landmarks'], atol=ATOL, rtol=0)


def test_released_pth_tar_loads_unchanged_through_init_cfg(repo_root, released, tmp_path):
    """The .pth.tar layout (state_dict + DataParallel prefix) read by both
    parts' Pretrained init_cfg, no conversion step."""
    sd, io = released
    ckpt = str(tmp_path / 'mobilefacenet_model_best.pth.tar')
    torch.save(dict(epoch=3, state_dict={'module.' + k: v for k, v in sd.items()}), ckpt)
    # mmengine's prefix-less Pretrained init strips nothing but `module.`
    # through load_checkpoint's revise_keys.
    init = dict(type='Pretrained', checkpoint=ckpt)
    model = build_pose_model(
        repo_root, backbone=dict(out_indices=(5, 8), init_cfg=init), head=dict(init_cfg=init))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        conv4, last = model.backbone(io['image'])
        landmarks = model.head((last, ))
    torch.testing.assert_close(conv4, io['landmark_feat'], atol=ATOL, rtol=0)
    torch.testing.assert_close(landmarks.reshape(2, 136), io['landmarks'], atol=ATOL, rtol=0)


def test_converter_unwraps_and_is_idempotent(released):
    sd, _ = released
    wrapped = dict(state_dict={'module.' + k: v for k, v in sd.items()}, epoch=1)
    converted = convert_mobilefacenet_state_dict(wrapped)
    assert 'backbone.conv_4.model.5.project.bn.weight' in converted
    assert 'head.output_layer.linear.weight' in converted
    assert not any(k.startswith(('module.', 'output_layer')) for k in converted)
    assert list(convert_mobilefacenet_state_dict(converted)) == list(converted)
    prefixed = convert_mobilefacenet_state_dict(sd, prefix='landmark.')
    assert all(k.startswith('landmark.') for k in prefixed)


def test_out_indices_and_early_exit():
    net = MobileFaceNet(out_indices=(-4, 2)).eval()
    assert net.out_indices == (5, 2)
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 112, 112))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 28, 28), (1, 128, 14, 14)]
    with pytest.raises(ValueError, match='out_indices entry 9 is out of range'):
        MobileFaceNet(out_indices=(9, ))


def test_frozen_stages_and_norm_eval():
    net = MobileFaceNet(frozen_stages=2, norm_eval=True)
    net.train()
    assert not any(p.requires_grad for p in net.conv_23.parameters())
    assert all(p.requires_grad for p in net.conv_3.parameters())
    assert not net.conv_4.model[0].conv.bn.training


def test_small_pose_model_trains_and_predicts(repo_root):
    """The demo-sized variant: 5 landmarks on 56 px, half width."""
    model = build_pose_model(
        repo_root,
        backbone=dict(widen_factor=0.5, num_blocks=(1, 1, 1)),
        head=dict(
            in_channels=256,
            num_joints=5,
            feat_size=4,
            decoder=dict(type='RegressionLabel', input_size=(56, 56))))
    samples = []
    for _ in range(2):
        sample = PoseDataSample(metainfo=dict(input_size=(56, 56), input_center=[28., 28.],
                                              input_scale=[56., 56.]))
        sample.gt_instance_labels = InstanceData(
            keypoint_labels=torch.rand(1, 5, 2), keypoint_weights=torch.ones(1, 5))
        sample.gt_instances = InstanceData(
            bboxes=np.array([[0., 0., 56., 56.]]), bbox_scores=np.ones(1),
            bbox_centers=np.array([[28., 28.]]), bbox_scales=np.array([[56., 56.]]))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 255, (3, 56, 56), dtype=torch.uint8)] * 2,
                data_samples=samples)
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    losses = model.loss(**model.data_preprocessor(data, training=True))
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    losses['loss_kpt'].backward()
    optim.step()
    model.eval()
    with torch.no_grad():
        preds = model.predict(**model.data_preprocessor(data, training=False))
    assert preds[0].pred_instances.keypoints.shape == (1, 5, 2)


def test_head_names_a_wrong_feature_size():
    from s2d_mm.models.backbones.mobilefacenet import MobileFaceNetHead
    head = MobileFaceNetHead(in_channels=16, num_joints=3, feat_size=7).eval()
    with pytest.raises(ValueError, match=r'expects a 7x7 feature map.*got \(4, 4\)'):
        head((torch.randn(2, 16, 4, 4), ))
