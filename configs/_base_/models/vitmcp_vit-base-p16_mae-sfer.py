# S2D image model as the image-stage experiments train it: ViT-B/16 + MCPs
# (vitmcp_vit-base-p16.py) initialised from the MAE ViT-B pre-trained on
# AffectNet images (MSA-LMC/MAE-SFER), with the MAE-SFER fine-tune's label
# smoothing 0.1 and one of mixup 0.8 / cutmix 1.0 per batch. S2D's own
# image-stage hyper-parameters are not published.
_base_ = ['./vitmcp_vit-base-p16.py']

# converted with tools/convert_official_s2d.py (keys `backbone.*`); MCPs and
# the landmark projection start fresh
vit_init_ckpt = 'checkpoints/mae_vit-base-p16_affectnet-pre.pth'
# Released MobileFaceNet (landmark/mobilefacenet_model_best.pth.tar).
landmark_ckpt = 'checkpoints/mobilefacenet_model_best.pth.tar'

num_classes = 7
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
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
