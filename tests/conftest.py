import os
import sys

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Outside the installed package, importable in the tests: the demo
# (``demo``) and the benchmark helpers (``s2d_benchmark``, with the
# release-style reference path); ``tests/`` itself (``s2d_testing``) is
# put on the path by pytest.
for _path in (REPO_ROOT, os.path.join(REPO_ROOT, 'tools', 'analysis')):
    if _path not in sys.path:
        sys.path.insert(0, _path)


#: torch threads of every test (``S2D_TEST_THREADS``, default 1) and the
#: seed of the tests marked ``trains`` (``S2D_TEST_SEED``, default 0): the
#: training tests must hold under other thread counts and seeds too, which
#: ``make test-kernels`` and the margin grid of docs/testing.md check.
TEST_THREADS = int(os.environ.get('S2D_TEST_THREADS') or 1)
TRAIN_SEED = int(os.environ.get('S2D_TEST_SEED') or 0)


@pytest.fixture(scope='session')
def test_threads():
    """Torch threads of every test (``S2D_TEST_THREADS``, default 1), for
    module fixtures and subprocesses that must match the tests."""
    return TEST_THREADS


@pytest.fixture(scope='session')
def train_seed():
    """Seed of a training test (``S2D_TEST_SEED``, default 0)."""
    return TRAIN_SEED


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def reference_dir():
    """Folder of the authors' reference tensors (``tests/data/official_s2d``).

    ``S2D_REFERENCE_DIR`` overrides it (same file names and config JSON), so
    other configurations can be checked without editing the tests.
    """
    path = os.environ.get('S2D_REFERENCE_DIR') or os.path.join(
        REPO_ROOT, 'tests', 'data', 'official_s2d')
    if not os.path.isdir(path):
        pytest.fail(f'reference folder not found: {path} (set S2D_REFERENCE_DIR)')
    return os.path.abspath(path)


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny models on a shared 2-core machine: two OpenMP threads mostly wait
    # on each other; one thread runs them several times faster.
    # S2D_TEST_THREADS changes it (a thread count changes how sums are split,
    # hence the rounding).
    before = torch.get_num_threads()
    torch.set_num_threads(TEST_THREADS)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _unformatted_config_dumps(monkeypatch):
    # mmengine's Runner logs and dumps the config through yapf, which costs
    # more than training the tiny models of the tests; the unformatted text
    # is the same Python.
    import mmengine.config.config as mm_config
    monkeypatch.setattr(mm_config, 'FormatCode',
                        lambda text, **kwargs: (text, None))


def _manager_classes(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _manager_classes(sub)


@pytest.fixture(autouse=True)
def _fresh_mmengine_globals():
    """Forget the loggers, message hubs, visualizers and default scope a
    test's Runner left behind: a later test would otherwise write into that
    run's log folder or resolve registries in its scope."""
    yield
    from mmengine.utils import ManagerMixin
    for cls in set(_manager_classes(ManagerMixin)):
        cls._instance_dict.clear()
