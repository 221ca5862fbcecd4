"""Frame files as users really have them: any naming with a number, OS litter, bad frames that must not end a run."""
import pickle

import numpy as np
import pytest
from PIL import Image

from finetune.commands import check_data as checkdata
from finetune.data import decode, layout
from finetune.errors import DataError


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")
    return folder


def write_jpeg(path, seed, size=48):
    """A noise JPEG (noise so the file is mostly image data and half of it is surely truncated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def pixels(img_or_path):
    img = img_or_path if isinstance(img_or_path, Image.Image) else Image.open(img_or_path).convert("RGB")
    return np.asarray(img)


# ---- naming and order -----------------------------------------------------------------------

@pytest.mark.parametrize("names", [
    ["frame_0001.jpg", "frame_0002.jpg", "frame_0009.jpg", "frame_0010.jpg", "frame_0011.jpg"],
    ["img_00009.jpg", "img_00010.jpg", "img_00100.jpg"],
    ["f1.png", "f2.PNG", "f9.jpeg", "f10.JPG", "f100.png"],
    ["clip3_frame_0002.jpg", "clip3_frame_0009.jpg", "clip3_frame_0010.jpg"],   # the LAST number is the frame
    ["00001_rgb.jpg", "00009_rgb.jpg", "00010_rgb.jpg"],
])
def test_frames_in_any_naming_are_sorted_by_their_number(tmp_path, names):
    touch(tmp_path, *reversed(names))
    assert [p.name for p in layout.list_frames(tmp_path)] == names
    numbers = [layout.frame_number(tmp_path / n) for n in names]
    assert numbers == sorted(numbers)


def test_os_litter_and_hidden_files_are_ignored(tmp_path):
    touch(tmp_path, "10.jpg", "9.jpg", "100.png", "._9.jpg", ".DS_Store", "Thumbs.db", "desktop.ini",
          ".hidden_11.jpg", "notes.txt")
    touch(tmp_path / "__MACOSX", "._10.jpg")
    assert [p.name for p in layout.list_frames(tmp_path)] == ["9.jpg", "10.jpg", "100.png"]


def test_layout_skips_macosx_and_hidden_folders(tmp_path):
    touch(tmp_path / "data_train" / "run" / "clip_a", "1.jpg")
    touch(tmp_path / "data_train" / "__MACOSX" / "run", "._1.jpg")
    touch(tmp_path / "data_train" / "run" / ".cache", "1.jpg")
    touch(tmp_path / "test" / "0", "1.jpg")
    touch(tmp_path / "test" / "__MACOSX")
    clips, classes = layout.list_train_clips(tmp_path)
    assert classes == ["run"] and [c.name for c in clips] == ["clip_a"]
    assert [c.label for c in layout.list_test_clips(tmp_path)] == [0]


def test_frame_without_a_number_is_a_data_error_naming_the_file(tmp_path):
    touch(tmp_path, "frame_0001.jpg", "frame_last.jpg")
    with pytest.raises(DataError, match=r"frame_last\.jpg"):
        layout.list_frames(tmp_path)


def test_two_frames_with_one_number_is_a_data_error_naming_both(tmp_path):
    touch(tmp_path, "frame_0001.jpg", "frame_0002.jpg", "2.png")
    with pytest.raises(DataError, match="numbered 2") as err:
        layout.list_frames(tmp_path)
    assert str(tmp_path / "frame_0002.jpg") in str(err.value) and str(tmp_path / "2.png") in str(err.value)


def test_missing_data_folder_is_a_data_error_and_still_file_not_found(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path)) as err:
        layout.find_data_root(tmp_path)
    assert isinstance(err.value, FileNotFoundError)


def test_frame_naming_describes_the_pattern():
    from pathlib import Path
    assert layout.frame_naming([Path("10000.jpg"), Path("10001.jpg")]) == "#####.jpg"
    assert layout.frame_naming([Path(f"frame_{i:04d}.jpg") for i in (1, 2, 10)]) == "frame_####.jpg"
    assert layout.frame_naming([Path(f"{i}.png") for i in range(1, 13)]) == "<n>.png"
    assert layout.frame_naming([Path("1.jpg"), Path("2.jpg"), Path("img_3.png")]) == "#.jpg + img_#.png"


# ---- check-data ---------------------------------------------------------------------------

def make_dataset(root, name=lambda i: f"frame_{i:04d}.jpg", frames=3):
    """2 classes x 1 clip + 1 test clip of 64x64 JPEGs (64 px: no 'tiny frame' warning)."""
    clips = [root / "data_train" / "jump" / "jump_1", root / "data_train" / "run" / "run_1", root / "test" / "0"]
    for k, clip in enumerate(clips):
        for i in range(1, frames + 1):
            write_jpeg(clip / name(i), seed=10 * k + i, size=64)
    return clips


def run_checkdata(root, capsys):
    rc = checkdata.main([str(root), "--min-clips", "1"])
    out = capsys.readouterr().out
    flagged = [line for line in out.splitlines() if line.startswith(("ERROR", "WARNING"))]
    return rc, out, flagged


def test_checkdata_accepts_frame_0001_naming_and_reports_it(tmp_path, capsys):
    make_dataset(tmp_path)
    rc, out, flagged = run_checkdata(tmp_path, capsys)
    assert rc == 0 and flagged == [], out
    assert "frame naming: frame_####.jpg (3 clips)" in out and "0 errors, 0 warnings" in out


def test_checkdata_ignores_os_litter(tmp_path, capsys):
    clip, _, test_clip = make_dataset(tmp_path, name=lambda i: f"{10000 + i}.jpg")
    touch(clip, ".DS_Store", "Thumbs.db", "desktop.ini")
    write_jpeg(clip / "._10001.jpg", seed=99, size=64)
    touch(tmp_path / "data_train" / "__MACOSX" / "jump", "._x.jpg")
    touch(tmp_path / "data_train", ".DS_Store")
    touch(test_clip.parent, "Thumbs.db")
    rc, out, flagged = run_checkdata(tmp_path, capsys)
    assert rc == 0 and flagged == [], out
    assert "frame naming: #####.jpg (3 clips)" in out and "skipped: 7 hidden or OS files" in out


def test_checkdata_errors_no_number_same_number_and_truncated(tmp_path, capsys):
    clip, other, _ = make_dataset(tmp_path)
    no_number = write_jpeg(clip / "frame_last.jpg", seed=7, size=64)
    same = write_jpeg(other / "2.jpg", seed=8, size=64)                  # frame_0002.jpg has number 2 too
    truncate(other / "frame_0003.jpg")
    rc, out, flagged = run_checkdata(tmp_path, capsys)
    errors = sorted(line for line in flagged if line.startswith("ERROR"))
    assert rc == 1 and "FAIL" in out
    assert len(errors) == 4, out
    assert any(f"{no_number}:" in e and "no number" in e for e in errors)
    assert any(f"{same}:" in e and "same frame number 2 as frame_0002.jpg" in e for e in errors)
    assert any(f"{other / 'frame_0002.jpg'}:" in e and "same frame number 2 as 2.jpg" in e for e in errors)
    assert any(f"{other / 'frame_0003.jpg'}:" in e and "truncated" in e for e in errors)


# ---- bad frames while reading ---------------------------------------------------------------

@pytest.fixture
def clip5(tmp_path):
    """A clip of 5 noise frames, different pixels in each."""
    return [write_jpeg(tmp_path / "clip" / f"frame_{i:04d}.jpg", seed=i) for i in range(5)]


def test_truncated_frame_is_replaced_by_the_nearest_readable_one(clip5):
    good = [pixels(p) for p in clip5]
    truncate(clip5[2])
    calls = []
    out = decode.read_clip(clip5, [2], on_bad=lambda p, why: calls.append(p))
    assert np.array_equal(pixels(out[0]), good[1])                      # 1 and 3 are as near: the earlier wins
    assert calls == [clip5[2]]


def test_nearest_search_decodes_unsampled_frames_and_reports_each_bad_file_once(clip5):
    good = [pixels(p) for p in clip5]
    truncate(clip5[1])
    truncate(clip5[2])
    calls = []
    out = decode.read_clip(clip5, [1, 2, 2, 4], on_bad=lambda p, why: calls.append((p, why)))
    assert [np.array_equal(pixels(img), good[j]) for img, j in zip(out, [0, 3, 3, 4])] == [True] * 4
    assert out[1] is out[2]                                               # a repeated index: the same object
    assert [p for p, _ in calls] == [clip5[1], clip5[2]]                  # frame 1 met first, each once
    assert all("truncated" in why or "OSError" in why for _, why in calls)


def test_clip_without_a_readable_frame_raises_unreadable_clip(clip5):
    for p in clip5:
        truncate(p)
    calls = []
    with pytest.raises(decode.UnreadableClip, match=str(clip5[0].parent)) as err:
        decode.read_clip(clip5, [0, 4], on_bad=lambda p, why: calls.append(p))
    assert isinstance(err.value, DataError)
    assert sorted(calls) == clip5                                         # every file tried once, none twice


def test_bad_frame_log_warns_once_writes_and_dedupes(tmp_path, capsys):
    path = tmp_path / "run" / "bad_frames.tsv"
    frame, other, clip = tmp_path / "c" / "1.jpg", tmp_path / "c" / "2.jpg", tmp_path / "c"
    log = decode.BadFrameLog(path)
    log(frame, "OSError: image file is truncated")
    log(frame, "OSError: image file is truncated (3 bytes not processed)")
    log(other, "SyntaxError:\tbad\nheader")
    log.clip(clip, "no frame decodes")
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"warning: cannot decode frame {frame} (OSError: image file is truncated); "
        "using the nearest readable frame of its clip",
        f"warning: cannot decode frame {other} (SyntaxError: bad header); using the nearest readable frame of its clip",
        f"warning: no readable frame in {clip}; the clip is left out",
    ]
    assert path.read_text().splitlines() == [f"frame\t{frame}\tOSError: image file is truncated",
                                             f"frame\t{other}\tSyntaxError: bad header",
                                             f"clip\t{clip}\tno frame decodes"]
    again = decode.BadFrameLog(path)                                      # another worker process, say
    again(frame, "OSError: something else")
    assert len(path.read_text().splitlines()) == 4
    assert decode.read_bad_frames(path) == [("frame", str(frame), "OSError: image file is truncated"),
                                            ("frame", str(other), "SyntaxError: bad header"),
                                            ("clip", str(clip), "no frame decodes")]
    assert decode.read_bad_frames(tmp_path / "none.tsv") == []


def test_bad_frame_log_pickles_and_the_copy_appends_to_the_same_file(clip5, tmp_path, capsys):
    path = tmp_path / "bad.tsv"
    log = pickle.loads(pickle.dumps(decode.BadFrameLog(path)))
    truncate(clip5[0])
    decode.read_clip(clip5, [0, 1], on_bad=log)
    assert [(kind, p) for kind, p, _ in decode.read_bad_frames(path)] == [("frame", str(clip5[0]))]
    assert capsys.readouterr().err.count("warning: cannot decode frame") == 1
