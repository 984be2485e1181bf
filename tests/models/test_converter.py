"""Checkpoint converter: released video / image-stage, timm/MAE ViT,
MobileFaceNet; file formats, architecture inference, refusals."""
import argparse
import copy
import os.path as osp
import re

import pytest
import torch
from mmaction.registry import MODELS as ACTION_MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from s2d_testing import load_script
from s2d_testing.release_layout import to_release
from safetensors.torch import save_file

import s2d_mm  # noqa: F401
from s2d_mm.models.utils.convert import (
    CheckpointConversionError,
    convert_file,
    convert_state_dict,
    detect_source_kind,
)

D, DEPTH, HEADS, T, IMG, P, C_L, H, CLASSES = 32, 2, 2, 4, 32, 8, 16, 4, 5
ARCH = dict(embed_dims=D, num_layers=DEPTH, num_heads=HEADS,
            feedforward_channels=2 * D)

def video_model():
    cfg = dict(
        type='S2DRecognizer',
        backbone=dict(type='S2DViT', arch=ARCH, img_size=IMG, patch_size=P,
                      num_frames=T, landmark=None, landmark_channels=C_L,
                      prompter=dict(hidden_dims=H),
                      tma=dict(ratio=0.25, num_heads=8)),
        cls_head=dict(type='S2DHead', num_classes=CLASSES, in_channels=D))
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = ACTION_MODELS.build(cfg)
    model.init_weights()
    return model


def image_model(num_classes=CLASSES):
    cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='ViTMCP', arch=ARCH, img_size=IMG, patch_size=P,
                      landmark=None, landmark_channels=C_L,
                      prompter=dict(hidden_dims=H)),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=D))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = PRETRAIN_MODELS.build(cfg)
    model.init_weights()
    return model


def assert_same_tensors(a, b):
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=k)


def test_video_round_trip_and_written_config(tmp_path):
    model = video_model()
    ours = {k: v for k, v in model.state_dict().items()
            if not k.startswith('data_preprocessor')}
    release = to_release(ours)
    assert 'prompt_blocks.1.TMA.T_Adapter.attn.qkv.weight' in release
    src = tmp_path / 'video.pth'
    # the release's training checkpoints carry their argparse namespace
    torch.save({'model': release, 'epoch': 3,
                'args': argparse.Namespace(nb_classes=CLASSES)}, src)
    dst, cfg_path = tmp_path / 'out.pth', tmp_path / 'cfg.py'
    meta = convert_file(str(src), str(dst), {'num_heads': HEADS},
                        str(cfg_path))
    assert meta['source_kind'] == 'video'
    assert meta['arch']['num_frames'] == T
    assert meta['arch']['tma_ratio'] == 0.25
    saved = torch.load(dst, weights_only=True)
    assert_same_tensors(saved['state_dict'], ours)
    cfg = Config.fromfile(str(cfg_path))
    assert cfg.load_from == str(dst)
    with DefaultScope.overwrite_default_scope('mmaction'):
        rebuilt = ACTION_MODELS.build(cfg.model)
    missing, unexpected = rebuilt.load_state_dict(saved['state_dict'],
                                                  strict=False)
    assert unexpected == [] and all(
        k.startswith('data_preprocessor') for k in missing)


def test_image_stage_checkpoint(tmp_path):
    model = image_model()
    ours = {k: v for k, v in model.state_dict().items()
            if not k.startswith('data_preprocessor')}
    release = {}
    for k, v in to_release(ours).items():
        k = k.replace('ln_post.', 'norm.').replace('head.fc.', 'head.')
        release[k] = v
    release['weak_head.weight'] = torch.randn(CLASSES, D)
    release['weak_head.bias'] = torch.randn(CLASSES)
    release['landmark_model.conv1.weight'] = torch.randn(4, 3, 3, 3)
    assert detect_source_kind(release) == 'image'
    src = tmp_path / 'pretrain-AffectNet-7.pth'
    torch.save({'model_state_dict': release}, src)
    meta = convert_file(str(src), str(tmp_path / 'img.pth'),
                        {'num_heads': HEADS})
    assert meta['source_kind'] == 'image'
    dropped = ' '.join(meta['dropped_keys'])
    assert 'weak_head.weight' in dropped
    assert 'landmark_model.conv1.weight' in dropped
    saved = torch.load(tmp_path / 'img.pth', weights_only=True)
    assert_same_tensors(saved['state_dict'], ours)


def test_plain_vit_safetensors_and_mae_decoder(tmp_path):
    model = image_model(num_classes=10)
    ours = {k: v for k, v in model.state_dict().items()
            if k.startswith(('backbone.patch_embed', 'backbone.layers',
                             'backbone.cls_token', 'backbone.pos_embed',
                             'backbone.ln1', 'head.'))}
    timm = {k.replace('ln_post.', 'norm.').replace('head.fc.', 'head.'): v
            for k, v in to_release(ours).items()}
    timm['mask_token'] = torch.zeros(1, 1, D)
    timm['decoder_embed.weight'] = torch.zeros(8, D)
    src = tmp_path / 'vit.safetensors'
    save_file({k: v.contiguous() for k, v in timm.items()}, str(src))
    meta = convert_file(str(src), str(tmp_path / 'vit.pth'),
                        {'num_heads': HEADS}, str(tmp_path / 'vit_cfg.py'))
    assert meta['source_kind'] == 'vit'
    assert meta['arch']['num_classes'] == 10
    assert any('MAE' in k for k in meta['dropped_keys'])
    saved = torch.load(tmp_path / 'vit.pth', weights_only=True)
    assert_same_tensors(saved['state_dict'], ours)
    cfg = Config.fromfile(str(tmp_path / 'vit_cfg.py'))
    assert cfg.model.backbone.type == 'ViTMCP'


def test_refuses_unknown_and_missing_keys():
    release = to_release({
        k: v for k, v in video_model().state_dict().items()
        if not k.startswith('data_preprocessor')
    })
    bad = dict(release)
    bad['blocks.0.attn.q_bias'] = torch.zeros(D)
    bad['something_new'] = torch.zeros(1)
    with pytest.raises(CheckpointConversionError) as err:
        convert_state_dict(bad, {'num_heads': HEADS}, 'bad.pth')
    assert 'blocks.0.attn.q_bias' in str(err.value)
    assert 'something_new' in str(err.value)
    assert 'bad.pth' in str(err.value)
    bad = dict(release)
    del bad['blocks.1.mlp.fc2.weight']
    del bad['prompt_blocks.1.TMA.norm.bias']
    with pytest.raises(CheckpointConversionError) as err:
        convert_state_dict(bad, {'num_heads': HEADS})
    assert 'backbone.layers.1.ffn.layers.1.weight' in str(err.value)
    assert 'backbone.prompters.1.tma.norm.bias' in str(err.value)


def test_architecture_checks():
    release = to_release({
        k: v for k, v in video_model().state_dict().items()
        if not k.startswith('data_preprocessor')
    })
    with pytest.raises(CheckpointConversionError, match='embed_dim'):
        convert_state_dict(release, {'embed_dim': 64, 'num_heads': HEADS})
    with pytest.raises(CheckpointConversionError, match='does not divide'):
        convert_state_dict(release, {'num_heads': 5})
    # head counts default to width // 64
    _, meta = convert_state_dict(release)
    assert meta['arch']['num_heads'] == 1
    with pytest.raises(CheckpointConversionError, match='already in s2d_mm'):
        detect_source_kind({'backbone.cls_token': torch.zeros(1)})
    with pytest.raises(CheckpointConversionError, match='cannot tell'):
        detect_source_kind({'foo.weight': torch.zeros(1)})


def _released_mobilefacenet(**backbone):
    """A MobileFaceNet state dict under the release's key names."""
    from s2d_mm.models.utils.convert import RELEASED_MOBILEFACENET
    from s2d_mm.registry import MMPOSE_MODELS
    cfg = copy.deepcopy(RELEASED_MOBILEFACENET)
    cfg['backbone'].update(backbone)
    with DefaultScope.overwrite_default_scope('mmpose'):
        model = MMPOSE_MODELS.build(cfg)
    return {re.sub(r'^(backbone|head)\.', '', k): v
            for k, v in model.state_dict().items()}


def test_landmark_checkpoint_goes_to_mobilefacenet_converter(tmp_path):
    sd = _released_mobilefacenet()
    torch.save({'state_dict': {'module.' + k: v for k, v in sd.items()}},
               tmp_path / 'mfn.pth.tar')
    meta = convert_file(str(tmp_path / 'mfn.pth.tar'),
                        str(tmp_path / 'mfn.pth'))
    assert meta['source_kind'] == 'landmark'
    saved = torch.load(tmp_path / 'mfn.pth', weights_only=True)
    assert len(saved['state_dict']) == len(sd)
    assert 'backbone.conv1.conv.weight' in saved['state_dict']
    assert 'head.output_layer.linear.weight' in saved['state_dict']


def test_landmark_checkpoint_that_is_not_the_released_network(tmp_path):
    # two keys named like MobileFaceNet's are not a MobileFaceNet
    two = {'conv1.conv.weight': torch.randn(64, 3, 3, 3),
           'output_layer.linear.weight': torch.randn(136, 512)}
    torch.save({'state_dict': two}, tmp_path / 'two.pth.tar')
    with pytest.raises(CheckpointConversionError) as err:
        convert_file(str(tmp_path / 'two.pth.tar'), str(tmp_path / 'o.pth'))
    msg = str(err.value)
    assert 'two.pth.tar (landmark checkpoint)' in msg
    assert 'missing key(s)' in msg and 'backbone.conv1.bn.weight' in msg
    assert not osp.exists(tmp_path / 'o.pth')
    # a narrower network: every width is wrong
    narrow = _released_mobilefacenet(widen_factor=0.5)
    torch.save(narrow, tmp_path / 'narrow.pth')
    with pytest.raises(CheckpointConversionError,
                       match=r'shape mismatch[\s\S]*conv1.conv.weight: '
                       r'checkpoint \(32, 3, 3, 3\) vs model \(64, 3, 3, 3\)'):
        convert_file(str(tmp_path / 'narrow.pth'), str(tmp_path / 'o.pth'))


def test_cli_reports_errors(tmp_path, repo_root, capsys):
    cli = load_script('tools', 'convert_official_s2d.py')
    torch.save({'model': {'foo.weight': torch.zeros(1)}}, tmp_path / 'x.pth')
    assert cli.main([str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth')]) == 1
    assert 'cannot tell' in capsys.readouterr().err
    assert not osp.exists(tmp_path / 'y.pth')


def test_written_config_with_landmark_branch_runs(tmp_path, repo_root):
    release = to_release({
        k: v for k, v in video_model().state_dict().items()
        if not k.startswith('data_preprocessor')
    })
    release['patch_embed_prompt.proj.weight'] = torch.randn(D, 128, 1, 1)
    torch.save({'model': release}, tmp_path / 'v.pth')
    cli = load_script('tools', 'convert_official_s2d.py')
    lm_cfg = osp.join(repo_root, 'configs', '_base_', 'models',
                      'landmark_mobilefacenet.py')
    assert cli.main([
        str(tmp_path / 'v.pth'), str(tmp_path / 'o.pth'), '--out-config',
        str(tmp_path / 'c.py'), '--num-heads', str(HEADS),
        '--landmark-config', lm_cfg
    ]) == 0
    cfg = Config.fromfile(str(tmp_path / 'c.py'))
    assert cfg.model.backbone.landmark.grid_size == (IMG // P, IMG // P)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = ACTION_MODELS.build(cfg.model)
    saved = torch.load(tmp_path / 'o.pth', weights_only=True)
    model.load_state_dict(saved['state_dict'], strict=False)
    with torch.no_grad():
        out = model.eval().backbone(torch.randn(1, 3, T, IMG, IMG))
    assert out[0].shape == (1, D, T)


def test_global_pool_vit_is_refused_with_reason():
    model = image_model()
    ours = {k: v for k, v in model.state_dict().items()
            if k.startswith(('backbone.patch_embed', 'backbone.layers',
                             'backbone.cls_token', 'backbone.pos_embed'))}
    timm = to_release(ours)
    timm['fc_norm.weight'] = torch.ones(D)
    timm['fc_norm.bias'] = torch.zeros(D)
    with pytest.raises(CheckpointConversionError, match='global-average'):
        convert_state_dict(timm, {'num_heads': HEADS})


def test_converted_release_checkpoint_runs_in_infer(tmp_path, repo_root,
                                                    capsys):
    """README quickstart: convert a release-layout checkpoint with its
    config, then ``tools/infer.py`` on a folder of frames."""
    import cv2
    import numpy as np
    release = to_release({
        k: v for k, v in video_model().state_dict().items()
        if not k.startswith('data_preprocessor')
    })
    release['patch_embed_prompt.proj.weight'] = torch.randn(D, 128, 1, 1)
    torch.save({'model': release}, tmp_path / 'v.pth')
    # the released landmark network, as the release stores it
    torch.save({'state_dict': _released_mobilefacenet()},
               tmp_path / 'mobilefacenet_model_best.pth.tar')
    convert = load_script('tools', 'convert_official_s2d.py')
    assert convert.main([
        str(tmp_path / 'v.pth'), str(tmp_path / 'o.pth'), '--out-config',
        str(tmp_path / 'c.py'), '--num-heads', str(HEADS),
        '--landmark-checkpoint',
        str(tmp_path / 'mobilefacenet_model_best.pth.tar')
    ]) == 0
    frames = tmp_path / 'clip'
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(T + 2):
        img = rng.integers(0, 255, (IMG + 8, IMG + 8, 3), dtype=np.uint8)
        cv2.imwrite(str(frames / f'{i:05d}.jpg'), img)
    infer = load_script('tools', 'infer.py')
    out = tmp_path / 'p.json'
    assert infer.main([
        str(tmp_path / 'c.py'), str(tmp_path / 'o.pth'), str(frames),
        '--no-detect', '--device', 'cpu', '--out', str(out)
    ]) == 0
    import json
    res = json.loads(out.read_text())['results']
    (clip, ), = [list(res)]
    assert abs(sum(res[clip]['probs'].values()) - 1) < 1e-4


def test_written_test_pipeline_is_the_release_configs_one(repo_root):
    """The test views a converted video config carries are those of the
    shipped release pipelines (the package cannot read configs/, so it
    keeps its own copy; this keeps the two the same)."""
    from s2d_mm.models.utils.convert import release_test_pipeline
    cfg = Config.fromfile(osp.join(repo_root, 'configs', '_base_',
                                   'datasets', 's2d_video_pipelines.py'))
    assert release_test_pipeline(cfg.clip_len, cfg.img_size) == \
        cfg.to_dict()['test_pipeline']
    assert release_test_pipeline(8, 112)[0]['clip_len'] == 8
    assert release_test_pipeline(8, 112)[3]['crop_size'] == 112
