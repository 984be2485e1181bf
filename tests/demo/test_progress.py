"""DemoProgressHook: the bar it draws and the curves it records."""
import io
from types import SimpleNamespace

import torch

from demo.progress import DemoProgressHook


def test_progress_hook_records_losses_and_metrics():
    stream = io.StringIO()
    hook = DemoProgressHook(title='video', width=10, stream=stream)
    runner = SimpleNamespace(iter=0, max_iters=4, epoch=0, max_epochs=2)
    hook.before_train(runner)
    for it in range(4):
        runner.iter, runner.epoch = it, it // 2
        hook.after_train_iter(runner, it,
                              outputs=dict(loss=torch.tensor(1.0 / (it + 1))))
        if it % 2 == 1:
            runner.epoch += 1  # mmengine counts the epoch before validating
            hook.after_val_epoch(runner, dict(UAR=20.0 * runner.epoch))
    hook.after_train(runner)

    assert [i for i, _ in hook.losses] == [1, 2, 3, 4]
    assert [round(v, 3) for _, v in hook.losses] == [1.0, 0.5, 0.333, 0.25]
    assert hook.val_metrics == [(1, dict(UAR=20.0)), (2, dict(UAR=40.0))]
    lines = stream.getvalue().split('\r')[1:]
    assert len(lines) == 5
    assert '[#####.....]  50.0% epoch 1/2 loss 0.500' in lines[1]
    assert 'val UAR 20.0' in lines[2] and 'loss 0.333' in lines[2]
    assert lines[-1].startswith('  video        [##########] 100.0% done')
    assert lines[-1].endswith('\n') and 'val UAR 40.0' in lines[-1]

    # a second run starts its records afresh
    hook.before_train(runner)
    assert hook.losses == [] and hook.val_metrics == []
