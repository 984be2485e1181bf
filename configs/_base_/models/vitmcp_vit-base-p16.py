# S2D image model (SFER stage): ViT-B/16 + deep MCPs (no TMA, no temporal
# embedding), MobileFaceNet landmark branch, linear classifier on the cls
# token, mmpretrain ImageClassifier. Everything but the position embedding
# and the landmark network trains (set `trainable` to restrict it, e.g. to
# the prompt modules and the final norm).
num_classes = 7
landmark = dict(
    type='LandmarkFeatureExtractor',
    model='{{ fileDirname }}/landmark_mobilefacenet.py',
    checkpoint=None,  # released mobilefacenet_model_best.pth.tar
    out_indices=(5, ),
    grid_size=(14, 14))

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ViTMCP',
        arch='vit-base',
        img_size=224,
        patch_size=16,
        landmark=landmark,
        landmark_channels=128,
        prompt_type='deep',
        prompter=dict(hidden_dims=8, fovea_scale=10.0),
        trainable=None,
        freeze_pos_embed=True,
        drop_path_rate=0.1),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=num_classes,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))
