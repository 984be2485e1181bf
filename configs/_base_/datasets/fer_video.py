# What the video FER dataset bases (dfew.py, ferv39k.py, mafw.py) share:
# loaders, pipelines, the UAR / WAR evaluator and the held-out validation
# split. Each dataset base adds its dataset dict (type, root, annotation
# files, fold, label base) to the three loaders below.
#
# Paper protocol: no validation loop (val_dataloader None); train on the
# whole training split and report the last epoch on the test split.
# Held-out protocol (the *_heldout experiments): validate on
# `heldout_val_dataloader`, a deterministic stratified 10 % of the training
# split (seed 0), the model training on the other 90 %
# (`heldout_train_split`); keep the best checkpoints by UAR / WAR (the rule
# is in configs/_base_/recipes/s2d_video.py). It is written once, here; an
# experiment switches it on with four lines that point at it:
#   train_dataloader = dict(dataset=dict(val_split=_base_.heldout_train_split))
#   val_dataloader = dict(_base_.heldout_val_dataloader, _delete_=True)
#   val_evaluator = dict(_base_.heldout_val_evaluator, _delete_=True)
#   val_cfg = dict(_delete_=True, type='ValLoop')
# Those cannot be a base of their own listed next to the paper config:
# mmengine refuses a key set by two sibling bases, and the loaders belong to
# the dataset base (and mmengine's Runner wants the validation loader, loop
# and evaluator all set or all None).
_base_ = ['./s2d_video_pipelines.py']

heldout_train_split = dict(ratio=0.1, seed=0, part='train')

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    # oversampling ("w/ OS" results): the *_os experiments
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline={{_base_.train_pipeline}}))
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    batch_size=4,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline={{_base_.test_pipeline}}, test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')

heldout_val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        val_split=dict(heldout_train_split, part='val'),
        pipeline={{_base_.val_pipeline}},
        test_mode=True))
heldout_val_evaluator = dict(type='UARWARMetric', file_prefix='val')
