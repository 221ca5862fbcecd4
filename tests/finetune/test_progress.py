"""finetune.progress: a bar on a terminal, a handful of plain lines in a log, nothing when off."""
import io

import pytest

from finetune.progress import ENV, LineProgress, progress, progress_mode


class Log(io.StringIO):
    """A stream that is not a terminal (a Kaggle log, nohup, CI)."""

    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _auto_mode(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def test_a_log_gets_at_most_eleven_lines_and_no_carriage_return():
    log = Log()
    bar = progress(total=1000, desc="epoch 1/20", unit="step", file=log)
    assert isinstance(bar, LineProgress)
    for i in range(1000):
        bar.set_postfix(loss=f"{1 / (i + 1):.3f}", acc=0.5)
        bar.update(1)
    bar.close()
    text = log.getvalue()
    lines = text.splitlines()
    assert 1 <= len(lines) <= 11, lines
    assert "\r" not in text
    assert all(line.startswith("epoch 1/20: ") for line in lines)
    assert "1000/1000 step (100%)" in lines[-1]
    assert "loss=0.001" in lines[-1] and "acc=0.5" in lines[-1] and "step/s" in lines[-1]
    assert "100/1000 step (10%)" in lines[0]


def test_iterating_prints_the_final_count_and_postfix_str():
    log = Log()
    seen = []
    bar = progress(range(1000), desc="val", unit="batch", file=log)
    for x in bar:
        seen.append(x)
        bar.set_postfix_str("acc 0.75")
    assert seen == list(range(1000))
    lines = log.getvalue().splitlines()
    assert len(lines) <= 11 and "1000/1000 batch (100%)" in lines[-1] and lines[-1].endswith("acc 0.75")


def test_a_loop_left_early_prints_where_it_stopped_once():
    log = Log()
    with progress(total=1000, desc="train", file=log) as bar:
        for _ in range(250):
            bar.update()
    lines = log.getvalue().splitlines()
    assert lines[-1].startswith("train: 250/1000 it (25%)") and len(lines) == 3  # 10%, 20%, then 250 at the end


def test_an_unknown_total_prints_every_30_seconds_and_at_the_end():
    now = [0.0]
    log = Log()
    bar = LineProgress(total=None, desc="decode", file=log, clock=lambda: now[0])
    for _ in range(100):  # 100 updates 1 s apart: lines at 30, 60 and 90 s, then the end
        now[0] += 1.0
        bar.update()
    bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("decode: 30 it in 0:30, 1.00 it/s") and lines[-1].startswith("decode: 100 it in 1:40")


def test_slow_steps_show_seconds_per_step():
    now = [0.0]
    log = Log()
    bar = LineProgress(total=2, desc="epoch", unit="step", file=log, clock=lambda: now[0])
    for _ in range(2):
        now[0] += 75.0
        bar.update()
    assert log.getvalue().splitlines()[-1] == "epoch: 2/2 step (100%) in 2:30, 75.00 s/step"


def test_off_prints_nothing(monkeypatch):
    monkeypatch.setenv(ENV, "off")
    log = Terminal()
    bar = progress(total=1000, desc="epoch", file=log)
    for _ in range(1000):
        bar.set_postfix(loss=0.1)
        bar.update(1)
    bar.close()
    assert list(progress(range(5), file=log)) == list(range(5))
    assert log.getvalue() == ""


def test_disable_prints_nothing_in_either_mode():
    for stream in (Log(), Terminal()):
        bar = progress(total=10, desc="x", disable=True, file=stream)
        for _ in range(10):
            bar.update()
        bar.close()
        assert stream.getvalue() == ""


def test_mode_follows_the_stream_unless_forced(monkeypatch):
    from tqdm import tqdm

    assert progress_mode(Log()) == "lines" and progress_mode(Terminal()) == "bar"
    bar = progress(total=3, file=Terminal())
    assert isinstance(bar, tqdm) and bar.leave is False
    bar.close()
    monkeypatch.setenv(ENV, "lines")
    assert progress_mode(Terminal()) == "lines"
    monkeypatch.setenv(ENV, "bar")
    assert progress_mode(Log()) == "bar"
    monkeypatch.setenv(ENV, "fancy")
    with pytest.raises(ValueError, match="FINETUNE_PROGRESS='fancy'"):
        progress_mode(Log())
