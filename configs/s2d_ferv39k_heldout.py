# S2D on FERV39k with checkpoint selection that never touches the test split:
# s2d_ferv39k.py (the paper's recipe) plus a deterministic, stratified 10 % of
# the training split (seed 0) held out as validation set; the model trains on
# the other 90 % and the best UAR / WAR checkpoints are kept. The test split
# is still read only by tools/test.py.
#
#   python tools/train.py configs/s2d_ferv39k_heldout.py
_base_ = ['./s2d_ferv39k.py']

train_dataloader = dict(
    dataset=dict(val_split=dict(ratio=0.1, seed=0, part='train')))
val_dataloader = dict(
    _delete_=True,  # None in the paper config
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file='Annotation/train.csv',
        data_prefix=dict(video={{_base_.frames}}),
        val_split=dict(ratio=0.1, seed=0, part='val'),
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
val_evaluator = dict(
    _delete_=True, type='UARWARMetric', file_prefix='val')
val_cfg = dict(_delete_=True, type='ValLoop')

default_hooks = dict(
    checkpoint=dict(save_best=['UAR', 'WAR'], rule='greater'))
