# Video pipelines of the released S2D DFER scripts (docs/released_code.md
# §3.3, §3.4), built from stock mmaction2 / mmpretrain transforms. Shared by
# dfew.py, ferv39k.py and mafw.py.
clip_len = 16
img_size = 224

# Training: 16 consecutive frames at interval 1; clips of <= 16 frames are
# read whole and padded with their last frame (identical to the release).
# For longer clips the release never starts at N-16 (docs/released_code.md
# §7, item 37); use dict(type='ReleaseSampleFrames', clip_len=16) to
# reproduce that too.
train_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=1, out_of_bound_opt='repeat_last'),
    dict(type='RawFrameDecode'),
    # resize to 224x224, aspect ratio not kept (release)
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    # timm rand-m7-n4-mstd0.5-inc1, one draw for the whole clip
    dict(type='ApplyToFrames', same_params=True, transforms=[
        dict(type='RandAugment', policies='timm_increasing', num_policies=4,
             total_level=10, magnitude_level=7, magnitude_std=0.5,
             hparams=dict(pad_val=[124, 116, 104],
                          interpolation='bicubic'))]),
    # scale 0.08-1, ratio 3/4-4/3, one crop for the whole clip
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    # p 0.25, one box, per-pixel normal noise in normalised space (timm
    # 'pixel' mode); the release draws a box per frame (same_params=False);
    # use mmaction's RandomErasing for one box per clip.
    dict(type='ApplyToFrames', same_params=False, transforms=[
        dict(type='RandomErasing', erase_prob=0.25, min_area_ratio=0.02,
             max_area_ratio=1 / 3, mode='rand',
             fill_color=[123.675, 116.28, 103.53],
             fill_std=[58.395, 57.12, 57.375])]),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

# Held-out validation (checkpoint selection): one centred window, one view.
val_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=1, test_mode=True, out_of_bound_opt='repeat_last'),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

# Test: first and last 16 frames (SampleFrames test offsets 0 and N-16) x 2
# spatial crops = 4 views (V, 3, 16, 224, 224); the head averages softmax
# over views (average_clips='prob'). As in the release, with 224x224 frames
# the two crops coincide, and for clips of <= 16 frames both windows do.
test_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1,
         num_clips=2, test_mode=True, out_of_bound_opt='repeat_last'),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='SpatialCrops', crop_size=img_size, num_crops=2),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]

# Videos instead of frame folders (decord reads only the sampled frames):
# set media='video' in the dataset and replace RawFrameDecode by
# dict(type='DecordInit'), <SampleFrames...>, dict(type='DecordDecode').
