# MAFW, single-label 5-fold protocol, 11 classes (docs/method.md §5.1):
# the aligned 224x224 face crops data/frames/frames_crop_align_224 (as the
# release reads them). Reads anno/single/no_caption/set_k/{train,test}.txt
# ('03747.mp4 anger', CRLF); the .csv form of the same split
# (video_name,labels, 0-based) works too. Switch folds with
# `--cfg-options fold=k`.
_base_ = ['./fer_video.py']

dataset_type = 'MAFWDataset'
data_root = 'data/MAFW'
fold = 1
frames = 'data/frames/frames_crop_align_224'
ann_file_train = 'anno/single/no_caption/set_{fold}/train.txt'
ann_file_test = 'anno/single/no_caption/set_{fold}/test.txt'

fer_dataset = dict(type=dataset_type, data_root=data_root, fold=fold,
                   data_prefix=dict(video=frames))
train_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_train))
test_dataloader = dict(dataset=dict(fer_dataset, ann_file=ann_file_test))
heldout_val_dataloader = dict(
    dataset=dict(fer_dataset, ann_file=ann_file_train))
