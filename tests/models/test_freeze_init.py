"""One freezing policy, one init order, per-forward state of the S2D
backbones (issue 25 item 1)."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from mmpretrain.models.backbones import VisionTransformer

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import S2DViT, ViTMCP
from s2d_mm.models.backbones.vit_mcp import S2D_RELEASE_TRAINABLE
from s2d_mm.models.utils import StageTransferError
from s2d_mm.models.utils.modes import eval_mode
from s2d_mm.models.utils.weight_init import FrozenInitError, split_init_cfg

ARCH = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
SIZE = dict(img_size=32, patch_size=8)
C_L = 16


def video(**kw):
    args = dict(arch=dict(ARCH), num_frames=4, landmark=None,
                landmark_channels=C_L, tma=dict(ratio=0.25, num_heads=2),
                **SIZE)
    args.update(kw)
    with DefaultScope.overwrite_default_scope('mmaction'):
        return S2DViT(**args)


def image(**kw):
    args = dict(arch=dict(ARCH), landmark=None, landmark_channels=C_L,
                **SIZE)
    args.update(kw)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return ViTMCP(**args)


def frozen(model):
    return {n for n, p in model.named_parameters() if not p.requires_grad}


def trainable(model):
    return {n for n, p in model.named_parameters() if p.requires_grad}


# ------------------------------------------------------------- freezing
def test_video_stage_trains_the_release_parameters_only():
    model = video()
    names = {n for n, _ in model.named_parameters()}
    expected = {
        n for n in names
        if n == 'temporal_embedding' or n.startswith(
            ('ln1.', 'landmark_embed.', 'prompt_norms.', 'prompters.'))
    } - {'prompt_norms.2.weight', 'prompt_norms.2.bias'}
    assert trainable(model) == expected
    assert model.frozen_parameter_names() == names - expected
    # 3 blocks: every parameter of the ViT itself is frozen
    assert all(n in frozen(model) for n in names if n.startswith('layers.'))


def test_image_stage_freezes_pos_embed_and_the_unused_prompt_norm():
    model = image()
    assert frozen(model) == {
        'pos_embed', 'prompt_norms.2.weight', 'prompt_norms.2.bias'}
    assert frozen(image(freeze_pos_embed=False, prompt_type='shallow')) \
        == set()


@pytest.mark.parametrize('k', [1, 3])
def test_frozen_stages_freezes_what_mmpretrain_freezes(k):
    """``frozen_stages`` means what it means in mmpretrain: the frozen
    parameters of the stock ViT with the same arch and k, here plus the
    always-frozen position embedding and last prompt norm."""
    stock = VisionTransformer(arch=dict(ARCH), frozen_stages=k, **SIZE)
    model = image(frozen_stages=k)
    assert stock.pos_embed.requires_grad is False
    vit_names = {n for n, _ in stock.named_parameters()}
    assert frozen(model) & vit_names == frozen(stock)
    assert frozen(model) - vit_names == {
        'prompt_norms.2.weight', 'prompt_norms.2.bias'}
    assert ('ln1.weight' in frozen(model)) is (k == 3)


def test_trainable_and_frozen_stages_add_up():
    model = video(trainable=[r'^prompters\.', r'^layers\.'], frozen_stages=2)
    assert trainable(model) == {
        n for n, _ in model.named_parameters()
        if n.startswith(('prompters.', 'layers.2.'))
    }


def test_policy_is_applied_once_and_survives_train_eval():
    model = video()
    before = trainable(model)
    model.train()
    model.eval()
    model.train()
    model.apply_trainable_policy()
    assert trainable(model) == before


def test_frozen_batch_norm_keeps_its_statistics_in_training():
    """BatchNorm in the frozen patch embedding (ConvPatchStem) stays in
    eval mode through ``train()``; the same stem, trainable, trains."""
    stem = dict(conv_type='ConvPatchStem')
    frozen_model = video(patch_cfg=stem).train()
    bns = [m for m in frozen_model.patch_embed.modules()
           if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert frozen_model.prompters[0].training

    x = torch.randn(2, 3, 4, 32, 32)
    mean = bns[0].running_mean.clone()
    frozen_model(x, torch.randn(8, C_L, 4, 4))
    assert torch.equal(bns[0].running_mean, mean)

    free = video(patch_cfg=stem,
                 trainable=S2D_RELEASE_TRAINABLE + (r'^patch_embed\.', ))
    free.train()
    assert all(m.training for m in free.patch_embed.modules()
               if isinstance(m, nn.BatchNorm2d))


# ----------------------------------------------------------------- init
def test_init_order_initialisers_then_own_init():
    """A parent's initialiser (Constant on every Linear) is applied first;
    the MCPs' and TMAs' own initialisations come after it, layers without
    one keep what the initialiser wrote, and ``init_cfg`` is left as
    written."""
    init_cfg = [dict(type='Constant', layer='Linear', val=0.5, bias=0.)]
    model = video(init_cfg=copy.deepcopy(init_cfg), tma_init='zero')
    cfg_object = model.init_cfg
    model.init_weights()
    assert model.init_cfg is cfg_object and model.init_cfg == init_cfg
    assert torch.all(model.landmark_embed.weight == 0.5)
    assert torch.all(model.layers[0].attn.qkv.weight == 0.5)
    # own init of the MCP: Xavier-uniform, not the constant
    w = model.prompters[0].proj_image.weight
    assert not torch.all(w == 0.5)
    bound = (6 / (w.shape[0] + w.shape[1]))**0.5
    assert w.abs().max() <= bound
    # own init of the TMA ('zero'): the last projection is 0
    assert torch.all(model.prompters[0].tma.spatial.fc_up.weight == 0)
    # own init of the backbone: the temporal embedding ('zero')
    assert torch.all(model.temporal_embedding == 0)
    assert model.pos_embed.std() < 0.05


def _save(model, path, prefix='backbone.'):
    torch.save({'state_dict': {prefix + k: v
                               for k, v in model.state_dict().items()}},
               path)


@pytest.mark.parametrize('order', ['pretrained_first', 'pretrained_last'])
def test_pretrained_loads_last_whatever_its_place(tmp_path, order):
    """A ``Pretrained`` checkpoint is loaded after every own
    initialisation (MCP, TMA, embeddings), wherever it is in the list."""
    torch.manual_seed(1)
    source = video()
    ckpt = str(tmp_path / 'video.pth')
    _save(source, ckpt)
    pre = dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.')
    other = dict(type='Constant', layer='Linear', val=0.5, bias=0.)
    cfgs = [pre, other] if order == 'pretrained_first' else [other, pre]
    torch.manual_seed(2)
    model = video(init_cfg=copy.deepcopy(cfgs))
    model.init_weights()
    assert model.init_cfg == cfgs
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_image_stage_init_loads_after_own_init(tmp_path):
    torch.manual_seed(1)
    img = image()
    ckpt = str(tmp_path / 'image.pth')
    _save(img, ckpt)
    torch.manual_seed(2)
    cfg = dict(type='ImageStageInit', checkpoint=ckpt)
    model = video(init_cfg=dict(cfg))
    model.init_weights()
    assert model.init_cfg == cfg
    sd = model.state_dict()
    for key, value in img.state_dict().items():
        assert torch.equal(sd[key], value), key


def test_init_steps_run_in_the_fixed_order(monkeypatch):
    calls = []
    for cls in (S2DViT, type(video().prompters[0]),
                type(video().prompters[0].tma)):
        own = cls.init_own_weights

        def record(self, _own=own, _name=cls.__name__):
            calls.append(_name)
            _own(self)

        monkeypatch.setattr(cls, 'init_own_weights', record)
    monkeypatch.setattr(
        S2DViT, 'run_loaders', lambda self, loaders: calls.append(
            ('loaders', [c['type'] for c in loaders])))
    model = video(init_cfg=[dict(type='Pretrained', checkpoint='x'),
                            dict(type='Constant', layer='Linear', val=1.)])
    calls.clear()
    model.init_weights()
    # each prompter: its TMA, then itself; the backbone; then the loaders
    assert calls == ['TemporalModelingAdapter',
                     'MultiViewComplementaryPrompter'] * 3 + [
                         'S2DViT', ('loaders', ['Pretrained'])]


def test_split_init_cfg():
    assert split_init_cfg(None) == ([], [])
    pre = dict(type='Pretrained', checkpoint='x')
    stage = dict(type='ImageStageInit', checkpoint='y')
    kaiming = dict(type='Kaiming', layer='Conv2d')
    assert split_init_cfg(pre) == ([], [pre])
    assert split_init_cfg([stage, kaiming, pre]) == ([kaiming], [stage, pre])


def test_second_init_weights_call_is_a_no_op():
    model = video()
    model.init_weights()
    state = copy.deepcopy(model.state_dict())
    model.init_weights()
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value)


# ----------------------------------------------------- per-forward state
def test_eval_mode_gives_every_module_its_own_mode_back():
    model = video().train()
    model.layers[1].eval()  # e.g. what a hook put in eval mode
    modes = {n: m.training for n, m in model.named_modules()}
    with eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert {n: m.training for n, m in model.named_modules()} == modes
    with pytest.raises(ZeroDivisionError):
        with eval_mode(model):
            1 / 0
    assert {n: m.training for n, m in model.named_modules()} == modes


# -------------------------------------------- frozen part must be loaded
def _unrelated_checkpoint(path):
    """A checkpoint with ``backbone.*`` keys that share nothing with S2D
    (a ResNet stem, say)."""
    torch.save({'state_dict': {
        'backbone.conv1.weight': torch.randn(8, 3, 7, 7),
        'backbone.bn1.weight': torch.ones(8),
    }}, path)
    return str(path)


def test_pretrained_unrelated_checkpoint_is_refused(tmp_path):
    """Issue 20 item 5: ``Pretrained`` with a checkpoint that fills none of
    the frozen ViT is refused, naming the checkpoint, the match count and
    the switch."""
    ckpt = _unrelated_checkpoint(tmp_path / 'resnet.pth')
    model = video(init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                                prefix='backbone.'))
    needed = len(model.frozen_parameter_names()) - 2  # unused prompt norm
    with pytest.raises(FrozenInitError) as err:
        model.init_weights()
    msg = str(err.value)
    assert f"Pretrained '{ckpt}' (prefix 'backbone.')" in msg
    assert f'matched 0 of the {needed} frozen parameter tensors' in msg
    assert '2 keys offered' in msg
    assert 'allow_partial_init=True' in msg
    assert 'layers.0.' in msg


def test_pretrained_partial_checkpoint_is_refused_with_the_count(tmp_path):
    source = video()
    sd = {'backbone.' + k: v for k, v in source.state_dict().items()
          if not k.startswith('layers.2.')}
    ckpt = str(tmp_path / 'partial.pth')
    torch.save({'state_dict': sd}, ckpt)
    model = video(init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                                prefix='backbone.'))
    needed = len(model.frozen_parameter_names()) - 2
    missing = len([n for n in model.frozen_parameter_names()
                   if n.startswith('layers.2.')])
    with pytest.raises(FrozenInitError,
                       match=f'matched {needed - missing} of the {needed} '):
        model.init_weights()


def test_image_stage_init_unrelated_checkpoint_is_refused(tmp_path):
    """The project's own init: ``ImageStageInit`` refuses a checkpoint that
    does not fit (strict); with ``strict=False`` (load what fits) a frozen
    ViT left random is still refused by the frozen-part check."""
    ckpt = _unrelated_checkpoint(tmp_path / 'resnet.pth')
    strict = video(init_cfg=dict(type='ImageStageInit', checkpoint=ckpt))
    with pytest.raises(StageTransferError, match='resnet.pth'):
        strict.init_weights()
    loose = video(init_cfg=dict(type='ImageStageInit', checkpoint=ckpt,
                                strict=False))
    with pytest.raises(FrozenInitError) as err:
        loose.init_weights()
    msg = str(err.value)
    assert f"ImageStageInit '{ckpt}'" in msg
    assert 'matched 0 of the' in msg and 'allow_partial_init=True' in msg


@pytest.mark.parametrize('kind', ['Pretrained', 'ImageStageInit'])
def test_allow_partial_init_loads_knowingly(tmp_path, kind):
    ckpt = _unrelated_checkpoint(tmp_path / 'resnet.pth')
    cfg = dict(type=kind, checkpoint=ckpt)
    cfg.update(prefix='backbone.') if kind == 'Pretrained' else cfg.update(
        strict=False)
    model = video(init_cfg=cfg, allow_partial_init=True)
    model.init_weights()  # warns with the same list, trains random
    assert model.is_init


def test_image_stage_without_frozen_blocks_needs_only_pos_embed(tmp_path):
    """The image stage (everything trains but ``pos_embed``): a plain ViT
    checkpoint fills what is frozen, so it loads."""
    from mmpretrain.models.backbones import VisionTransformer
    vit = VisionTransformer(arch=dict(ARCH), **SIZE)
    ckpt = str(tmp_path / 'vit.pth')
    _save(vit, ckpt)
    model = image(init_cfg=dict(type='Pretrained', checkpoint=ckpt,
                                prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.pos_embed, vit.pos_embed)


def test_zero_started_video_parts_may_stay_frozen_without_a_checkpoint(
        tmp_path):
    """A video stage that freezes the TMAs and the temporal embedding (the
    demo ablation's image-model baseline) loads an image-stage checkpoint,
    which has neither, when ``tma_init='zero'`` makes them exact no-ops;
    under the released init they would be random, and are refused."""
    img = image()
    ckpt = str(tmp_path / 'image_stage.pth')
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in img.state_dict().items()}}, ckpt)
    no_temporal = (r'^ln1\.', r'^prompt_norms\.', r'^prompters\.\d+\.(?!tma\.)')
    init = dict(type='ImageStageInit', checkpoint=ckpt)
    model = video(init_cfg=init, tma_init='zero', trainable=no_temporal)
    assert 'temporal_embedding' in model.frozen_parameter_names()
    assert 'prompters.0.tma.spatial.fc_up.weight' in frozen(model)
    model.init_weights()
    assert not model.temporal_embedding.any()
    x = torch.randn(2, 3, 4, 32, 32)
    lm = torch.randn(8, C_L, 4, 4)
    with eval_mode(model), eval_mode(img), torch.no_grad():
        # the video model is the image model run frame by frame
        out = model(x, lm)[0]
        ref = img(x.permute(0, 2, 1, 3, 4).flatten(0, 1), lm)[0]
    torch.testing.assert_close(out, ref.view(2, 4, -1).transpose(1, 2))
    released = video(init_cfg=init, tma_init='release',
                     trainable=no_temporal)
    exempt = {n for n in released.frozen_parameter_names()
              if n == 'temporal_embedding' or '.tma.' in n}
    with pytest.raises(FrozenInitError,
                       match=f'; {len(exempt)} frozen tensors would stay'):
        released.init_weights()
    # a trainable up-projection keeps the adapter's other weights needed
    partly = video(init_cfg=init, tma_init='zero',
                   trainable=no_temporal + (r'\.tma\.spatial\.fc_up\.', ))
    with pytest.raises(FrozenInitError, match=r'prompters\.0\.tma\.'):
        partly.init_weights()
