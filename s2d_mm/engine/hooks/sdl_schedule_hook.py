"""Epoch schedule of the Emotion-Anchors Self-Distillation loss."""
from bisect import bisect_right
from typing import List, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from s2d_mm.models.losses.sdl import EmotionAnchorsSDL
from s2d_mm.registry import S2D_HOOK_REGISTRIES, register_in


def find_sdl_modules(model) -> List[EmotionAnchorsSDL]:
    """All :class:`EmotionAnchorsSDL` modules of a (possibly DDP-wrapped)
    model, e.g. ``model.cls_head.loss_sdl``."""
    if is_model_wrapper(model):
        model = model.module
    return [m for m in model.modules() if isinstance(m, EmotionAnchorsSDL)]


@register_in(*S2D_HOOK_REGISTRIES)
class SDLScheduleHook(Hook):
    """Set the SDL loss weight and the anchor-refresh flag every epoch.

    With 0-based epochs ``e`` (mmengine's ``runner.epoch``, as in the
    released code):

    - weight: ``values[i]`` where ``i`` is the number of ``milestones``
      ``<= e``, but 0 while ``e <= start_epoch`` (SDL only after epoch 20);
    - refresh: anchors are pushed after every iteration of the epochs with
      ``e % update_freq == 0 and e > start_epoch``.

    The defaults are the released schedule (0 / 0.01 / 0.1 / 0.5 / 1.0 from
    epochs 30 / 50 / 60 / 80, start 20) and the refresh frequency of the
    released DFEW/MAFW scripts (40, i.e. epochs 40 and 80 of 100). The
    released FERV39k script used 100 with 100 epochs, so its anchors were
    never refreshed; the hook warns when a schedule can never refresh.

    The hook is registered in mmaction2's, mmpretrain's and mmpose's
    ``HOOKS`` so that configs of those default scopes can use it. It finds
    the SDL
    modules by type, so it works on DDP-wrapped models; a model without SDL
    (e.g. ``model.cls_head.loss_sdl=None``) only gets a warning.

    Args:
        milestones (Sequence[int]): Epochs at which the weight changes.
        values (Sequence[float]): ``len(milestones) + 1`` weights.
        start_epoch (int): SDL is off (weight 0, no refresh) up to and
            including this epoch. Defaults to 20.
        update_freq (int): Anchor refresh frequency in epochs.
            Defaults to 40.
    """

    priority = 'NORMAL'

    def __init__(self,
                 milestones: Sequence[int] = (30, 50, 60, 80),
                 values: Sequence[float] = (0., 0.01, 0.1, 0.5, 1.0),
                 start_epoch: int = 20,
                 update_freq: int = 40) -> None:
        milestones = [int(m) for m in milestones]
        values = [float(v) for v in values]
        if len(values) != len(milestones) + 1:
            raise ValueError(
                'SDLScheduleHook: values needs len(milestones) + 1 = '
                f'{len(milestones) + 1} entries, got {len(values)}')
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError('SDLScheduleHook: milestones must be strictly '
                             f'increasing, got {milestones}')
        if int(update_freq) < 1:
            raise ValueError('SDLScheduleHook: update_freq must be >= 1, '
                             f'got {update_freq}')
        self.milestones = milestones
        self.values = values
        self.start_epoch = int(start_epoch)
        self.update_freq = int(update_freq)

    def weight_at(self, epoch: int) -> float:
        """SDL weight of the 0-based ``epoch``."""
        if epoch <= self.start_epoch:
            return 0.
        return self.values[bisect_right(self.milestones, epoch)]

    def refresh_at(self, epoch: int) -> bool:
        """Whether anchors are refreshed during the 0-based ``epoch``."""
        return epoch > self.start_epoch and epoch % self.update_freq == 0

    def before_train(self, runner) -> None:
        sdls = find_sdl_modules(runner.model)
        if not sdls:
            runner.logger.warning(
                'SDLScheduleHook: the model has no EmotionAnchorsSDL module; '
                'the hook does nothing.')
            return
        refresh_epochs = [
            e for e in range(runner.max_epochs) if self.refresh_at(e)
        ]
        if not refresh_epochs and not all(s.release_compat for s in sdls):
            runner.logger.warning(
                f'SDLScheduleHook: with update_freq={self.update_freq}, '
                f'start_epoch={self.start_epoch} and '
                f'{runner.max_epochs} epochs the anchors are never '
                'refreshed (the released FERV39k script had this bug with '
                'update_freq=100), so SDL stays at 0 on an empty bank.')
        runner.logger.info(
            f'SDLScheduleHook: anchors refreshed in epochs {refresh_epochs} '
            '(0-based)')

    def before_train_epoch(self, runner) -> None:
        epoch = runner.epoch
        weight, refresh = self.weight_at(epoch), self.refresh_at(epoch)
        for sdl in find_sdl_modules(runner.model):
            sdl.weight = weight
            sdl.refresh = refresh
        runner.message_hub.update_scalar('train/sdl_weight', weight)

    def after_train_epoch(self, runner) -> None:
        # A validation or test forward after this epoch must not push.
        for sdl in find_sdl_modules(runner.model):
            sdl.refresh = False
