# S2D on MAFW with checkpoint selection that never reads the test split: the
# paper config plus a validation loop on a deterministic stratified 10 % of
# the training split (seed 0); the model trains on the other 90 % and the
# best UAR / WAR checkpoints are kept. The test split is read only by
# tools/test.py. Short name: configs/s2d_mafw_heldout.py.
# Run on real data: not by this project (no dataset, no GPU here); the
# tests train it for a few steps on generated data with a tiny model.
_base_ = ['./s2d_vit-base-p16_affectnet7-pre_2xb8-16x1x1-100e_mafw-rgb.py']

# switch on the held-out protocol of configs/_base_/datasets/fer_protocols.py
train_dataloader = dict(dataset=dict(val_split=_base_.heldout_train_split))
val_dataloader = dict(_base_.heldout_val_dataloader, _delete_=True)
val_evaluator = dict(_base_.heldout_val_evaluator, _delete_=True)
val_cfg = dict(_delete_=True, type='ValLoop')
