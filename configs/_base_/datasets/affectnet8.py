# AffectNet-8 (codes 8-10 left out, contempt kept); validation.csv is the test
# split. Everything as affectnet7.py but the eighth class.
_base_ = ['./affectnet7.py']

train_dataloader = dict(dataset=dict(num_classes=8))
test_dataloader = dict(dataset=dict(num_classes=8))
