# affectnet7 with a deterministic stratified 10 % of the training split (seed 0) held
# out for checkpoint selection; trains on the other 90 %.
_base_ = ['./affectnet7.py']

# switch on the held-out protocol of fer_protocols.py
train_dataloader = dict(dataset=dict(val_split=_base_.heldout_train_split))
val_dataloader = dict(_base_.heldout_val_dataloader, _delete_=True)
val_evaluator = dict(_base_.heldout_val_evaluator, _delete_=True)
