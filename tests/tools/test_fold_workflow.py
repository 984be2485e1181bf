"""README workflow: train + test every fold, then aggregate the folds."""
import hashlib
import json
import os.path as osp

from .conftest import load_tool


def test_folds_train_test_and_aggregate(tiny_experiment, tmp_path,
                                        monkeypatch, capsys):
    cfg_path, _ = tiny_experiment
    monkeypatch.chdir(tmp_path)
    train, test = load_tool('train'), load_tool('test')
    name = osp.splitext(osp.basename(cfg_path))[0]
    results = {}
    for fold in (1, 2):
        runner = train.main([
            cfg_path, '--no-validate', '--cfg-options', f'fold={fold}',
            'train_cfg.max_epochs=1', f'experiment_name=fold{fold}'
        ])
        ann = runner.train_dataloader.dataset.ann_file
        assert ann.endswith(f'train_set_{fold}.csv')
        work = osp.join('work_dirs', name, f'fold{fold}')
        assert osp.samefile(runner.work_dir, work)
        metrics = test.main([
            cfg_path, osp.join(work, 'epoch_1.pth'), '--cfg-options',
            f'fold={fold}', f'experiment_name=fold{fold}_test',
            '--out-dir', osp.join('results', name, f'fold{fold}')
        ])
        results[fold] = metrics
        # the metric JSON says what it scored
        with open(osp.join('results', name, f'fold{fold}',
                           'test_confusion_matrix.json')) as f:
            record = json.load(f)['provenance']
        ckpt = osp.abspath(osp.join(work, 'epoch_1.pth'))
        with open(ckpt, 'rb') as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        assert record['checkpoint'] == ckpt
        assert record['checkpoint_sha256'] == sha[:16]
        assert record['config'] == osp.abspath(cfg_path)
        assert record['fold'] == fold
        assert record['test_dataset']['ann_file'].endswith(
            'test_set_{fold}.csv')
    capsys.readouterr()
    aggregate = load_tool('analysis/aggregate_folds')
    assert aggregate.main([osp.join('results', name), '--expect', '2']) == 0
    table = capsys.readouterr().out
    uar = sum(m['UAR'] for m in results.values()) / 2
    war = sum(m['WAR'] for m in results.values()) / 2
    assert f'**{uar:.2f}** | **{war:.2f}**' in table
