import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny models on a shared 2-core machine: one thread is much faster
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _unformatted_config_dumps(monkeypatch):
    # The Runner logs and dumps the config through yapf, which costs more
    # than training these tiny models; the unformatted text is the same
    # Python.
    import mmengine.config.config as mm_config
    monkeypatch.setattr(mm_config, 'FormatCode',
                        lambda text, **kwargs: (text, None))
