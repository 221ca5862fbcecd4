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


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory):
    """A factory: `toy_dataset(classes=3, clips_per_class=6, ...)` writes the synthetic action clips in the
    competition's layout into a fresh temporary folder and returns its path (finetune's make-toy-data)."""
    from finetune.toy import write_toy_dataset

    def make(**kwargs):
        return write_toy_dataset(tmp_path_factory.mktemp("toy") / "data", **kwargs)

    return make
