"""Raw videos as clips: PyAV decoding of the sampled frames, extract-frames, check-data, a run on videos, no PyAV.

The clips are written here with PyAV itself (not with the code under test), tiny
(32x24, 10-20 frames), and each frame a flat grey level that encodes its index,
so a decoded frame says which frame it is despite the codec's loss.
"""
import csv
import shutil
import sys

import av
import numpy as np
import pytest
from PIL import Image

from finetune.cli import main
from finetune.data import video
from finetune.data.dataset import VideoClipDataset
from finetune.data.decode import UnreadableClip, read_bad_frames
from finetune.data.extract import extract_frames
from finetune.data.layout import list_frames, list_test_clips, list_train_clips
from finetune.errors import DataError
from finetune.toy import write_toy_dataset

W, H = 32, 24


def grey(i: int) -> int:
    """The grey level of frame i: 12 levels apart, far more than the codecs' error on a flat frame."""
    return 10 + 12 * i


def write_grey_video(path, n: int, codec: str, noise: bool = False):
    """n frames of W x H, frame i a flat grey(i) (or noise: incompressible, so a cut file loses frames)."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = W, H, "yuv420p", 2_000_000
        for i in range(n):
            pixels = rng.integers(0, 256, (H, W, 3), dtype=np.uint8) if noise else np.full((H, W, 3), grey(i), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def level(img) -> float:
    return float(np.asarray(img, dtype=np.float32).mean())


# ---- decoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,codec", [("a.avi", "mpeg4"), ("b.mp4", "libx264"), ("c.mp4", "mpeg4"),
                                        ("d.webm", "libvpx"), ("e.mkv", "mpeg4")])  # .webm/.mkv: no header count
def test_read_video_returns_the_sampled_frames_in_order_as_rgb_uint8(tmp_path, name, codec):
    path = write_grey_video(tmp_path / name, 17, codec)
    assert video.count_frames(path) == 17
    indices = [0, 0, 3, 8, 8, 16]
    out = video.read_video(path, indices, on_bad=lambda p, why: pytest.fail(f"{p}: {why}"))
    assert [img.mode for img in out] == ["RGB"] * 6
    assert all(np.asarray(img).shape == (H, W, 3) and np.asarray(img).dtype == np.uint8 for img in out)
    assert [abs(level(img) - grey(i)) < 4 for img, i in zip(out, indices)] == [True] * 6
    assert out[0] is out[1] and out[3] is out[4]                         # a repeated index: decoded once


def test_video_dataset_gives_the_frame_folder_samples(tmp_path):
    """The same clip as an .avi and as its frames (PNG: lossless) samples to the same uint8 tensors."""
    path = write_grey_video(tmp_path / "data_train" / "c" / "clip_1.avi", 11, "mpeg4")
    frames = tmp_path / "frames" / "clip_1"
    frames.mkdir(parents=True)
    for i, img in enumerate(video.read_video(path, list(range(11)))):
        img.save(frames / f"{10000 + i}.png")
    clips, _ = list_train_clips(tmp_path)
    assert clips[0].video and clips[0].name == "clip_1"
    from finetune.data.layout import Clip

    kw = {"num_frames": 4, "size": 16, "short_side": 16, "train": False}
    from_video = VideoClipDataset(clips, **kw)[0][0]
    from_frames = VideoClipDataset([Clip(frames, 0, "clip_1")], **kw)[0][0]
    assert from_video.dtype == from_frames.dtype and from_video.shape == from_frames.shape == (1, 3, 4, 16, 16)
    assert np.array_equal(from_video.numpy(), from_frames.numpy())
    # centre of 4 segments of 11 frames: 1, 4, 6, 9
    levels = [round(level(from_video[0, :, t].numpy()) / 12) for t in range(4)]
    assert levels == [round(grey(i) / 12) for i in (1, 4, 6, 9)]


def test_truncated_video_repeats_its_last_frame_and_reports_it_once(tmp_path):
    path = write_grey_video(tmp_path / "cut.avi", 20, "mpeg4", noise=True)
    full = video.read_video(path, list(range(20)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert video.count_frames(path) == 20                               # the header still says 20
    reports = []
    out = video.read_video(path, [0, 2, 19], on_bad=lambda p, why: reports.append((p, why)))
    assert np.array_equal(np.asarray(out[0]), np.asarray(full[0]))
    assert np.array_equal(np.asarray(out[1]), np.asarray(full[2]))
    decoded = int(reports[0][1].split()[1])                             # 'only <n> frames decode, ...'
    assert 2 < decoded < 20 and reports[0][1].startswith(f"only {decoded} frames decode, frames 19..19 sampled")
    last = video.read_video(path, [decoded - 1], on_bad=lambda p, why: pytest.fail(why))[0]   # as the cut file has it
    assert np.array_equal(np.asarray(out[2]), np.asarray(last))
    assert [p for p, _ in reports] == [path]


def test_garbage_and_empty_files_are_unreadable_clips_naming_the_file(tmp_path):
    for name, data in (("junk.avi", b"not a video" * 50), ("empty.mp4", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnreadableClip, match=str(tmp_path / name)):
            video.read_video(tmp_path / name, [0])


# ---- layout ---------------------------------------------------------------------------------

def test_layout_mixes_videos_and_folders_and_refuses_one_name_twice(tmp_path):
    write_grey_video(tmp_path / "data_train" / "run" / "run_2.mp4", 3, "mpeg4")
    (tmp_path / "data_train" / "run" / "run_1").mkdir()
    write_grey_video(tmp_path / "test" / "10.avi", 3, "mpeg4")
    write_grey_video(tmp_path / "test" / "9.webm", 3, "libvpx")
    (tmp_path / "test" / "0").mkdir()
    clips, classes = list_train_clips(tmp_path)
    assert classes == ["run"] and [(c.name, c.video) for c in clips] == [("run_1", False), ("run_2", True)]
    assert [(c.label, c.video) for c in list_test_clips(tmp_path)] == [(0, False), (9, True), (10, True)]
    (tmp_path / "data_train" / "run" / "run_2").mkdir()
    with pytest.raises(DataError, match=r"run_2\.mp4") as err:
        list_train_clips(tmp_path)
    assert str(tmp_path / "data_train" / "run" / "run_2") in str(err.value)


# ---- toy videos, extract-frames, check-data ----------------------------------------------------

@pytest.fixture(scope="module")
def toy_avi(tmp_path_factory):
    out = tmp_path_factory.mktemp("videos") / "data"
    write_toy_dataset(out, classes=2, clips_per_class=2, test_clips=2, frames=(4, 8), height=H, width=W,
                      videos="avi")
    return out


def test_make_toy_data_writes_videos(toy_avi):
    clips, _ = list_train_clips(toy_avi)
    assert len(clips) == 4 and all(c.video and c.path.suffix == ".avi" for c in clips)
    assert all(4 <= video.count_frames(c.path) <= 8 for c in clips)
    assert video.probe(clips[0].path).codec == "mpeg4" and (toy_avi / "test" / "1.avi").is_file()


def test_extract_frames_passes_check_data_gives_the_video_frames_and_resumes(toy_avi, tmp_path, capsys):
    out = tmp_path / "frames"
    assert main(["extract-frames", str(toy_avi), str(out)]) == 0
    assert main(["check-data", str(out), "--min-clips", "1"]) == 0
    report = capsys.readouterr().out
    assert "clips: 0 videos, 6 frame folders" in report and "0 errors" in report
    for src in list_train_clips(toy_avi)[0] + list_test_clips(toy_avi):
        rel = src.path.relative_to(toy_avi).with_suffix("")
        frames = list_frames(out / rel)
        assert frames[0].name == "10000.jpg" and len(frames) == video.count_frames(src.path)
        direct = video.read_video(src.path, list(range(len(frames))))
        diffs = [np.abs(np.asarray(Image.open(f), np.float32) - np.asarray(d, np.float32)).mean()
                 for f, d in zip(frames, direct)]
        assert max(diffs) < 4, (rel, diffs)                           # JPEG quality 95 on top of the video
    assert (out / "test_labels.csv").read_text() == (toy_avi / "test_labels.csv").read_text()
    # resumable: finished clips are skipped; a clip left half-written by a stopped run is written again
    redo = out / "test" / "1"
    shutil.rmtree(redo)
    partial = out / "test" / ".1.partial"
    partial.mkdir()
    (partial / "10000.jpg").write_bytes(b"half")
    r = extract_frames(toy_avi, out, show_progress=False)
    assert (r["written"], r["skipped"], r["failed"]) == (1, 5, [])
    assert not partial.exists() and len(list_frames(redo)) == video.count_frames(toy_avi / "test" / "1.avi")


def test_extract_frames_fps_keeps_one_frame_per_slot(tmp_path):
    write_grey_video(tmp_path / "in" / "jump" / "a_1.avi", 20, "mpeg4")          # 25 fps: 0.8 s
    r = extract_frames(tmp_path / "in", tmp_path / "out", ext="png", fps=5, show_progress=False)
    frames = list_frames(tmp_path / "out" / "data_train" / "jump" / "a_1")
    assert r["written"] == 1 and len(frames) == 4                                   # slots of 0.2 s = 5 frames
    assert [round((level(Image.open(f)) - 10) / 12) for f in frames] == [0, 5, 10, 15]


def test_bad_videos_are_reported_by_path(toy_avi, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(toy_avi, data)
    clips, _ = list_train_clips(data)
    garbage = clips[0].path.with_name("Garbage_0.avi")
    garbage.write_bytes(b"RIFF not really an avi" * 20)
    cut = write_grey_video(clips[1].path.with_name("Cut_0.avi"), 20, "mpeg4", noise=True)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    folder = data / "data_train" / clips[2].path.parent.name / "Frames_0"    # a frame folder next to the videos
    folder.mkdir()
    Image.new("RGB", (64, 64)).save(folder / "10000.jpg")
    twin = shutil.copytree(folder, data / "test" / "0")                # test/0/ next to test/0.avi: one id twice
    assert main(["check-data", str(data), "--min-clips", "1"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("ERROR") and f"{garbage}:" in line and "unreadable video" in line for line in lines)
    assert any(line.startswith("ERROR") and f"{cut}:" in line and "truncated video" in line and "of the 20" in line
               for line in lines)
    assert any(line.startswith("ERROR") and "two clips named '0': 0 and 0.avi" in line for line in lines)
    assert sum(line.startswith("ERROR") for line in lines) == 3
    assert any(line.startswith("clips: 8 videos, 2 frame folders") for line in lines) and "FAIL" in lines[-1]
    shutil.rmtree(twin)
    assert main(["extract-frames", str(data), str(tmp_path / "out")]) == 1           # undecodable: listed, exit 1
    out = capsys.readouterr().out
    assert f"ERROR   {garbage}: undecodable video" in out and f"WARNING {cut}: stopped early" in out


# ---- a run on videos --------------------------------------------------------------------------

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "epochs=1",
        "stage2_epochs=0", "hflip=0", "val_fraction=0.2", "lr=1e-3", "tta=tta3"]


@pytest.mark.usefixtures("one_thread")
def test_train_and_predict_on_mp4_and_avi_videos_with_a_garbage_and_a_cut_clip(tmp_path, capsys):
    from finetune.config import apply_overrides, get_preset
    from finetune.prediction import predict
    from finetune.run_folder import BAD_FRAMES
    from finetune.training_run import run_training as train

    data = write_toy_dataset(tmp_path / "data", classes=2, clips_per_class=4, test_clips=3, frames=(4, 8),
                             height=H, width=W, videos="mp4", seed=3)
    clips, _ = list_train_clips(data)
    garbage = clips[0].path.with_name("Garbage_0.avi")
    garbage.write_bytes(b"not a video" * 30)
    cut = write_grey_video(clips[-1].path.with_name("Cut_0.avi"), 20, "mpeg4", noise=True)   # ~8 of 20 frames decode
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    write_grey_video(clips[1].path.with_name("Avi_0.avi"), 8, "mpeg4")  # .avi (HMDB51's format) beside the .mp4
    write_grey_video(data / "test" / "3.avi", 8, "mpeg4")
    dead_test = data / "test" / "1.mp4"
    dead_test.write_bytes(dead_test.read_bytes()[:200])                # an .mp4 cut short: does not open
    assert {c.path.suffix for c in list_train_clips(data)[0]} == {".mp4", ".avi"}
    summary = train(apply_overrides(get_preset("exp3"), TINY), data, tmp_path / "run")
    assert summary["global_step"] >= 1
    assert str(garbage) in summary["bad_clips"]
    logged = {(k, p) for k, p, _ in read_bad_frames(tmp_path / "run" / BAD_FRAMES)}
    assert logged == {("clip", str(garbage)), ("frame", str(cut))}      # left out / its last frame repeated
    out = tmp_path / "submission.csv"
    result = predict(tmp_path / "run", data, out, num_workers=0)
    with open(out) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "class"] and sorted(int(r[0]) for r in rows[1:]) == [0, 1, 2, 3]
    assert all(r[1] in ("appear", "grow") for r in rows[1:]) and result["from_prior"] == [1]
    err = capsys.readouterr().err
    assert f"cannot decode every frame of video {cut}" in err and f"no readable frame in {garbage}" in err
    assert "Traceback" not in err


# ---- PyAV missing -----------------------------------------------------------------------------

def test_without_pyav_videos_give_one_error_line_and_frames_still_work(toy_avi, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "av", None)                       # `import av` now raises ImportError
    assert main(["check-data", str(toy_avi), "--min-clips", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "pip install av" in err[0] and ".avi" in err[0]
    with pytest.raises(video.VideoBackendMissing, match="pip install av"):
        VideoClipDataset(list_train_clips(toy_avi)[0])
    assert main(["extract-frames", str(toy_avi), str(tmp_path / "x")]) == 2
    assert main(["make-toy-data", str(tmp_path / "y"), "--videos", "mp4"]) == 2
    frames = write_toy_dataset(tmp_path / "frames", classes=1, clips_per_class=1, test_clips=1, height=H, width=W)
    clips, _ = list_train_clips(frames)
    assert VideoClipDataset(clips, num_frames=2, size=16, short_side=16, train=False)[0][0].shape == (1, 3, 2, 16, 16)
