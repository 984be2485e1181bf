# MobileFaceNet face-landmark regressor (the landmark network of S2D's
# release, cunjian/pytorch_face_landmark) as an mmpose top-down model.
#
# * Released weights: `tools/convert_official_s2d.py` (or
#   `s2d_mm.models.backbones.mobilefacenet.convert_mobilefacenet_state_dict`)
#   maps `mobilefacenet_model_best.pth.tar` to this layout; alternatively set
#   `init_cfg=dict(type='Pretrained', checkpoint=<.pth.tar>)` on both the
#   backbone and the head, which read the released file unchanged.
# * Other landmark sets / sizes: override in the child config, e.g.
#       model = dict(head=dict(num_joints=5))                   # K landmarks
#       model = dict(backbone=dict(widen_factor=0.5, num_blocks=(1, 2, 1)),
#                    head=dict(in_channels=256))                  # narrower
#   Inputs other than 112x112 need `head.feat_size = input_side // 16` and
#   the codec's `input_size`.
# * Used by S2D through `LandmarkFeatureExtractor(model=<this file>, ...)`,
#   which taps `conv_4` (backbone stage 5, 128x14x14 at 112x112).
#
# Inputs: the release feeds BGR / 255 crops (no mean subtraction), hence
# mean 0, std 255 and no channel swap (mmpose loads images as BGR).
num_keypoints = 68
codec = dict(type='RegressionLabel', input_size=(112, 112))

model = dict(
    type='TopdownPoseEstimator',
    _scope_='mmpose',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=False),
    backbone=dict(
        type='MobileFaceNet',
        widen_factor=1.0,
        num_blocks=(4, 6, 2),
        out_indices=(8, )),
    head=dict(
        type='MobileFaceNetHead',
        in_channels=512,
        num_joints=num_keypoints,
        feat_size=7,
        loss=dict(type='SmoothL1Loss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))
