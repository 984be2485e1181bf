# S2D video model (DFER stage), release configuration: ViT-B/16 + deep MCPs
# with TMAs + temporal embedding, 16 frames of 224x224, MobileFaceNet
# landmark branch (conv_4, 128x14x14), S2DHead with dropout 0.5, 7 classes.
# Trainable: temporal embedding, final norm, landmark projection, prompt norms,
# MCPs with their TMAs, head (9.26 M of 95.06 M; landmark net excluded).
# Initialise from the image stage with the backbone's
# init_cfg=dict(type='ImageStageInit', checkpoint=...) (strict: only TMAs and
# temporal embedding may be missing) or `s2d_mm.models.utils.load_static_checkpoint`,
# or with `load_from` (a converted video checkpoint).
num_frames = 16
num_classes = 7
landmark = dict(
    type='LandmarkFeatureExtractor',
    model='{{ fileDirname }}/landmark_mobilefacenet.py',
    checkpoint=None,  # released mobilefacenet_model_best.pth.tar
    out_indices=(5, ),  # conv_4: 128 x 14 x 14 at 112 x 112
    grid_size=(14, 14))

model = dict(
    type='S2DRecognizer',
    backbone=dict(
        type='S2DViT',
        arch='vit-base',
        img_size=224,
        patch_size=16,
        num_frames=num_frames,
        landmark=landmark,
        landmark_channels=128,
        prompt_type='deep',
        prompter=dict(hidden_dims=8, fovea_scale=10.0),
        tma=dict(ratio=0.25, num_heads=8),
        tma_init='release',  # 'zero': starts equal to the image model
        trainable=(r'^temporal_embedding$', r'^ln1\.', r'^landmark_embed\.',
                   r'^prompt_norms\.', r'^prompters\.'),
        drop_path_rate=0.0),
    cls_head=dict(
        type='S2DHead',
        num_classes=num_classes,
        in_channels=768,
        dropout_ratio=0.5,
        loss_cls=dict(type='CrossEntropyLoss'),
        loss_sdl=None,
        average_clips='prob'),
    data_preprocessor=dict(
        type='S2DDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
