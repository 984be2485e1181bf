"""The experiment configs in their natural order: ``s2d_{ds}.py`` is the
paper's protocol, ``s2d_{ds}_heldout.py`` inherits it and adds only the
validation split and its loop."""
import copy
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _resolved(name):
    return Config.fromfile(osp.join(REPO, 'configs', name)).to_dict()


@pytest.mark.parametrize('ds', ['dfew', 'ferv39k', 'mafw'])
def test_heldout_is_the_paper_config_plus_a_validation_split(ds):
    long = 's2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e'
    with open(osp.join(REPO, 'configs', 's2d',
                       f'{long}-heldout_{ds}-rgb.py')) as f:
        assert f"_base_ = ['./{long}_{ds}-rgb.py']" in f.read()
    paper, heldout = _resolved(f's2d_{ds}.py'), _resolved(f's2d_{ds}_heldout.py')
    # paper protocol: whole training split, no validation, last epoch
    assert paper['val_dataloader'] is None and paper['val_cfg'] is None
    assert paper['val_evaluator'] is None
    assert paper['train_dataloader']['dataset'].get('val_split') is None
    # the recipe's best-checkpoint rule waits for a validation epoch, which
    # the paper protocol never runs
    assert paper['default_hooks']['checkpoint']['save_best'] == ['UAR', 'WAR']

    split = heldout['train_dataloader']['dataset']['val_split']
    assert split == dict(ratio=0.1, seed=0, part='train')
    val = heldout['val_dataloader']['dataset']
    train = heldout['train_dataloader']['dataset']
    assert val['val_split'] == dict(split, part='val')
    for key in ('type', 'data_root', 'ann_file', 'data_prefix', 'fold',
                'label_base'):
        assert val.get(key) == train.get(key), key
    assert val['ann_file'] != heldout['test_dataloader']['dataset']['ann_file']
    assert heldout['val_cfg'] == dict(type='ValLoop')
    assert heldout['default_hooks']['checkpoint']['save_best'] == ['UAR',
                                                                  'WAR']
    # nothing else differs: model, schedule, checkpoints, test set, runtime
    rest = copy.deepcopy(heldout)
    rest['train_dataloader']['dataset'].pop('val_split')
    paper['train_dataloader']['dataset'].pop('val_split', None)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg'):
        rest.pop(key)
        paper.pop(key)
    assert rest == paper
