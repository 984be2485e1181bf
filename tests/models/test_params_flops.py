"""tools/analysis/params_flops.py: released parameter counts (ViT-B/16,
built without a forward) and FLOPs of a tiny model."""
import os.path as osp

import pytest
import torch
from mmengine.analysis import FlopAnalyzer
from s2d_testing import load_script

import s2d_mm  # noqa: F401
from s2d_mm.models.backbones import S2DViT
from s2d_mm.models.utils.complexity import ClipForward, count_flops, count_parameters, model_inputs


def _tool(repo_root):
    return load_script('tools', 'analysis', 'params_flops.py')


@pytest.mark.parametrize('config,total,trainable', [
    ('s2d_vit-base-p16.py', '95.06 M total (95,055,571)',
     '9.26 M trainable (9,256,915'),
    ('vitmcp_vit-base-p16.py', '86.15 M total (86,152,147)',
     '86.00 M trainable (85,999,315'),
])
def test_vit_b16_release_parameter_counts(repo_root, capsys, config, total,
                                          trainable):
    """ViT-B/16 with deep prompting, landmark network excluded.

    Video stage (16 frames, 7 classes): 9,256,915 trainable, the release's
    9,258,451 less the 1,536 of the last prompt norm, which no forward uses
    and which s2d_mm freezes. Image stage: everything trains but the
    position embedding (197 x 768 = 151,296) and that prompt norm:
    86,152,147 - 151,296 - 1,536 = 85,999,315.
    """
    cfg = osp.join(repo_root, 'configs', '_base_', 'models', config)
    _tool(repo_root).main([cfg, '--no-flops'])
    out = capsys.readouterr().out
    assert total in out and trainable in out
    assert 'landmark network (frozen, not counted above)' in out


def tiny_model():
    """The tests' tiny S2D without landmark branch (features passed in)."""
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope
    from s2d_testing.tiny import tiny_model_cfg
    cfg = tiny_model_cfg(landmark=None, landmark_channels=16,
                         prompter=dict(hidden_dims=4), sdl=False,
                         num_classes=3)
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(cfg)


def test_flops_of_tiny_model_count_attention():
    model = tiny_model()
    flops = count_flops(model)
    assert flops['total'] > 0 and flops['landmark'] == 0
    assert {'backbone.layers', 'backbone.prompters', 'cls_head'} <= set(
        flops['by_module'])
    # without the SDPA handle, attention products would be missed: the
    # difference is exactly the attention of the blocks and the TMAs
    x, lf = model_inputs(model.eval())
    plain = FlopAnalyzer(ClipForward(model), (x, lf))
    plain.unsupported_ops_warnings(False)
    bt, n, d, t, depth = 4, 16, 32, 4, 2
    blocks = depth * bt * (n + 1)**2 * 2 * d  # QK^T and AV over all heads
    d_h = d // 4
    tmas = depth * (n * (bt // t)) * t * t * 2 * d_h
    assert flops['total'] - plain.total() == blocks + tmas


def test_parameter_count_excludes_landmark_network():
    with torch.device('meta'):
        bb = S2DViT(arch='vit-small', landmark=None, num_frames=8)
    counts = count_parameters(torch.nn.ModuleDict(dict(backbone=bb)))
    assert counts['excluded'] == 0
    assert counts['trainable'] < counts['total']


@pytest.mark.parametrize('arch,dims', [('vit-small', 384), ('vit-base', 768)])
def test_presets_build(arch, dims):
    with torch.device('meta'):
        bb = S2DViT(arch=arch, landmark=None)
    assert bb.embed_dims == dims
    assert bb.temporal_embedding.shape == (1, 16, dims)


@pytest.mark.parametrize('name,registry,dims,has_tma', [
    ('s2d_vit-base-p16.py', 'mmaction', 768, True),
    ('s2d_vit-small-p16.py', 'mmaction', 384, True),
    ('vitmcp_vit-base-p16.py', 'mmpretrain', 768, False),
    ('vitmcp_vit-small-p16.py', 'mmpretrain', 384, False),
])
def test_base_model_configs_build(repo_root, name, registry, dims, has_tma):
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'models', name))
    assert cfg.model.backbone.landmark.type == 'LandmarkFeatureExtractor'
    cfg.model.backbone.landmark = None
    with DefaultScope.overwrite_default_scope(registry), \
            torch.device('meta'):
        model = MODELS.build(cfg.model)
    bb = model.backbone
    assert bb.embed_dims == dims and len(bb.prompters) == 12
    assert (bb.prompters[0].tma is not None) == has_tma
    fc = model.cls_head.fc_cls if has_tma else model.head.fc
    assert fc.in_features == dims
