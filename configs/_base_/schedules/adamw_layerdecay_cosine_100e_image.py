# Image-stage (SFER) schedule. S2D's own image-stage hyper-parameters are
# not published (docs/released_code.md §3.1); this is the recipe of the
# authors' MAE-SFER fine-tune that S2D's image model comes from: AdamW,
# base lr 5e-4 per 256 images (auto_scale_lr), layer-wise lr decay 0.65,
# weight decay 0.05 except norms, biases, 1-D parameters and embeddings,
# 5 warm-up epochs then cosine to 1e-6, 100 epochs, mixed precision.
max_epochs = 100
warmup_epochs = 5

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    optimizer=dict(
        type='AdamW', lr=5e-4, betas=(0.9, 0.999), eps=1e-8,
        weight_decay=0.05),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        flat_decay_mult=0.,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.),
            '.cls_token': dict(decay_mult=0.),
        }))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]

auto_scale_lr = dict(enable=True, base_batch_size=256)
