"""Reading raw videos (.avi/.mp4/.webm/.mkv) with PyAV: only the sampled frames, as the frame folders give them.

HMDB51 and UCF101 ship .avi files; the competition ships the same clips cut
into JPEG folders. This file lets a clip be either: `read_video` returns the
frames at the sampled indices as RGB PIL images, exactly what
`finetune.data.decode.read_clip` returns for a frame folder, so sampling and
the transforms never know where a clip came from.

How it reads
- Frame count: the container's header (`stream.frames`: AVI's index, MP4's
  sample table). WebM and Matroska do not store it, so then one decode pass
  counts the frames (`count_frames`; the dataset asks once per clip and keeps
  the answer).
- Frames: decoded in order from the start, stopping after the last sampled
  index. Seeking would land on the keyframe before the wanted frame and decode
  forward from there anyway; for clips of a few seconds (HMDB51)
  reading from the start costs about the same and never misses a frame.
- A frame larger than needed is scaled down by an integer factor while its
  short side stays >= min_short_side, by FFmpeg's scaler during the colour
  conversion (the rule `decode._decode` uses for JPEG and PNG frames).

Bad videos, like bad frames, must not end a run. A file that does not open or
yields no frame raises `UnreadableClip` naming the video (the dataset then
leaves the clip out). A video that stops early (truncated: decoding fails or
the stream ends before a sampled index) gives its last decoded frame for the
missing indices, the nearest readable one, and reports the file once through
`on_bad`, as a truncated JPEG is replaced by its neighbour.

PyAV is optional (`pip install av`): it is imported only when a video is met,
and `require_av` turns its absence into one DataError saying how to install it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from finetune.data.decode import UnreadableClip, _default_log
from finetune.errors import DataError

INSTALL = "pip install av (or: pip install -e '.[video]')"


class VideoBackendMissing(DataError):
    """The dataset holds videos and PyAV (`import av`) is not installed."""


def require_av(example: Path | str | None = None):
    """The `av` module; VideoBackendMissing, naming a video that needs it, when it is not installed."""
    try:
        import av
    except ImportError as e:
        where = f" (e.g. {example})" if example is not None else ""
        raise VideoBackendMissing(f"expected PyAV to decode the video clips{where}, found no module 'av' ({e}): "
                                  f"{INSTALL}") from None
    return av


def _errors(av) -> tuple[type[BaseException], ...]:
    """What opening or decoding a bad file raises: FFmpeg's errors (InvalidDataError, ...), OS errors, EOF."""
    return (av.FFmpegError, OSError, ValueError, EOFError)


def _reason(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video's first video stream."""
    frames: int          # from the header, 0 when the container does not store it (WebM, Matroska)
    width: int
    height: int
    codec: str           # e.g. 'mpeg4', 'h264', 'vp8'
    fps: float | None    # average frame rate, None if unknown


def _open(path: Path):
    """(container, its first video stream); UnreadableClip naming the file if it does not open or has no video."""
    av = require_av(path)
    try:
        container = av.open(str(path))
    except _errors(av) as e:
        raise UnreadableClip(f"cannot open video {path}: {_reason(e)}", path) from None
    if not container.streams.video:
        container.close()
        raise UnreadableClip(f"expected a video stream in {path}, found none", path)
    return container, container.streams.video[0]


def probe(path: str | Path) -> VideoInfo:
    """The header's facts about a video, nothing decoded; UnreadableClip if it does not open."""
    container, stream = _open(Path(path))
    with container:
        rate = stream.average_rate
        return VideoInfo(int(stream.frames or 0), stream.codec_context.width, stream.codec_context.height,
                         stream.codec_context.name, float(rate) if rate else None)


def decode_frames(path: str | Path, stop_after: int | None = None) -> Iterator[tuple[int, object, float | None]]:
    """(index, av.VideoFrame, time in seconds or None) for every frame in order, up to index `stop_after`.

    Raises UnreadableClip if the file does not open; an error in the middle of
    the stream ends the iteration with `VideoStopped(index, reason)` instead.
    """
    path = Path(path)
    av = require_av(path)
    container, stream = _open(path)
    with container:
        i = 0
        try:
            for frame in container.decode(stream):
                yield i, frame, frame.time
                if stop_after is not None and i >= stop_after:
                    return
                i += 1
        except _errors(av) as e:
            raise VideoStopped(i, _reason(e)) from None


class VideoStopped(Exception):
    """Decoding failed after `decoded` frames (a truncated or damaged stream); `reason` says why."""

    def __init__(self, decoded: int, reason: str):
        super().__init__(f"decoding stops after {decoded} frames ({reason})")
        self.decoded, self.reason = decoded, reason


def count_frames(path: str | Path) -> int:
    """The number of frames: the header's count, or one decode pass when the container has none.

    UnreadableClip (naming the file) when it does not open or no frame decodes.
    """
    path = Path(path)
    n = probe(path).frames
    if n > 0:
        return n
    try:
        for i, _, _ in decode_frames(path):
            n = i + 1
    except VideoStopped as e:
        n = e.decoded
    if n == 0:
        raise UnreadableClip(f"expected at least one decodable frame in {path}, found 0", path)
    return n


def scan_video(path: str | Path) -> tuple[VideoInfo, int, str]:
    """Decode every frame (check-data): (header facts, frames that decode, why decoding stopped or '')."""
    info, n = probe(path), 0
    try:
        for i, _, _ in decode_frames(path):
            n = i + 1
    except VideoStopped as e:
        return info, e.decoded, e.reason
    return info, n, ""


def _to_image(frame, min_short_side: int) -> Image.Image:
    """An RGB PIL image, shrunk by an integer factor while its short side stays >= min_short_side."""
    w, h = frame.width, frame.height
    if min_short_side and min(w, h) >= 2 * min_short_side:
        k = min(w, h) // min_short_side
        return frame.to_image(width=w // k, height=h // k, interpolation="AREA")
    return frame.to_image()


def read_video(path: str | Path, indices: list[int], min_short_side: int = 0,
               on_bad: Callable[[Path, str], None] | None = None) -> list[Image.Image]:
    """The frames at `indices` of a video, in that order; a repeated index gives the SAME image object.

    Missing frames (the video stops before a sampled index) are the last
    decoded frame, reported once through `on_bad(path, reason)` (default: a
    warning on stderr). UnreadableClip names the video when no frame decodes.
    """
    path = Path(path)
    if any(i < 0 for i in indices):
        raise IndexError(f"expected frame indices >= 0, found {sorted(set(indices))}")
    if not indices:
        return []
    wanted, last = set(indices), max(indices)
    images: dict[int, Image.Image] = {}
    latest = None    # (index, av.VideoFrame) decoded last: what indices the stream never reaches get
    stopped = ""
    try:
        for i, frame, _ in decode_frames(path, stop_after=last):
            if i in wanted:
                images[i] = _to_image(frame, min_short_side)
            latest = (i, frame)
    except VideoStopped as e:
        stopped = e.reason
    if latest is None:
        raise UnreadableClip(f"expected at least one decodable frame in {path}, found 0"
                             + (f" ({stopped})" if stopped else ""), path)
    missing = sorted(wanted - images.keys())
    if missing:
        i, frame = latest
        fill = images.get(i) or _to_image(frame, min_short_side)
        (on_bad or _default_log)(path, f"only {i + 1} frames decode, frames {missing[0]}..{missing[-1]} sampled "
                                       f"(they repeat frame {i})" + (f"; {stopped}" if stopped else ""))
        for j in missing:
            images[j] = fill
    return [images[i] for i in indices]


def write_video(path: str | Path, frames: np.ndarray, fps: int = 25, codec: str | None = None,
                bit_rate: int = 2_000_000) -> Path:
    """Encode frames (T, H, W, 3) uint8 as a video; the codec follows the suffix unless given.

    .avi/.mkv: MPEG-4 Part 2 (HMDB51's .avi are DivX/XviD, the same family),
    .mp4: H.264 (libx264) when FFmpeg has it, else MPEG-4; .webm: VP8. Width and
    height must be even (4:2:0 chroma is subsampled by 2).
    """
    av = require_av(path)
    path, frames = Path(path), np.asarray(frames)
    _, h, w, c = frames.shape if frames.ndim == 4 else (0, 1, 1, 0)   # (T, H, W, 3); anything else fails below
    if c != 3 or frames.dtype != np.uint8 or h % 2 or w % 2:
        raise ValueError(f"expected frames (T, H, W, 3) uint8 with even H and W, found {frames.shape} {frames.dtype}")
    if codec is None:
        suffix = path.suffix.lower()
        codec = {".mp4": "libx264" if "libx264" in av.codecs_available else "mpeg4", ".webm": "libvpx"}.get(
            suffix, "mpeg4")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = bit_rate
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():          # flush the encoder's delayed frames
            container.mux(packet)
    return path
