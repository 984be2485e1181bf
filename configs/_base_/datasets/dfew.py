# DFEW, 5-fold protocol (docs/method.md §5.1, annotation format §5.2): the
# clips cropped and resampled to 16 frames by the dataset's authors
# (Clip/clip_224x224_16f, as the release reads them). Switch folds with
# `--cfg-options fold=k`.
_base_ = ['./fer_video.py']

dataset_type = 'DFEWDataset'
data_root = 'data/DFEW'
fold = 1
# DFEW's own EmoLabel_DataSplit files count classes from 1; the copies in
# the S2D release are 0-based (`--cfg-options label_base=0`). A file that
# does not fit the declared base is refused.
label_base = 1
frames = 'Clip/clip_224x224_16f'
ann_file_train = 'EmoLabel_DataSplit/train(single-labeled)/train_set_{fold}.csv'
ann_file_test = 'EmoLabel_DataSplit/test(single-labeled)/test_set_{fold}.csv'

fer_dataset = dict(type=dataset_type, data_root=data_root, fold=fold,
                   label_base=label_base, data_prefix=dict(video=frames))
train_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_train))
test_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_test))
heldout_val_dataloader = dict(
    dataset=dict(fer_dataset, ann_file=ann_file_train))
