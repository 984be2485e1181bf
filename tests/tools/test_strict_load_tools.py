"""tools/test.py, load_from and resume refuse a checkpoint that does not fit
(StrictLoadHook); the partial load and the head switch are explicit."""
import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from s2d_mm.utils.state_dict_fit import CheckpointMismatchError

from .conftest import load_tool


def _state_of(cfg_path, **changes):
    """State dict of the tiny experiment's model with ``changes`` applied
    to its backbone / head config."""
    import s2d_mm  # noqa: F401
    cfg = Config.fromfile(cfg_path)
    model = copy.deepcopy(cfg.model)
    for path, value in changes.items():
        node = model
        *parents, leaf = path.split('.')
        for p in parents:
            node = node[p]
        node[leaf] = value
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(model).state_dict()


def test_test_tool_refuses_another_architecture(tiny_experiment, tmp_path,
                                                capsys):
    cfg_path, _ = tiny_experiment
    other = _state_of(cfg_path, **{
        'backbone.arch': dict(embed_dims=48, num_layers=3, num_heads=2,
                              feedforward_channels=96),
        'cls_head.in_channels': 48, 'cls_head.loss_sdl.feat_dim': 48})
    ckpt = str(tmp_path / 'other_arch.pth')
    torch.save(dict(state_dict=other, meta=dict()), ckpt)
    test = load_tool('test')
    with pytest.raises(CheckpointMismatchError) as err:
        test.main([cfg_path, ckpt, '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options', 'experiment_name=strict_test'])
    msg = str(err.value)
    assert 'other_arch.pth' in msg
    assert 'unexpected key(s)' in msg and 'backbone.layers.2.' in msg
    assert 'shape mismatch(es)' in msg
    assert 'default_hooks.strict_load.strict=False' in msg
    assert not any(line.startswith('UAR ') for line in
               capsys.readouterr().out.splitlines())  # nothing evaluated


def test_load_from_head_mismatch_needs_the_switch(tiny_experiment, tmp_path):
    cfg_path, _ = tiny_experiment
    eight = _state_of(cfg_path, **{
        'cls_head.num_classes': 8, 'cls_head.loss_sdl.num_classes': 8})
    ckpt = str(tmp_path / 'eight.pth')
    torch.save(dict(state_dict=eight, meta=dict()), ckpt)
    train = load_tool('train')

    def runner(*options):
        cfg = train.build_config(train.parse_args([
            cfg_path, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
            f'load_from={ckpt}', 'experiment_name=strict_load_from',
            *options]))
        from s2d_mm.engine import build_runner
        return build_runner(cfg)

    with pytest.raises(CheckpointMismatchError,
                       match=r"eight.pth' does not fit[\s\S]*cls_head"):
        runner().load_or_resume()
    # fine-tuning to another class set: the classifier and the SDL anchor
    # bank (one queue per class) start fresh, the rest is loaded
    r = runner('default_hooks.strict_load.allow_head_mismatch=True')
    r.load_or_resume()
    torch.testing.assert_close(r.model.backbone.layers[0].attn.qkv.weight,
                               eight['backbone.layers.0.attn.qkv.weight'])
    assert r.model.cls_head.fc_cls.weight.shape[0] == 7
    assert r.model.cls_head.loss_sdl.anchor_count.shape == (7, )


def test_resume_into_a_changed_model_is_refused(tiny_experiment, tmp_path):
    cfg_path, _ = tiny_experiment
    work = tmp_path / 'w'
    work.mkdir()
    state = _state_of(cfg_path)
    del state['backbone.prompters.1.proj_out.weight']
    torch.save(dict(state_dict=state, meta=dict(epoch=1, iter=4)),
               work / 'epoch_1.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    train = load_tool('train')
    cfg = train.build_config(train.parse_args([
        cfg_path, '--work-dir', str(work), '--resume', '--cfg-options',
        'experiment_name=strict_resume']))
    runner = Runner.from_cfg(cfg)  # the hook comes with default_runtime.py
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_or_resume()
    assert 'epoch_1.pth' in str(err.value)
    assert 'backbone.prompters.1.proj_out.weight' in str(err.value)
