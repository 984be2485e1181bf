# affectnet8 with a deterministic stratified 10 % of the training split
# (seed 0) held out for checkpoint selection; trains on the other 90 %.
_base_ = ['./affectnet7_heldout.py']

train_dataloader = dict(dataset=dict(num_classes=8))
val_dataloader = dict(dataset=dict(num_classes=8))
test_dataloader = dict(dataset=dict(num_classes=8))
