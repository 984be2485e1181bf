"""Run a test (``tools/test.py``, ``runner.test()``) in another precision.

``custom_hooks = [dict(type='InferencePrecisionHook', precision='int8')]``
(or ``tools/test.py --precision int8``) prepares the model with
:func:`s2d_mm.apis.precision.apply_precision` in ``before_test``, i.e.
after the runner has loaded the checkpoint (quantized layers load no
float weights) and before the first batch. The chosen mode is logged (for
``auto`` with the table it measured, see
:mod:`s2d_mm.apis.auto_precision`);
a precision the machine only emulates stops the run with the reason.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from s2d_mm.registry import S2D_HOOK_REGISTRIES, register_in


@register_in(*S2D_HOOK_REGISTRIES)
class InferencePrecisionHook(Hook):
    """Prepare the model for a test run in ``precision``.

    Args:
        precision (str): ``auto``, ``fp32``, ``bf16``, ``int8`` or
            ``onnx`` (see :mod:`s2d_mm.apis.precision`).
        onnx_file (str, optional): for ``onnx``: a file exported from the
            same weights; None exports one at the start of the test.
    """

    priority = 'VERY_LOW'

    def __init__(self, precision: str = 'auto',
                 onnx_file: Optional[str] = None):
        from s2d_mm.apis.precision import PRECISIONS
        if precision not in PRECISIONS:
            raise ValueError(f'InferencePrecisionHook: precision must be one '
                             f'of {PRECISIONS}, got {precision!r}')
        self.precision = precision
        self.onnx_file = onnx_file

    def before_test(self, runner) -> None:
        from s2d_mm.apis.precision import apply_precision
        model = runner.model
        if is_model_wrapper(model):
            if self.precision not in ('fp32', ):
                raise RuntimeError(
                    'InferencePrecisionHook: a non-fp32 precision runs in one '
                    'process (launcher none); the model is wrapped in '
                    f'{type(model).__name__}')
            return
        apply_precision(model, self.precision, onnx_file=self.onnx_file)
        # with auto: what was measured and picked (the table), or the rule
        print_log('test ' + model.inference_precision.explain(),
                  logger='current')
