# S2D image stage (SFER): ViT-B/16 + Multi-View Complementary Prompters
# on FERPlus (8 classes, majority vote), mmpretrain ImageClassifier.
# mmaction2/mmpretrain-style name:
#   vitmcp_vit-base-p16_mae-affectnet-pre_2xb32-100e_ferplus-224px
# (2 GPUs x 32 images, 100 epochs, 224x224.) S2D's own image-stage
# hyper-parameters are not published; the schedule and augmentation follow
# the authors' MAE-SFER fine-tune (configs/_base_/schedules/
# adamw_layerdecay_cosine_100e_image.py): label smoothing 0.1, mixup 0.8 /
# cutmix 1.0, RandAugment, random erasing 0.25, drop-path 0.1.
# Checkpoints are selected on FERPlus' own validation split (PublicTest).
_base_ = [
    '../_base_/models/vitmcp_vit-base-p16.py',
    '../_base_/datasets/ferplus.py',
    '../_base_/schedules/adamw_layerdecay_cosine_100e_image.py',
    '../_base_/default_runtime.py'
]

# Image-stage runtime: mmpretrain scope and visualizer.
default_scope = 'mmpretrain'
visualizer = dict(
    _delete_=True,
    type='UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')])

# ViT-B/16 initialisation: the MAE ViT-B pre-trained on AffectNet images
# (MSA-LMC/MAE-SFER), converted with tools/convert_official_s2d.py (keys
# `backbone.*`); MCPs and the landmark projection start fresh.
vit_init_ckpt = 'checkpoints/mae_vit-base-p16_affectnet-pre.pth'
# Released MobileFaceNet (landmark/mobilefacenet_model_best.pth.tar).
landmark_ckpt = 'checkpoints/mobilefacenet_model_best.pth.tar'

num_classes = 8
model = dict(
    backbone=dict(
        landmark=dict(checkpoint=landmark_ckpt),
        init_cfg=dict(
            type='Pretrained', checkpoint=vit_init_ckpt,
            prefix='backbone.')),
    head=dict(
        num_classes=num_classes,
        loss=dict(
            _delete_=True, type='LabelSmoothLoss', label_smooth_val=0.1,
            mode='original')),
    # mixup/cutmix turn labels into one-hot scores of num_classes
    data_preprocessor=dict(num_classes=num_classes),
    # one of mixup 0.8 / cutmix 1.0 per batch (MAE-SFER recipe)
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))

default_hooks = dict(
    checkpoint=dict(save_best=['UAR', 'WAR'], rule='greater'))
