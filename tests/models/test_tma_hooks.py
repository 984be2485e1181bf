"""TMAs inserted into stock mmaction2 / mmpretrain ViTs by config."""
import copy
import os.path as osp

import pytest
import torch
from mmaction.registry import MODELS as ACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import inject_temporal_adapters

MIX_CFG = 'vit-base-p16_videomae-k400-pre_tma_16x4x1_kinetics-400.py'


def tiny_videomae(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, 'configs', 'mix', MIX_CFG))
    # the inherited stock config is untouched apart from the backbone type
    assert cfg.model.type == 'Recognizer3D'
    assert cfg.model.backbone.depth == 12
    assert cfg.model.backbone.backbone_type == 'VisionTransformer'
    cfg.model.backbone.update(
        img_size=32, embed_dims=32, depth=2, num_heads=2, num_frames=8)
    cfg.model.backbone.tma_args.tma.num_heads = 2
    cfg.model.cls_head.update(in_channels=32, num_classes=3)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = ACTION_MODELS.build(cfg.model)
    model.init_weights()
    return model, cfg


def test_videomae_with_tmas_trains_only_adapters(repo_root):
    model, _ = tiny_videomae(repo_root)
    assert type(model.backbone).__module__.startswith('mmaction')
    assert len(model.backbone.tma_adapters) == 2
    x = torch.randn(2, 1, 3, 8, 32, 32)
    samples = [ActionDataSample().set_gt_labels(torch.tensor(i))
               for i in range(2)]
    model.train()
    losses = model(x, samples, mode='loss')
    losses['loss_cls'].backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.startswith(('backbone.tma_adapters.', 'cls_head.'))
        for n in trainable)
    assert any(n.startswith('backbone.tma_adapters.') for n in trainable)
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    assert with_grad == trainable
    # zero-init: only the adapters' last projection gets a non-zero
    # gradient at the first step
    fc_up = model.backbone.tma_adapters[0].tma.spatial.fc_up.weight
    assert fc_up.grad.abs().sum() > 0


def test_zero_init_keeps_the_stock_model_and_adapters_act(repo_root):
    model, cfg = tiny_videomae(repo_root)
    model.eval()
    stock_cfg = dict(cfg.model.backbone)
    stock_cfg.pop('tma_args')
    stock_cfg['type'] = stock_cfg.pop('backbone_type')
    with DefaultScope.overwrite_default_scope('mmaction'):
        stock = ACTION_MODELS.build(stock_cfg).eval()
    missing, unexpected = stock.load_state_dict(
        model.backbone.state_dict(), strict=False)
    assert missing == [] and all(k.startswith('tma_adapters.')
                                 for k in unexpected)
    x = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(x), stock(x))
        for adapter in model.backbone.tma_adapters:
            torch.nn.init.normal_(adapter.tma.spatial.fc_up.weight)
        assert (model.backbone(x) - stock(x)).abs().max() > 1e-4
        # a copy (EMA, soups) runs its own adapters
        clone = copy.deepcopy(model.backbone)
        for adapter in clone.tma_adapters:
            torch.nn.init.zeros_(adapter.tma.spatial.fc_up.weight)
        torch.testing.assert_close(clone(x), stock(x))
        assert (model.backbone(x) - stock(x)).abs().max() > 1e-4


def test_frames_layout_on_mmpretrain_vit():
    cfg = dict(
        type='TMABackbone', backbone_type='VisionTransformer',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=32, patch_size=8,
        tma_args=dict(num_frames=4, tma=dict(num_heads=2,
                                             tma_init='release')))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        bb = PRETRAIN_MODELS.build(cfg)
    bb.eval()  # mmpretrain's BaseBackbone.train returns None
    frames = torch.randn(8, 3, 32, 32)  # 2 clips x 4 frames
    with torch.no_grad():
        out = bb(frames)[0]
        changed = frames.clone()
        changed[0] += 1  # first frame of clip 0
        out2 = bb(changed)[0]
    diff = (out2 - out).abs().amax(dim=1) > 1e-6
    assert diff[:4].all() and not diff[4:].any()


def test_injection_errors():
    from mmaction.models.backbones import VisionTransformer
    bb = VisionTransformer(img_size=32, embed_dims=32, depth=1, num_heads=2,
                           num_frames=4)
    with pytest.raises(AttributeError, match='blocks_attr'):
        inject_temporal_adapters(bb, blocks_attr='layers')
    with pytest.raises(ValueError, match='layout'):
        inject_temporal_adapters(bb, layout='spacetime')
    inject_temporal_adapters(bb, tma=dict(num_heads=2))
    with pytest.raises(ValueError, match='already has'):
        inject_temporal_adapters(bb)


def test_frame_count_is_per_forward_state_and_not_reentrant():
    """T' reaches the block hooks through the backbone's pre-hook and is
    cleared by its post-hook: a block run outside the backbone's forward
    raises instead of using a stale T' (the hooks are not re-entrant: one
    forward of a backbone at a time)."""
    from mmaction.models.backbones import VisionTransformer
    torch.manual_seed(0)
    bb = VisionTransformer(img_size=32, embed_dims=32, depth=1, num_heads=2,
                           num_frames=8, tubelet_size=2)
    inject_temporal_adapters(bb, tma=dict(num_heads=2, tma_init='release'))
    adapter = bb.tma_adapters[0]
    seen = []
    bb.blocks[0].register_forward_pre_hook(
        lambda m, a: seen.append(adapter.current_frames))
    bb.eval()
    with torch.no_grad():
        bb(torch.randn(1, 3, 8, 32, 32))
        assert adapter.current_frames is None
        tokens = torch.randn(1, 4 * 16, 32)
        with pytest.raises(RuntimeError, match='outside the forward'):
            bb.blocks[0](tokens)
    assert seen[0] == 4  # 8 frames / tubelet 2


def _stock_vit_with_tmas(init_cfg, **tma_args):
    cfg = dict(
        type='TMABackbone', backbone_type='VisionTransformer',
        img_size=32, embed_dims=32, depth=1, num_heads=2, num_frames=4,
        init_cfg=init_cfg,
        tma_args=dict(tma=dict(num_heads=2), **tma_args))
    with DefaultScope.overwrite_default_scope('mmaction'):
        return ACTION_MODELS.build(cfg)


def test_pretrained_stock_backbone_left_random_is_refused(tmp_path):
    """Issue 20 item 5 for TMAs on a stock ViT: the frozen stock backbone's
    ``Pretrained`` checkpoint must fill it; the first training forward
    refuses it otherwise, naming the checkpoint and the switch."""
    from s2d_mm.models.utils.weight_init import FrozenInitError
    unrelated = str(tmp_path / 'resnet.pth')
    torch.save({'state_dict': {'conv1.weight': torch.zeros(8, 3, 7, 7)}},
               unrelated)
    x = torch.randn(1, 3, 4, 32, 32)
    bb = _stock_vit_with_tmas(dict(type='Pretrained', checkpoint=unrelated))
    bb.init_weights()
    bb.train()
    with pytest.raises(FrozenInitError) as err:
        bb(x)
    msg = str(err.value)
    assert f"Pretrained '{unrelated}'" in msg and 'matched 0 of the' in msg
    assert 'tma_args.allow_partial_init=True' in msg
    bb.eval()
    bb(x)  # inference is not training: not refused

    allowed = _stock_vit_with_tmas(
        dict(type='Pretrained', checkpoint=unrelated), allow_partial_init=True)
    allowed.init_weights()
    allowed.train()
    allowed(x)

    # the stock backbone's own weights fill it: trains
    good = str(tmp_path / 'vit.pth')
    stock = _stock_vit_with_tmas(None)
    torch.save({'state_dict': {k: v for k, v in stock.state_dict().items()
                               if not k.startswith('tma_adapters.')}}, good)
    loaded = _stock_vit_with_tmas(dict(type='Pretrained', checkpoint=good))
    loaded.init_weights()
    loaded.train()
    loaded(x)
