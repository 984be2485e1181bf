import os

import pytest
import torch

# Two pytest-xdist workers share two cores: one thread each avoids
# oversubscription that would slow every test several times over.
if os.environ.get('PYTEST_XDIST_WORKER'):
    torch.set_num_threads(1)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def reference_dir():
    """Folder of the authors' reference tensors.

    ``S2D_REFERENCE_DIR`` overrides it (same file names and config JSON), so
    other configurations can be checked without editing the tests.
    """
    path = os.environ.get('S2D_REFERENCE_DIR') or os.path.join(
        REPO_ROOT, '..', 'shared', 'reference', 'official_s2d')
    if not os.path.isdir(path):
        pytest.fail(f'reference folder not found: {path} (set S2D_REFERENCE_DIR)')
    return os.path.abspath(path)
