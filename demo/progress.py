"""A one-line progress bar for demo training runs, and what it records.

mmengine's ``LoggerHook`` writes a log line every few iterations; for the
demo a single updating line per stage reads better on a terminal. The hook
also keeps the training loss of every iteration and the validation metrics
of every epoch, from which the demo draws its training curves.
"""
import sys
import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _fmt_time(seconds):
    seconds = int(max(0, seconds))
    return f'{seconds // 60}:{seconds % 60:02d}'


@HOOKS.register_module()
class DemoProgressHook(Hook):
    """Draw ``stage [#####.....] 45% epoch 3/12 loss 0.31 ETA 1:20``.

    Args:
        title (str): name of the stage shown before the bar.
        width (int): bar width in characters.
        stream: where to draw (default: the process's real standard
            output, so the bar stays visible while the demo silences the
            prints of dataset loaders).

    Attributes:
        losses (list[tuple]): ``(iteration, loss)`` of every training
            iteration.
        val_metrics (list[tuple]): ``(epoch, metrics dict)`` after every
            validation.
    """

    priority = 'LOW'

    def __init__(self, title='train', width=30, stream=None):
        self.title = title
        self.width = width
        self.stream = stream
        self.losses = []
        self.val_metrics = []
        self._start = None
        self._last_val = ''

    def _write(self, text):
        stream = self.stream or sys.__stdout__ or sys.stdout
        stream.write('\r' + text)
        stream.flush()

    def before_train(self, runner):
        self._start = time.time()
        self.losses.clear()
        self.val_metrics.clear()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        loss = None
        if outputs is not None and 'loss' in outputs:
            loss = float(outputs['loss'])
            self.losses.append((runner.iter + 1, loss))
        done = runner.iter + 1
        total = runner.max_iters
        frac = done / max(1, total)
        elapsed = time.time() - self._start
        eta = elapsed / frac - elapsed if frac > 0 else 0
        fill = int(round(frac * self.width))
        bar = '#' * fill + '.' * (self.width - fill)
        text = (f'  {self.title:<12} [{bar}] {100 * frac:5.1f}% '
                f'epoch {runner.epoch + 1}/{runner.max_epochs}')
        if loss is not None:
            text += f' loss {loss:.3f}'
        text += f'{self._last_val} ETA {_fmt_time(eta)}  '
        self._write(text)

    def after_val_epoch(self, runner, metrics=None):
        if metrics:
            self.val_metrics.append((runner.epoch, dict(metrics)))
            if 'UAR' in metrics:
                self._last_val = f' val UAR {metrics["UAR"]:.1f}'

    def after_train(self, runner):
        elapsed = time.time() - (self._start or time.time())
        self._write(f'  {self.title:<12} [{"#" * self.width}] 100.0% done '
                    f'in {_fmt_time(elapsed)}{self._last_val}'
                    + ' ' * 20 + '\n')
