# The tiny S2D of the tests, smoke runs and `tools/analysis/benchmark.py
# --tiny`: every module of the paper's video model (landmark branch, ViT with
# MCPs, TMAs, temporal embedding, S2DHead with SDL) at a few thousand
# parameters, 4 frames of 32 px in 8-px patches. Random weights: it runs in
# seconds on a CPU and its predictions mean nothing.
#
# The landmark branch is a quarter-width MobileFaceNet with one block per
# stage: `conv_4` (stage 5) gives 32 channels at 1/8 of the input; the
# head's input is 1/16 of it (`feat_size`). Frames are 0-255 RGB, as the
# released landmark net expects them after its /255.
landmark_net = dict(
    type='TopdownPoseEstimator',
    backbone=dict(type='MobileFaceNet', widen_factor=0.25,
                  num_blocks=(1, 1, 1), out_indices=(5, )),
    head=dict(type='MobileFaceNetHead', in_channels=128, num_joints=68,
              feat_size=2),
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[0., 0., 0.],
                           std=[255., 255., 255.], bgr_to_rgb=False))
model = dict(
    type='S2DRecognizer',
    backbone=dict(
        type='S2DViT',
        arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=32,
        patch_size=8,
        num_frames=4,
        landmark=dict(type='LandmarkFeatureExtractor', model=landmark_net,
                      checkpoint=None, input_size=(32, 32),
                      grid_size=(4, 4)),
        landmark_channels=32,
        tma=dict(ratio=0.25, num_heads=2)),
    cls_head=dict(
        type='S2DHead',
        num_classes=7,
        in_channels=32,
        dropout_ratio=0.,
        average_clips='prob',
        loss_sdl=dict(type='EmotionAnchorsSDL', num_classes=7, feat_dim=32,
                      queue_size=4, topk=2)),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
