# S2D on FERV39k, the paper's protocol (one official split):
# train on the FULL training split and report the LAST epoch on the test
# split with tools/test.py. Nothing is ever selected on the test split (the
# release did that); for checkpoint selection on a held-out part of the
# training split use s2d_ferv39k_heldout.py instead.
#
# Model, data pipeline and schedule: see s2d_ferv39k_heldout.py, which this file
# only switches back to the whole training split without a validation loop.
#
#   python tools/train.py configs/s2d_ferv39k.py
#   python tools/test.py configs/s2d_ferv39k.py work_dirs/s2d_ferv39k/.../epoch_100.pth
_base_ = ['./s2d_ferv39k_heldout.py']

train_dataloader = dict(dataset=dict(val_split=None))
val_dataloader = None
val_evaluator = None
val_cfg = None
default_hooks = dict(checkpoint=dict(save_best=None))
