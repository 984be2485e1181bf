"""tools/dist_train.sh with 2 CPU processes (gloo, --launcher pytorch)."""
import json
import os
import socket
import subprocess
import sys

import torch

from .conftest import HERE, REPO


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_disjoint_data_identical_state(tiny_experiment, tmp_path):
    cfg_path, data = tiny_experiment
    work = tmp_path / 'dist'
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        CUDA_VISIBLE_DEVICES='',
        PYTHONPATH=os.pathsep.join([HERE, env.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        ['bash', os.path.join(REPO, 'tools', 'dist_train.sh'), cfg_path, '2',
         '--work-dir', str(work), '--cfg-options', 'train_cfg.max_epochs=1'],
        cwd=str(tmp_path), env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    seen = [json.load(open(work / f'probe_rank{r}.json'))['seen']
            for r in range(2)]
    # DistributedSampler: 14 clips split 7 / 7, no clip on both ranks
    assert len(seen[0]) == len(seen[1]) == 7
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == sorted(data['train_names'])

    states = [
        torch.load(work / f'probe_rank{r}.pth', map_location='cpu',
                   weights_only=True) for r in range(2)
    ]
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    # every rank's bank holds the clips of both ranks (gathered pushes)
    count = states[0]['cls_head.loss_sdl.anchor_count']
    assert count.tolist() == [2] * 7
    assert (states[0]['cls_head.loss_sdl.anchor_feats'][:, :2] != 0).any(
        dim=-1).all()
