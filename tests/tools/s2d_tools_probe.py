"""Test-only hook (imported by the tiny configs of tests/tools through
``custom_imports``): records what each rank trained on and its final
state, so the tests can compare ranks and runs."""
import json
import os
import os.path as osp
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class ToolsProbeHook(Hook):
    """``kill_at_iter``: the process sends itself SIGKILL after that many
    training iterations (an interrupted run, for the resume tests)."""
    priority = 'LOWEST'

    def __init__(self, kill_at_iter=None):
        self.kill_at_iter = kill_at_iter

    def before_train(self, runner):
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        for sample in data_batch['data_samples']:
            self.seen.append(osp.basename(sample.metainfo['frame_dir']))
        if self.kill_at_iter is not None and \
                runner.iter + 1 >= self.kill_at_iter:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train(self, runner):
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        rank = get_rank()
        torch.save(model.state_dict(),
                   osp.join(runner.work_dir, f'probe_rank{rank}.pth'))
        optim = runner.optim_wrapper.optimizer.state_dict()
        torch.save(optim, osp.join(runner.work_dir, f'probe_optim{rank}.pth'))
        with open(osp.join(runner.work_dir, f'probe_rank{rank}.json'),
                  'w') as f:
            json.dump(dict(rank=rank, seen=self.seen), f)
