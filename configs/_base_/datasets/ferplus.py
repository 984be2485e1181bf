# FERPlus (8 classes, majority vote of fer2013new.csv); FER2013Train/Valid/Test image folders.
# FERPlus has an official validation split (Usage PublicTest, FER2013Valid):
# it serves checkpoint selection; the test split (PrivateTest) is read only
# by tools/test.py. Loaders and evaluators: fer_image.py, fer_protocols.py.
_base_ = ['./fer_image.py']

dataset_type = 'FERPlusDataset'
data_root = 'data/FERPlus'

fer_dataset = dict(type=dataset_type, data_root=data_root,
                   vote_rule='majority')
train_dataloader = dict(dataset=fer_dataset)
# the validation split is read as the test split is (_delete_: None in
# fer_protocols.py, the paper protocol of the other datasets)
val_dataloader = dict(
    _base_.test_dataloader,
    _delete_=True,
    dataset=dict(_base_.test_dataloader.dataset, **fer_dataset, split='val'))
val_evaluator = dict(_delete_=True, type='UARWARMetric', file_prefix='val')
test_dataloader = dict(dataset=dict(fer_dataset, split='test'))
