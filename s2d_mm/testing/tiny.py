"""Tiny model pieces for tests and smoke runs (seconds on a CPU)."""


def tiny_landmark_net(out_indices=(5, ), feat_size=2, num_joints=5,
                      preprocessor=True):
    """An mmpose face-landmark model: quarter-width MobileFaceNet with one
    block per stage. ``conv_4`` (stage index 5) has 32 channels at 1/8 of
    the input size; ``feat_size`` is the head's input size (input / 16).
    """
    model = dict(
        type='TopdownPoseEstimator',
        backbone=dict(type='MobileFaceNet', widen_factor=0.25,
                      num_blocks=(1, 1, 1), out_indices=tuple(out_indices)),
        head=dict(type='MobileFaceNetHead', in_channels=128,
                  num_joints=num_joints, feat_size=feat_size))
    if preprocessor:
        # frames in [0, 255] -> [0, 1], as the released landmark net expects
        model['data_preprocessor'] = dict(
            type='PoseDataPreprocessor', mean=[0., 0., 0.],
            std=[255., 255., 255.], bgr_to_rgb=False)
    return model
