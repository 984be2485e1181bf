# S2D image stage (SFER): ViT-B/16 + Multi-View Complementary Prompters
# on AffectNet-8 (with contempt), mmpretrain ImageClassifier.
# mmaction2/mmpretrain-style name:
#   vitmcp_vit-base-p16_mae-affectnet-pre_2xb32-100e-cb_affectnet8-224px
# Everything as the AffectNet-7 config (MAE-SFER recipe, class-balanced
# sampling, held-out 10 % of the training split for checkpoint selection)
# but with the eighth class, contempt, kept.
# Protocol: as the AffectNet-7 config (test: official validation set).
# Run on real data: not by this project (no dataset, no GPU here).
_base_ = ['./vitmcp_vit-base-p16_affectnet7.py']

num_classes = 8
model = dict(
    head=dict(num_classes=num_classes),
    data_preprocessor=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(num_classes=num_classes))
val_dataloader = dict(dataset=dict(num_classes=num_classes))
test_dataloader = dict(dataset=dict(num_classes=num_classes))
