# The two evaluation protocols of every FER dataset base, image
# (fer_image.py) and video (fer_video.py), with the loader settings they
# share; a stage's base adds batch sizes and pipelines, a dataset base its
# dataset dict.
#
# Paper protocol (the default): no validation loop (val_dataloader and
# val_evaluator None); train on the whole training split and report the
# last epoch on the test split, which only tools/test.py reads.
#
# Held-out protocol: validate on `heldout_val_dataloader`, a deterministic
# stratified 10 % of the training split (seed 0), the model training on the
# other 90 % (`heldout_train_split`), and keep the best checkpoints by
# UAR / WAR (configs/_base_/recipes/s2d_video.py, image_runtime.py). It is
# written once, here; a config switches it on with lines that point at it:
#   train_dataloader = dict(dataset=dict(val_split=_base_.heldout_train_split))
#   val_dataloader = dict(_base_.heldout_val_dataloader, _delete_=True)
#   val_evaluator = dict(_base_.heldout_val_evaluator, _delete_=True)
#   val_cfg = dict(_delete_=True, type='ValLoop')  # where a recipe set None
# (affectnet7_heldout.py, rafdb_heldout.py, configs/s2d/*-heldout_*.py).
# Those lines cannot be a base of their own listed next to the paper
# config: mmengine refuses a key that two sibling bases both set, and the
# loaders belong to the dataset base; mmengine's Runner wants the
# validation loader, loop and evaluator all set or all None.
heldout_train_split = dict(ratio=0.1, seed=0, part='train')

train_dataloader = dict(
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = None
val_evaluator = None

test_dataloader = dict(
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(test_mode=True))
test_evaluator = dict(type='UARWARMetric', file_prefix='test')

# read as the test split is
heldout_val_dataloader = dict(
    test_dataloader,
    dataset=dict(test_mode=True,
                 val_split=dict(heldout_train_split, part='val')))
heldout_val_evaluator = dict(type='UARWARMetric', file_prefix='val')
