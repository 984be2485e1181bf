"""Where s2d_mm's modules are registered.

The models live in the registries of the codebases they extend: the video
stage in mmaction2's, the image stage in mmpretrain's, landmark networks in
mmpose's. s2d_mm adds one registry, :data:`FACE_DETECTORS`, for the face
detectors of :mod:`s2d_mm.video_analysis` (application code, not models).
Building blocks that both stages use (prompter, adapter, landmark branch,
self-distillation loss) are registered in mmaction2's *and* mmpretrain's
``MODELS`` so that configs of either default scope can name them.
"""
from mmaction.registry import DATA_SAMPLERS as MMACTION_DATA_SAMPLERS
from mmaction.registry import DATASETS as MMACTION_DATASETS
from mmaction.registry import HOOKS as MMACTION_HOOKS
from mmaction.registry import METRICS as MMACTION_METRICS
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.registry import TRANSFORMS as MMACTION_TRANSFORMS
from mmengine.registry import Registry
from mmpose.registry import METRICS as MMPOSE_METRICS
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpretrain.registry import DATASETS as MMPRETRAIN_DATASETS
from mmpretrain.registry import METRICS as MMPRETRAIN_METRICS
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS

#: face detectors (``BaseFaceDetector`` subclasses): not trained, not
#: recognizers, so kept out of mmaction's ``MODELS``
FACE_DETECTORS = Registry(
    'face detector', scope='s2d_mm',
    locations=['s2d_mm.video_analysis.face_detectors'])

__all__ = [
    'FACE_DETECTORS', 'MMACTION_DATASETS', 'MMACTION_DATA_SAMPLERS', 'MMACTION_HOOKS',
    'MMACTION_METRICS', 'MMACTION_MODELS', 'MMACTION_TRANSFORMS',
    'MMPOSE_METRICS', 'MMPOSE_MODELS', 'MMPRETRAIN_DATASETS',
    'MMPRETRAIN_METRICS', 'MMPRETRAIN_MODELS', 'MMPRETRAIN_TRANSFORMS',
    'build_in_scope', 'register_in'
]


def register_in(*registries, name=None):
    """Class decorator registering one class in several registries.

    Example::

        @register_in(MMACTION_MODELS, MMPRETRAIN_MODELS)
        class TemporalModelingAdapter(BaseModule):
            ...
    """

    def _register(cls):
        for registry in registries:
            registry.register_module(name=name, module=cls)
        return cls

    return _register


def build_in_scope(registry, cfg, **kwargs):
    """Build ``cfg`` from ``registry`` under that registry's own scope.

    mmengine resolves a build against the *current default scope*: once a
    Runner of another codebase exists in the process (say mmpose's, when a
    landmark model was trained first), ``MMACTION_MODELS.build`` would look in
    mmpose's registry and fail. Parts that always come from one registry
    (the adapter inside a prompter, an mmpose loss inside an mmpose head)
    are built here, whatever scope the caller runs in.
    """
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(registry.scope):
        return registry.build(cfg, **kwargs)
