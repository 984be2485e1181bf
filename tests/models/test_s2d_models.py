"""Image- and video-stage S2D models: build from the shipped configs with
tiny dimensions, train steps, trainable-parameter policy, static->dynamic.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS as ACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmpretrain.structures import DataSample

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import (
    ConvPatchStem,
    MultiViewComplementaryPrompter,
    S2DViT,
    TemporalModelingAdapter,
    ViTMCP,
)
from s2d_mm.models.utils import StageTransferError, load_static_checkpoint

TINY_ARCH = dict(
    embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
IMG, PATCH, FRAMES, CLASSES, C_L = 32, 8, 4, 3, 16
GRID = IMG // PATCH


def _cfg(repo_root, name):
    return Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'models', name))


def tiny_video_cfg(repo_root, **backbone):
    cfg = _cfg(repo_root, 's2d_vit-base-p16.py')
    bb = cfg.model.backbone
    bb.arch = dict(TINY_ARCH)
    bb.update(
        img_size=IMG, patch_size=PATCH, num_frames=FRAMES,
        tma=dict(ratio=0.25, num_heads=2))
    bb.landmark.grid_size = (GRID, GRID)
    bb.update(backbone)
    cfg.model.cls_head.update(in_channels=32, num_classes=CLASSES)
    return cfg


def tiny_image_cfg(repo_root, **backbone):
    cfg = _cfg(repo_root, 'vitmcp_vit-base-p16.py')
    bb = cfg.model.backbone
    bb.arch = dict(TINY_ARCH)
    bb.update(img_size=IMG, patch_size=PATCH, drop_path_rate=0.0)
    bb.landmark.grid_size = (GRID, GRID)
    bb.update(backbone)
    cfg.model.head.update(in_channels=32, num_classes=CLASSES)
    return cfg


def build_action(cfg):
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = ACTION_MODELS.build(cfg)
    model.init_weights()
    return model


def build_pretrain(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = PRETRAIN_MODELS.build(cfg)
    model.init_weights()
    return model


def grads(model):
    return {
        n for n, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }


def video_batch(b=2):
    g = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (1, 3, FRAMES, IMG, IMG), generator=g).float()
        for _ in range(b)
    ]
    samples = [
        ActionDataSample().set_gt_labels(torch.tensor(i % CLASSES))
        for i in range(b)
    ]
    return dict(inputs=inputs, data_samples=samples)


# ------------------------------------------------------------------ video
def test_video_config_trains_only_release_parameters(repo_root):
    model = build_action(tiny_video_cfg(repo_root).model)
    model.train()
    data = model.data_preprocessor(video_batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) >= {'loss_cls', 'top1_acc'}
    losses['loss_cls'].backward()

    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # frozen: patch embed, cls token, position embedding, blocks, landmark,
    # and the last prompt norm, which the released forward never uses
    for n, p in model.named_parameters():
        frozen = n.startswith(
            ('backbone.patch_embed.', 'backbone.layers.',
             'backbone.landmark.', 'backbone.prompt_norms.2.')) or n in (
                 'backbone.cls_token', 'backbone.pos_embed')
        assert p.requires_grad is not frozen, n
    assert 'backbone.temporal_embedding' in trainable
    assert 'cls_head.fc_cls.weight' in trainable
    # every trainable tensor receives a gradient: DDP needs no
    # find_unused_parameters
    assert grads(model) == trainable
    assert not any(
        p.grad is not None for n, p in model.named_parameters()
        if not p.requires_grad)


def test_video_predict_and_output_shapes(repo_root):
    model = build_action(tiny_video_cfg(repo_root).model).eval()
    data = model.data_preprocessor(video_batch(3), training=False)
    with torch.no_grad():
        feats = model(data['inputs'], mode='tensor')
        preds = model(**data, mode='predict')
    assert feats[0].shape == (3, 32, FRAMES)  # (B, D, T)
    assert len(preds) == 3
    assert preds[0].pred_scores.item.shape == (CLASSES, )


def test_custom_trainable_policy(repo_root):
    cfg = tiny_video_cfg(repo_root, trainable=[r'^prompters\.\d+\.tma\.'],
                         landmark=None, landmark_channels=C_L)
    model = build_action(cfg.model)
    bb_trainable = {
        n for n, p in model.backbone.named_parameters() if p.requires_grad
    }
    assert bb_trainable and all('.tma.' in n for n in bb_trainable)


def test_shallow_prompting(repo_root):
    model = build_action(
        tiny_video_cfg(repo_root, prompt_type='shallow', landmark=None,
                       landmark_channels=C_L).model)
    assert len(model.backbone.prompters) == 1
    assert len(model.backbone.prompt_norms) == 1
    x = torch.randn(2, 3, FRAMES, IMG, IMG)
    lf = torch.randn(2 * FRAMES, C_L, GRID, GRID)
    out = model.backbone(x, lf)[0]
    assert out.shape == (2, 32, FRAMES)


def test_video_backbone_input_errors():
    bb = S2DViT(arch=TINY_ARCH, img_size=IMG, patch_size=PATCH,
                num_frames=FRAMES, landmark=None, landmark_channels=C_L,
                tma=dict(num_heads=2))
    x = torch.randn(1, 3, FRAMES + 1, IMG, IMG)
    with pytest.raises(ValueError, match='num_frames=4'):
        bb(x, torch.randn(FRAMES + 1, C_L, GRID, GRID))
    x = torch.randn(1, 3, FRAMES, IMG, IMG)
    with pytest.raises(ValueError, match='landmark=None'):
        bb(x)
    with pytest.raises(ValueError, match='match the patch grid'):
        bb(x, torch.randn(FRAMES, C_L, GRID + 1, GRID))
    with pytest.raises(ValueError, match='prompt_type'):
        S2DViT(arch=TINY_ARCH, img_size=IMG, patch_size=PATCH,
               prompt_type='none')


def test_tma_mixes_frames_of_a_clip_only():
    torch.manual_seed(0)
    tma = TemporalModelingAdapter(16, ratio=0.5, num_heads=2).eval()
    u = torch.randn(2 * 3, 5, 16)  # B=2 clips, T=3, N=5
    out = tma(u, 3)
    assert out.shape == u.shape
    u2 = u.clone()
    u2[1] += torch.randn(5, 16)  # frame 1 of clip 0
    out2 = tma(u2, 3)
    # relative to the output's scale (the adapters start small)
    changed = (out2 - out).abs().amax(dim=(1, 2)) > 1e-3 * out.abs().max()
    assert changed[:3].all()  # every frame of clip 0 sees the change
    assert not changed[3:].any()  # clip 1 does not
    with pytest.raises(ValueError, match='multiple of num_frames'):
        tma(torch.randn(5, 5, 16), 3)


def test_tma_zero_init_outputs_zero_and_still_learns():
    tma = TemporalModelingAdapter(16, ratio=0.5, num_heads=2, tma_init='zero')
    u = torch.randn(6, 5, 16)
    out = tma(u, 3)
    assert torch.count_nonzero(out) == 0
    out.pow(2).sum().backward()  # zero loss gradient; use a linear one
    tma.zero_grad()
    (tma(u, 3) * torch.randn(6, 5, 16)).sum().backward()
    assert tma.spatial.fc_up.weight.grad.abs().sum() > 0
    rel = TemporalModelingAdapter(16, ratio=0.5, num_heads=2)
    assert torch.count_nonzero(rel(u, 3)) > 0
    with pytest.raises(ValueError, match='tma_init'):
        TemporalModelingAdapter(16, tma_init='xavier')


def test_mcp_shapes_and_fovea():
    mcp = MultiViewComplementaryPrompter(16, hidden_dims=4)
    assert mcp.fovea_scale.item() == 10.0
    u, v = torch.randn(2, 9, 16), torch.randn(2, 9, 16)
    p, t = mcp(u, v)
    assert p.shape == (2, 9, 16) and t is None
    g = mcp.proj_image(u)
    expected = mcp.proj_out(g * torch.softmax(10.0 * g, dim=1) +
                            mcp.proj_landmark(v))
    torch.testing.assert_close(p, expected)


# ------------------------------------------------------------------ image
def test_image_config_trains_and_freezes_pos_embed(repo_root):
    model = build_pretrain(tiny_image_cfg(repo_root).model)
    model.train()
    g = torch.Generator().manual_seed(1)
    data = dict(
        inputs=[
            torch.randint(0, 256, (3, IMG, IMG), generator=g).to(torch.uint8)
            for _ in range(2)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(2)])
    data = model.data_preprocessor(data, training=True)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert 'backbone.pos_embed' not in trainable
    assert not any(n.startswith('backbone.landmark.') for n in trainable)
    assert 'backbone.layers.0.attn.qkv.weight' in trainable
    assert not any('tma' in n or 'temporal' in n
                   for n, _ in model.named_parameters())
    unused = {'backbone.prompt_norms.2.weight', 'backbone.prompt_norms.2.bias'}
    assert grads(model) == trainable - unused
    with torch.no_grad():
        out = model(data['inputs'], mode='tensor')
    assert out.shape == (2, CLASSES)


def test_vit_presets():
    assert ViTMCP.arch_zoo['vit-small']['embed_dims'] == 384
    assert ViTMCP.arch_zoo['vit-small']['num_layers'] == 12
    assert ViTMCP.arch_zoo['vit-base']['embed_dims'] == 768
    with torch.device('meta'):
        small = ViTMCP(arch='vit-small', landmark=None)
    assert small.embed_dims == 384 and len(small.prompters) == 12


# --------------------------------------------------------- static->dynamic
def _image_and_video(repo_root, tma_init, video_classes=CLASSES):
    image = build_pretrain(tiny_image_cfg(repo_root, landmark=None,
                                          landmark_channels=C_L).model)
    vcfg = tiny_video_cfg(repo_root, landmark=None, landmark_channels=C_L,
                          tma_init=tma_init)
    vcfg.model.cls_head.num_classes = video_classes
    video = build_action(vcfg.model)
    return image.eval(), video.eval()


@pytest.mark.parametrize('tma_init', ['zero', 'release'])
def test_zero_init_video_model_equals_image_model(repo_root, tmp_path,
                                                  tma_init):
    image, video = _image_and_video(repo_root, tma_init)
    ckpt = tmp_path / 'image.pth'
    torch.save(dict(state_dict=image.state_dict(), meta={}), ckpt)
    report = load_static_checkpoint(video, str(ckpt))
    assert 'backbone.temporal_embedding' in report['missing_new']
    assert any('.tma.' in k for k in report['missing_new'])
    assert report['missing'] == [] and report['unexpected'] == []

    b = 2
    x = torch.randn(b, 3, FRAMES, IMG, IMG)
    lf = torch.randn(b * FRAMES, C_L, GRID, GRID)
    frames = x.transpose(1, 2).reshape(b * FRAMES, 3, IMG, IMG)
    with torch.no_grad():
        vfeat = video.backbone(x, lf)[0]  # (B, D, T)
        ifeat = image.backbone(frames, lf)[0]  # (B*T, D)
        vlogits = video.cls_head(vfeat)
        ilogits = image.head.fc(ifeat).view(b, FRAMES, -1).mean(1)
    per_frame = vfeat.transpose(1, 2).reshape(b * FRAMES, -1)
    if tma_init == 'zero':
        torch.testing.assert_close(per_frame, ifeat, atol=1e-5, rtol=0)
        torch.testing.assert_close(vlogits, ilogits, atol=1e-5, rtol=0)
    else:  # released init: adapters and temporal embedding perturb
        assert (per_frame - ifeat).abs().max() > 1e-3


def test_static_checkpoint_head_mismatch(repo_root):
    image, video = _image_and_video(repo_root, 'zero', video_classes=5)
    sd = image.state_dict()
    with pytest.raises(StageTransferError, match='allow_head_mismatch'):
        load_static_checkpoint(video, dict(state_dict=sd))
    before = video.cls_head.fc_cls.weight.clone()
    report = load_static_checkpoint(
        video, dict(state_dict=sd), allow_head_mismatch=True)
    assert report['skipped_head'] == [
        'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'
    ]
    torch.testing.assert_close(video.cls_head.fc_cls.weight, before)
    torch.testing.assert_close(video.backbone.layers[0].attn.qkv.weight,
                               image.backbone.layers[0].attn.qkv.weight)
    bad = copy.copy(sd)
    bad['backbone.not_a_key'] = torch.zeros(1)
    del bad['backbone.layers.1.ln1.weight']
    with pytest.raises(StageTransferError) as err:
        load_static_checkpoint(video, dict(state_dict=bad),
                               allow_head_mismatch=True)
    assert 'backbone.not_a_key' in str(err.value)
    assert 'backbone.layers.1.ln1.weight' in str(err.value)


# ------------------------------------------------------------------- head
def test_head_pool_and_sdl_slot():
    from s2d_mm.registry import MMACTION_MODELS

    calls = []

    @MMACTION_MODELS.register_module(name='_RecordingSDL', force=True)
    class _RecordingSDL(torch.nn.Module):
        feat_source = 'pre_dropout'

        def forward(self, cls_score, feat):
            calls.append((cls_score, feat))
            return cls_score.sum() * 0

    with DefaultScope.overwrite_default_scope('mmaction'):
        head = ACTION_MODELS.build(
            dict(type='S2DHead', num_classes=CLASSES, in_channels=8,
                 dropout_ratio=0.5, loss_sdl=dict(type='_RecordingSDL')))
    x = torch.randn(2, 8, FRAMES)
    torch.testing.assert_close(head.pool(x), x.mean(2))
    torch.testing.assert_close(head.pool((x, )), x.mean(2))
    head.train()
    samples = [ActionDataSample().set_gt_labels(torch.tensor(i))
               for i in range(2)]
    losses = head.loss((x, ), samples)
    assert set(losses) >= {'loss_cls', 'loss_sdl'}
    cls_score, feat = calls[-1]
    torch.testing.assert_close(feat, x.mean(2))  # before dropout
    assert cls_score.shape == (2, CLASSES)
    head.eval()
    torch.testing.assert_close(head(x), head.fc_cls(x.mean(2)))


@pytest.mark.parametrize('foreign_scope', ['mmpose', 'mmpretrain'])
def test_nested_parts_build_under_a_foreign_default_scope(
        repo_root, foreign_scope):
    """A Runner of another codebase (e.g. the demo's mmpose landmark run) may
    have left its default scope behind: parts built inside the model
    (TMA in each MCP, the SDL loss in the head, the mmpose landmark model)
    must still come from their own registries."""
    from s2d_mm.registry import MMACTION_MODELS, build_in_scope
    cfg = tiny_video_cfg(repo_root)
    cfg.model.cls_head.loss_sdl = dict(
        type='EmotionAnchorsSDL', num_classes=CLASSES, feat_dim=32)
    with DefaultScope.overwrite_default_scope(foreign_scope):
        model = build_in_scope(MMACTION_MODELS, cfg.model)
    assert isinstance(model.backbone.prompters[1].tma, TemporalModelingAdapter)
    assert type(model.cls_head.loss_sdl).__name__ == 'EmotionAnchorsSDL'


# ------------------------------------------------- CNN patch embedding
def test_stem_shapes_and_widths():
    stem = ConvPatchStem(3, 64, kernel_size=8, stride=8)
    convs = [m for m in stem if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64, 64]
    assert convs[-1].kernel_size == (1, 1)
    out = stem(torch.randn(2, 3, 64, 48))
    assert out.shape == (2, 64, 8, 6)


@pytest.mark.parametrize('kwargs, match', [
    (dict(kernel_size=8, stride=4), 'stride'),
    (dict(kernel_size=6, stride=6), 'power of 2'),
    (dict(kernel_size=8, stride=8, padding=1), 'padding'),
    (dict(kernel_size=(8, 4), stride=(8, 4)), 'non-square'),
])
def test_stem_rejects_what_it_cannot_tile(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvPatchStem(3, 32, **kwargs)


def test_image_backbone_uses_stem_through_patch_cfg(repo_root):
    cfg = tiny_image_cfg(repo_root,
                         patch_cfg=dict(conv_type='ConvPatchStem'))
    model = build_pretrain(cfg.model)
    proj = model.backbone.patch_embed.projection
    assert isinstance(proj, ConvPatchStem)
    assert model.backbone.patch_resolution == (IMG // PATCH, IMG // PATCH)
    x = torch.randn(2, 3, IMG, IMG)
    feats = model.extract_feat(x)
    assert feats[0].shape == (2, 32)
    # trains end to end in the image stage (BatchNorm in train mode)
    model.train()
    assert proj[1].training
    proj[1].reset_running_stats()
    model.extract_feat(x)
    assert proj[1].num_batches_tracked.item() == 1


def test_frozen_stem_keeps_its_batch_statistics(repo_root):
    """In the video stage the ViT (stem included) is frozen: training the
    prompters must not move the stem's BatchNorm statistics."""
    cfg = tiny_video_cfg(repo_root,
                         patch_cfg=dict(conv_type='ConvPatchStem'))
    model = build_action(cfg.model)
    stem = model.backbone.patch_embed.projection
    assert isinstance(stem, ConvPatchStem)
    assert not any(p.requires_grad for p in stem.parameters())
    bn = stem[1]
    before = (bn.running_mean.clone(), bn.running_var.clone())
    model.train()
    assert not bn.training and model.backbone.prompters[0].training
    data = model.data_preprocessor(video_batch(), training=True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert torch.equal(bn.running_mean, before[0])
    assert torch.equal(bn.running_var, before[1])
    assert model.backbone.prompters[0].proj_out.weight.grad is not None
    assert model.backbone.temporal_embedding.shape[1] == FRAMES
