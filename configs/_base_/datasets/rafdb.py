# RAF-DB basic emotions (7 classes): EmoLabel/list_patition_label.txt + Image/aligned.
# Paper protocol: train on the full training split, report the last epoch
# (val_dataloader None). rafdb_heldout.py adds a validation set carved out of
# the training split; the test split is read only by tools/test.py.
# Loaders and protocols: fer_image.py, fer_protocols.py.
_base_ = ['./fer_image.py']

dataset_type = 'RAFDBDataset'
data_root = 'data/RAF-DB/basic'

fer_dataset = dict(type=dataset_type, data_root=data_root)
train_dataloader = dict(dataset=fer_dataset)
test_dataloader = dict(dataset=dict(fer_dataset, split='test'))
heldout_val_dataloader = dict(dataset=fer_dataset)
