# Video-stage (DFER) schedule of S2D, as in the released scripts:
# AdamW (0.9, 0.999), weight decay 0.05 except norms, biases, 1-D parameters
# and embeddings; lr 1e-5 per 8 clips, scaled linearly with the total batch
# (auto_scale_lr, 2e-5 on 2 GPUs x 8); 2 linear warm-up epochs then cosine
# down to 6.25e-10, both stepped per iteration; 100 epochs; mixed precision.
# Epochs are 0-based everywhere (mmengine and the release agree).
max_epochs = 100
warmup_epochs = 2

train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    # AMP as released; 'bfloat16' also works (then no loss scaling is
    # needed). tools/train.py falls back to float32 on machines without GPU.
    type='AmpOptimWrapper',
    dtype='float16',
    optimizer=dict(
        type='AdamW', lr=1e-5, betas=(0.9, 0.999), eps=1e-8,
        weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        # the release excludes every 1-D parameter (e.g. the MCP fovea scale)
        flat_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'temporal_embedding': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
        }))

param_scheduler = [
    # The release warms up linearly from exactly 0 per iteration; LinearLR
    # needs a factor > 0, and 1e-8 x lr is 0 to float32 precision at lr 2e-5
    # (docs/released_code.md §7, item 28).
    dict(
        type='LinearLR',
        start_factor=1e-8,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=6.25e-10,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

# lr above is for a total batch of 8 clips (the release's lr * batch / 8).
auto_scale_lr = dict(enable=True, base_batch_size=8)

# Emotion-Anchors Self-Distillation schedule (a no-op for models without
# SDL): weight 0 / 0.01 / 0.1 / 0.5 / 1.0 from epochs 30 / 50 / 60 / 80,
# only after epoch 20; anchors refreshed in epochs e % 40 == 0 (40 and 80).
custom_hooks = [
    dict(
        type='SDLScheduleHook',
        milestones=[30, 50, 60, 80],
        values=[0., 0.01, 0.1, 0.5, 1.0],
        start_epoch=20,
        update_freq=40)
]
