"""``--amp`` on a CPU: bf16 autocast where bf16 is native
(CPUAmpOptimWrapper), float32 with the reason where it would be emulated."""
import pytest
import torch
from mmengine.config import Config
from s2d_testing import load_script
from s2d_testing.tiny import tiny_model_cfg

from s2d_mm.apis import precision as P
from s2d_mm.engine.optim_wrappers import CPUAmpOptimWrapper, adapt_amp_to_cpu

AVX2_ONLY = frozenset({'sse4_2', 'avx', 'avx2', 'fma'})
AVX512_BF16 = AVX2_ONLY | {'avx512f', 'avx512_vnni', 'avx512_bf16'}
AMX = AVX2_ONLY | {'avx512f', 'amx_tile', 'amx_bf16'}


def amp_cfg(**extra):
    return dict(type='AmpOptimWrapper', loss_scale='dynamic',
                optimizer=dict(type='AdamW', lr=1e-3), **extra)


@pytest.mark.parametrize('flags,words', [(AVX512_BF16, 'AVX512_BF16'),
                                         (AMX, 'AMX_BF16')])
def test_amp_becomes_bf16_autocast_where_native(flags, words):
    cfg, message = adapt_amp_to_cpu(amp_cfg(), flags)
    assert cfg == dict(type='CPUAmpOptimWrapper', dtype='bfloat16',
                       optimizer=dict(type='AdamW', lr=1e-3))
    assert message.startswith('AMP on the CPU: bf16 autocast (CPU has')
    assert words in message
    _, message = adapt_amp_to_cpu(amp_cfg(dtype='float16'), flags)
    assert 'float16 was asked for' in message


def test_amp_stays_float32_where_bf16_is_emulated():
    cfg, message = adapt_amp_to_cpu(amp_cfg(dtype='bfloat16'), AVX2_ONLY)
    assert cfg == dict(type='OptimWrapper',
                       optimizer=dict(type='AdamW', lr=1e-3))
    assert 'AMP on the CPU is off' in message
    assert 'emulated' in message and 'float32' in message
    plain = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    assert adapt_amp_to_cpu(dict(plain), AVX2_ONLY) == (plain, None)


def _train_cfg(tmp_path, monkeypatch, flags, amp=True):
    monkeypatch.setattr(P, 'cpu_isa_flags', lambda: flags)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg_file = tmp_path / 'tiny_amp.py'
    Config(dict(model=tiny_model_cfg(),
                optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
                train_cfg=dict(by_epoch=True, max_epochs=1),
                default_scope='mmaction')).dump(str(cfg_file))
    train = load_script('tools', 'train.py')
    args = train.parse_args([str(cfg_file), '--work-dir', str(tmp_path)] +
                            (['--amp'] if amp else []))
    return train.build_config(args)


def test_train_tool_amp_on_a_bf16_cpu(tmp_path, monkeypatch):
    cfg = _train_cfg(tmp_path, monkeypatch, AVX512_BF16)
    assert cfg.optim_wrapper.type == 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert _train_cfg(tmp_path, monkeypatch, AVX512_BF16,
                      amp=False).optim_wrapper.get('type',
                                                   'OptimWrapper') == \
        'OptimWrapper'


def test_train_tool_amp_on_an_emulating_cpu_says_so(tmp_path, monkeypatch):
    with pytest.warns(UserWarning, match='AMP on the CPU is off: the CPU has '
                      'neither AVX512_BF16 nor AMX-BF16.*emulated.*float32'):
        cfg = _train_cfg(tmp_path, monkeypatch, AVX2_ONLY)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_cpu_amp_wrapper_trains_the_model_under_bf16_autocast():
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmengine.registry import DefaultScope
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    wrapper = CPUAmpOptimWrapper(
        optimizer=torch.optim.AdamW(params, lr=1e-3))
    assert wrapper.cast_dtype is torch.bfloat16
    seen = {}
    fc = model.cls_head.fc_cls
    hook = fc.register_forward_hook(
        lambda m, i, o: seen.update(dtype=o.dtype,
                                    autocast=torch.is_autocast_enabled('cpu'),
                                    cast=torch.get_autocast_dtype('cpu')))
    data = dict(inputs=[torch.randint(0, 255, (1, 3, 4, 32, 32),
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=[ActionDataSample().set_gt_labels(torch.tensor([i]))
                              for i in range(2)])
    before = [p.detach().clone() for p in params]
    losses = model.train_step(data, wrapper)
    hook.remove()
    assert seen == dict(dtype=torch.bfloat16, autocast=True,
                        cast=torch.bfloat16)
    assert losses['loss_cls'].dtype == torch.float32
    assert torch.isfinite(losses['loss_cls'])
    # float32 master weights, updated by the step
    assert all(p.dtype == torch.float32 for p in params)
    assert any(not torch.equal(a, p) for a, p in zip(before, params))
    assert not torch.is_autocast_enabled('cpu')  # only inside the step
    with pytest.raises(ValueError, match='dtype must be bfloat16'):
        CPUAmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1),
                           dtype='float16')
