"""Train the last epochs with BatchNorm in its test-time form."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from s2d_mm.registry import S2D_HOOK_REGISTRIES, register_in


def batch_norm_layers(model: nn.Module) -> List[_BatchNorm]:
    """Every BatchNorm layer (1d/2d/3d, SyncBN) of a possibly wrapped
    model."""
    if is_model_wrapper(model):
        model = model.module
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


@register_in(*S2D_HOOK_REGISTRIES)
class FrozenBatchNormHook(Hook):
    """From ``begin_epoch`` on, every BatchNorm layer normalises with its
    running statistics during training too, and those stop moving.

    In training mode BatchNorm divides a channel by the spread of the
    current batch, which includes the sample itself: one frame whose channel
    is far off the others is scaled down to at most ``sqrt(B - 1)`` standard
    deviations, whatever its value. At test time the running statistics
    carry no such bound, so a frame the loss saw as harmless can come out
    of the network far off (the demo landmark network predicted landmarks
    ~1000 px outside 112-px frames for whole clips whose training loss was
    small). Training the final epochs with the test-time function ("frozen
    BN", Wu & Johnson, *Rethinking "Batch" in BatchNorm*, 2021, Sec. 4)
    lets the loss see, and correct, exactly what inference computes. The
    affine weights and biases keep training.

    The layers are put back in eval mode before every training iteration of
    the frozen epochs (the train loop calls ``model.train()`` at the start
    of each epoch and validation may switch modes in between).

    Args:
        begin_epoch (int): First 0-based epoch trained with frozen
            statistics (``runner.epoch``); with ``max_epochs=12`` and
            ``begin_epoch=10`` the last two epochs are frozen.
    """

    priority = 'NORMAL'

    def __init__(self, begin_epoch: int) -> None:
        if int(begin_epoch) != begin_epoch or begin_epoch < 0:
            raise ValueError('begin_epoch must be a non-negative int, got '
                             f'{begin_epoch!r}')
        self.begin_epoch = int(begin_epoch)
        self._layers: Optional[List[_BatchNorm]] = None

    def before_train(self, runner) -> None:
        self._layers = batch_norm_layers(runner.model)
        if not self._layers:
            runner.logger.warning(
                'FrozenBatchNormHook: the model has no BatchNorm layer')
        if self.begin_epoch >= runner.max_epochs:
            runner.logger.warning(
                f'FrozenBatchNormHook: begin_epoch {self.begin_epoch} is '
                f'not before max_epochs {runner.max_epochs}; BatchNorm is '
                'never frozen')

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.begin_epoch and self._layers:
            runner.logger.info(
                f'FrozenBatchNormHook: epochs {self.begin_epoch + 1}-'
                f'{runner.max_epochs} train {len(self._layers)} BatchNorm '
                'layers with their running statistics')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if runner.epoch < self.begin_epoch:
            return
        for layer in self._layers or ():
            if layer.training:
                layer.eval()
