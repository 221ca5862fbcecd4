"""Fixtures shared by the test files."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """Torch on one thread: tiny matrices gain nothing from a second one and lose a lot on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
