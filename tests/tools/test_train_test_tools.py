"""tools/train.py and tools/test.py end to end on a tiny experiment."""
import json
import os
import os.path as osp
import pickle

import pytest
import torch

from s2d_mm.utils.checkpoint import load_checkpoint_file

from .conftest import REPO, load_tool


def test_fold_variable_reaches_every_dataset(tiny_experiment):
    cfg_path, data = tiny_experiment
    train = load_tool('train')
    args = train.parse_args([cfg_path, '--cfg-options', 'fold=2'])
    cfg = train.build_config(args)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.fold == 2
    assert cfg.work_dir.endswith(osp.join('tiny_s2d_dfew', 'fold2'))
    if not torch.cuda.is_available():
        # the recipe's AmpOptimWrapper (a GPU recipe) on this CPU: bf16
        # autocast where bf16 is native, else float32
        from s2d_mm.apis.precision import native_bf16
        expected = ('CPUAmpOptimWrapper' if native_bf16('cpu')[0]
                    else 'OptimWrapper')
        assert cfg.optim_wrapper.type == expected


def test_train_then_test_from_another_directory(tiny_experiment, tmp_path,
                                                monkeypatch, capsys):
    cfg_path, data = tiny_experiment
    # the tools resolve repository-relative paths from any directory
    monkeypatch.chdir(tmp_path)
    assert not osp.exists('configs')
    work = tmp_path / 'work'
    train = load_tool('train')
    runner = train.main([
        cfg_path, '--work-dir', str(work), '--cfg-options',
        'train_cfg.max_epochs=1', 'experiment_name=tools_train'
    ])
    assert runner.epoch == 1
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    state = load_checkpoint_file(str(ckpt), map_location='cpu')['state_dict']
    # the anchor bank travels with the checkpoint; one refresh epoch of 14
    # clips (2 per class) filled 2 slots of every class queue
    assert state['cls_head.loss_sdl.anchor_count'].tolist() == [2] * 7
    seen = json.load(open(work / 'probe_rank0.json'))['seen']
    assert sorted(seen) == sorted(data['train_names'])

    test = load_tool('test')
    dump = tmp_path / 'preds.pkl'
    out_dir = tmp_path / 'cm'
    metrics = test.main([
        cfg_path, str(ckpt), '--work-dir', str(tmp_path / 'test_work'),
        '--dump', str(dump), '--out-dir', str(out_dir), '--cfg-options',
        'experiment_name=tools_test'
    ])
    printed = capsys.readouterr().out
    assert f"UAR {metrics['UAR']:.2f}  WAR {metrics['WAR']:.2f}" in printed
    assert 0 <= metrics['WAR'] <= 100
    with open(out_dir / 'test_confusion_matrix.json') as f:
        cm = json.load(f)
    matrix = cm['confusion_matrix'] if isinstance(cm, dict) else cm
    assert sum(map(sum, matrix)) == len(data['test_labels'])
    with open(dump, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == len(data['test_labels'])


def test_path_variables_reach_their_uses(repo_root):
    train = load_tool('train')
    cfg = train.build_config(train.parse_args([
        'configs/s2d_dfew_heldout.py', '--cfg-options', 'image_stage_ckpt=/x/img.pth',
        'landmark_ckpt=/x/lm.pth', 'fold=4'
    ]))
    assert cfg.model.backbone.init_cfg.checkpoint == '/x/img.pth'
    assert cfg.model.backbone.landmark.checkpoint == '/x/lm.pth'
    assert cfg.train_dataloader.dataset.fold == 4
    assert cfg.val_dataloader.dataset.fold == 4
    assert cfg.test_dataloader.dataset.fold == 4


@pytest.mark.parametrize('dataset', ['dfew', 'ferv39k', 'mafw'])
def test_paper_configs_train_on_the_full_split(repo_root, dataset):
    """Paper protocol: whole training split, last epoch, no validation
    loop; the _heldout flavour carves its validation part out of the
    training split, never out of the test split."""
    train = load_tool('train')
    paper = train.build_config(train.parse_args([f'configs/s2d_{dataset}.py']))
    assert paper.train_dataloader.dataset.get('val_split') is None
    assert paper.val_dataloader is None and paper.val_cfg is None
    assert not paper.default_hooks.checkpoint.get('save_best')

    held = train.build_config(
        train.parse_args([f'configs/s2d_{dataset}_heldout.py']))
    train_ds, val_ds = held.train_dataloader.dataset, held.val_dataloader.dataset
    assert train_ds.val_split.part == 'train' and val_ds.val_split.part == 'val'
    assert val_ds.ann_file == train_ds.ann_file
    assert val_ds.ann_file != held.test_dataloader.dataset.ann_file


def test_per_dataset_fold_override_is_refused(tiny_experiment):
    train = load_tool('train')
    args = train.parse_args([tiny_experiment[0], '--cfg-options',
                             'train_dataloader.dataset.fold=2'])
    with pytest.raises(ValueError, match='set the fold with'):
        train.build_config(args)


def test_dataset_without_validation_trains_without_val_loop(tiny_experiment):
    train = load_tool('train')
    cfg = train.build_config(train.parse_args([
        tiny_experiment[0], '--cfg-options', 'val_dataloader=None'
    ]))
    assert cfg.val_cfg is None and cfg.val_evaluator is None
    assert 'val_interval' not in cfg.train_cfg
    test = load_tool('test')
    cfg = test.build_config(test.parse_args([
        tiny_experiment[0], 'x.pth', '--cfg-options', 'val_dataloader=None'
    ]))
    assert cfg.val_cfg is None and cfg.val_evaluator is None


def test_missing_config_names_both_places(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train = load_tool('train')
    with pytest.raises(FileNotFoundError, match='nope.py.*looked in'):
        train.build_config(train.parse_args(['configs/nope.py']))


def test_dist_scripts_are_executable():
    # each script checks its arguments, then launches through the one
    # torchrun call of tools/dist_run.sh
    launcher = osp.join(REPO, 'tools', 'dist_run.sh')
    assert os.access(launcher, os.X_OK)
    assert 'torch.distributed.run' in open(launcher).read()
    for name in ('dist_train.sh', 'dist_test.sh', 'dist_analyze.sh'):
        path = osp.join(REPO, 'tools', name)
        assert os.access(path, os.X_OK)
        assert '"$DIR/dist_run.sh"' in open(path).read()


def test_train_reports_skipped_samples_at_the_end(tiny_experiment, tmp_path,
                                                  capsys):
    """on_bad_sample='skip': training goes on and the tool ends by saying
    how many samples were dropped."""
    import shutil
    cfg_path, data = tiny_experiment
    broken_root = tmp_path / 'frames'
    shutil.copytree(data['frame_root'], broken_root)
    missing = sorted(p.name for p in broken_root.iterdir())[0]
    shutil.rmtree(broken_root / missing)  # a frame folder gone missing
    train = load_tool('train')
    runner = train.main([
        cfg_path, '--work-dir', str(tmp_path / 'work'), '--no-validate',
        '--cfg-options', 'train_cfg.max_epochs=1',
        f'train_dataloader.dataset.data_prefix.video={broken_root}',
        'train_dataloader.dataset.on_bad_sample=skip'
    ])
    skipped = runner.train_dataloader.dataset.num_skipped
    assert skipped >= 1
    out = capsys.readouterr()
    assert f'{skipped} bad training sample(s) were skipped' in (out.out +
                                                               out.err)
