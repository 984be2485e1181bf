# Runtime shared by the s2d_mm configs (video stage; the image-stage
# configs switch default_scope and the visualizer to mmpretrain's).
default_scope = 'mmaction'
custom_imports = dict(imports=['s2d_mm'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # best checkpoint on the validation split (never the test split)
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # generators re-seeded per epoch so that --resume continues exactly
    epoch_seed=dict(type='EpochSeedHook'),
    # load_from / resume / tools/test.py refuse a checkpoint that does not
    # fit the model; `strict=False` loads what fits (partial load),
    # `allow_head_mismatch=True` fine-tunes to another class set
    strict_load=dict(type='StrictLoadHook'))
# No SyncBuffersHook: the model has no BatchNorm statistics to average
# (LayerNorm ViT, landmark network frozen in eval mode) and the SDL anchor
# bank is kept identical across ranks by the loss itself; averaging its
# integer pointers would be wrong anyway.

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False

# The release seeds with 0 + rank.
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
