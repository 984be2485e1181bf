# Runtime of the image-stage configs: the shared runtime with mmpretrain's
# scope and visualizer, best checkpoints by UAR and WAR.
_base_ = ['./default_runtime.py']

default_scope = 'mmpretrain'
visualizer = dict(
    _delete_=True,
    type='UniversalVisualizer',
    vis_backends=[dict(type='LocalVisBackend')])
default_hooks = dict(
    checkpoint=dict(save_best=['UAR', 'WAR'], rule='greater'))
