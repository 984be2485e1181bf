import pytest
from perf_tiny import build_pair


@pytest.fixture
def pair():
    return build_pair()
