# Shared settings of the demo configs (synthetic data, tiny models). Sizes
# are chosen so that `make demo` trains everything on a 2-core CPU in
# minutes; the real recipes live in configs/s2d/.
# Run on real data: never (synthetic data of demo/ only).
data_root = 'work_dirs/demo/data/'
classes = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust',
           'Fear')
img_side = 64
patch_size = 8
vit_arch = dict(_delete_=True, embed_dims=64, num_layers=4, num_heads=4,
                feedforward_channels=192)
# A ViT trained from scratch on ~1000 stills learns slowly from a plain
# linear patch embedding; a small CNN stem (hybrid ViT) gives it the
# locality prior that pretraining gives the paper's ViT-B/16.
patch_cfg = dict(conv_type='ConvPatchStem')

# The demo landmark network (trained first by demo/run_demo.py).
# MobileFaceNet's conv_4 (stage 5, stride 8) lands on the 8x8 patch grid.
landmark_config = '{{ fileDirname }}/landmark_mobilefacenet-s_synthetic-64px.py'
landmark_checkpoint = 'work_dirs/demo/landmark/landmark.pth'
landmark_channels = 64
landmark_branch = dict(
    type='LandmarkFeatureExtractor',
    model=landmark_config,
    checkpoint=landmark_checkpoint,
    out_indices=(5, ),
    input_size=(img_side, img_side),
    grid_size=(img_side // patch_size, img_side // patch_size),
    input_norm='model')

# CPU-friendly runtime: no worker processes, gloo if ever distributed
demo_env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))
