"""Anchor refresh of S2DRecognizer with and without mixup/cutmix."""
import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import DefaultScope

import s2d_mm  # noqa: F401

C, T, HW, D = 3, 4, 32, 32


@MODELS.register_module(name='_RefreshTestLandmark', force=True)
class _PatchGridLandmark(nn.Module):
    """Test double of the landmark branch: a fixed 8x8-stride conv to the
    ViT patch grid (the real one is exercised by the config tests)."""

    def __init__(self, channels=8):
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 8, stride=8)
        self.requires_grad_(False)

    def forward(self, frames):
        return self.conv(frames)


def _model(dropout=0.5, blending=None, drop_path=0., **sdl):
    sdl_cfg = dict(type='EmotionAnchorsSDL', num_classes=C, feat_dim=D,
                   queue_size=8, topk=2)
    sdl_cfg.update(sdl)
    cfg = dict(
        type='S2DRecognizer',
        backbone=dict(
            type='S2DViT',
            arch=dict(embed_dims=D, num_layers=2, num_heads=2,
                      feedforward_channels=64),
            img_size=HW, patch_size=8, num_frames=T,
            landmark=dict(type='_RefreshTestLandmark'), landmark_channels=8,
            tma=dict(ratio=0.25, num_heads=2), drop_path_rate=drop_path),
        cls_head=dict(type='S2DHead', num_classes=C, in_channels=D,
                      dropout_ratio=dropout, loss_sdl=sdl_cfg),
        data_preprocessor=dict(
            type='S2DDataPreprocessor', mean=[0.] * 3, std=[1.] * 3,
            format_shape='NCTHW', blending=blending))
    # other tests may have made another scope current
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(1, 3, T, HW, HW, generator=g) for _ in range(n)]
    samples = []
    for i in range(n):
        s = ActionDataSample()
        s.set_gt_labels(i % C)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _count_backbone_calls(model):
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    return calls


def _eval_feat(model, inputs):
    model.eval()
    with torch.no_grad():
        feats, _ = model.extract_feat(inputs)
        feat = model.cls_head.pool(feats)
        score = model.cls_head.fc_cls(feat)
    model.train()
    return feat, score


def test_unmixed_batch_reuses_training_features():
    torch.manual_seed(0)
    model = _model()
    sdl = model.cls_head.loss_sdl
    sdl.refresh, sdl.weight = True, 0.
    model.train()
    data = model.data_preprocessor(_batch(), True)
    assert 'unmixed_inputs' not in data
    calls = _count_backbone_calls(model)
    losses = model(**data, mode='loss')
    assert len(calls) == 1  # no extra pass
    assert set(losses) >= {'loss_cls', 'loss_sdl'}
    assert sdl.anchor_count.tolist() == [2, 1, 1]
    feat, score = _eval_feat(model, data['inputs'])
    # class 0 got samples 0 and 3, class 1 sample 1, class 2 sample 2
    torch.testing.assert_close(sdl.anchor_feats[0, :2], feat[[0, 3]])
    torch.testing.assert_close(sdl.anchor_feats[1, 0], feat[1])
    torch.testing.assert_close(sdl.anchor_probs[2, 0],
                               score[2].softmax(0))


def test_mixed_batch_refreshes_from_unmixed_clips_in_eval_mode():
    torch.manual_seed(0)
    blending = dict(type='RandomBatchAugment', augments=[
        dict(type='MixupBlending', alpha=0.8, num_classes=C),
        dict(type='CutmixBlending', alpha=1.0, num_classes=C)])
    model = _model(blending=blending)
    sdl = model.cls_head.loss_sdl
    sdl.refresh, sdl.weight = True, 1.
    model.train()
    batch = _batch()
    clean = torch.stack(batch['inputs'])
    data = model.data_preprocessor(batch, True)
    torch.testing.assert_close(data['unmixed_inputs'], clean)
    assert data['unmixed_labels'].tolist() == [0, 1, 2, 0]
    assert not torch.equal(data['inputs'], clean)
    assert data['data_samples'][0].gt_labels.item.shape == (C, )
    calls = _count_backbone_calls(model)
    losses = model(**data, mode='loss')
    losses['loss_cls'].backward()
    assert len(calls) == 2  # training pass + clean no-grad pass
    assert model.training and model.cls_head.dropout.training
    feat, score = _eval_feat(model, clean)
    torch.testing.assert_close(sdl.anchor_feats[0, :2], feat[[0, 3]])
    torch.testing.assert_close(sdl.anchor_probs[1, 0], score[1].softmax(0))


def test_stochastic_backbone_gets_the_clean_pass():
    torch.manual_seed(0)
    model = _model(drop_path=0.5)
    sdl = model.cls_head.loss_sdl
    sdl.refresh, sdl.weight = True, 0.
    model.train()
    data = model.data_preprocessor(_batch(), True)
    calls = _count_backbone_calls(model)
    model(**data, mode='loss')
    assert len(calls) == 2 and model.training
    feat, _ = _eval_feat(model, data['inputs'])
    torch.testing.assert_close(sdl.anchor_feats[0, :2], feat[[0, 3]])


def test_release_variant_pushes_post_dropout_train_mode_features():
    torch.manual_seed(0)
    model = _model(dropout=0.5, release_compat=True, queue_size=2)
    sdl = model.cls_head.loss_sdl
    sdl.refresh, sdl.weight = True, 0.
    model.train()
    data = model.data_preprocessor(_batch(n=3), True)
    model(**data, mode='loss')
    feat, _ = _eval_feat(model, data['inputs'])
    pushed = torch.stack([sdl.anchor_feats[c, 0] for c in range(C)])
    # dropout(p=0.5) in train mode: every entry is 0 or 2x the clean one.
    zero = pushed == 0
    assert zero.any() and (~zero).any()
    torch.testing.assert_close(pushed[~zero], 2 * feat[~zero])


def test_soft_labels_without_unmixed_batch_raise():
    model = _model()
    model.cls_head.loss_sdl.refresh = True
    data = model.data_preprocessor(_batch(), True)
    for s in data['data_samples']:
        s.gt_labels.item = torch.full((C, ), 1. / C)
    with pytest.raises(ValueError, match='S2DDataPreprocessor'):
        model(**data, mode='loss')


def test_clean_pass_borrows_eval_mode_and_gives_each_module_its_own():
    """The clean refresh pass runs every module in eval mode, then each
    module has the mode it had before (a BatchNorm or block that a hook put
    in eval mode stays there; the rest trains): the whole model is never
    ``.train()``-ed in the middle of the step."""
    torch.manual_seed(0)
    blending = dict(type='RandomBatchAugment', augments=[
        dict(type='MixupBlending', alpha=0.8, num_classes=C)])
    model = _model(blending=blending)
    sdl = model.cls_head.loss_sdl
    sdl.refresh, sdl.weight = True, 1.
    model.train()
    model.backbone.layers[0].eval()  # e.g. put there by a hook
    modes = {n: m.training for n, m in model.named_modules()}
    seen = []
    model.backbone.register_forward_hook(lambda m, a, o: seen.append(
        [x.training for x in m.modules()]))
    data = model.data_preprocessor(_batch(), True)
    model(**data, mode='loss')
    assert len(seen) == 2
    assert any(seen[0]) and not any(seen[1])  # training pass, clean pass
    assert {n: m.training for n, m in model.named_modules()} == modes
