# AffectNet-7 (contempt and codes 8-10 left out); validation.csv is the test split.
# Paper protocol: train on the full training split, report the last epoch
# (val_dataloader None). affectnet7_heldout.py adds a validation set carved out of
# the training split; the test split is read only by tools/test.py.
# Loaders and protocols: fer_image.py, fer_protocols.py.
# If your Manually_Annotated_Images hold full images rather than face
# crops, add dict(type='CropFaceBBox') after LoadImageFromFile (the CSV's
# face box is kept in every sample as `face_bbox`).
_base_ = ['./fer_image.py']

dataset_type = 'AffectNetDataset'
data_root = 'data/AffectNet'

fer_dataset = dict(type=dataset_type, data_root=data_root, num_classes=7)
train_dataloader = dict(dataset=fer_dataset)
test_dataloader = dict(dataset=dict(fer_dataset, split='val'))
heldout_val_dataloader = dict(dataset=fer_dataset)
