# FERV39k, official train/test split (docs/method.md §5.1): the face-cropped
# frame folders 2_ClipsforFaceCrop/<scene>/<emotion>/<clip>/, labels
# 0-based as distributed.
_base_ = ['./fer_video.py']

dataset_type = 'FERV39kDataset'
data_root = 'data/FERV39k'
frames = '2_ClipsforFaceCrop'
ann_file_train = 'Annotation/train.csv'
ann_file_test = 'Annotation/test.csv'

fer_dataset = dict(
    type=dataset_type, data_root=data_root, data_prefix=dict(video=frames))
train_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_train))
test_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_test))
heldout_val_dataloader = dict(
    dataset=dict(fer_dataset, ann_file=ann_file_train))
