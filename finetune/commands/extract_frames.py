"""`python -m finetune extract-frames VIDEOS OUT`: raw videos -> the competition's frame folders, resumable.

    VIDEOS/data_train/<class>/<clip>.avi   ->  OUT/data_train/<class>/<clip>/10000.jpg, 10001.jpg, ...
    VIDEOS/test/<id>.avi                   ->  OUT/test/<id>/10000.jpg, ...
    VIDEOS/<class>/<clip>.avi              ->  OUT/data_train/<class>/<clip>/...   (HMDB51 / UCF101 as unpacked)

Why extract, and how a stopped run resumes: finetune/data/extract.py. Exit
status 1 when a video does not decode at all (each is listed by path).
"""
from finetune.data.extract import extract_frames


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("extract-frames",
                              help="decode .avi/.mp4/.webm videos into the competition's frame layout",
                              description=__doc__.split("\n\n")[0] + " VIDEOS holds data_train/<class>/<clip>.avi "
                              "and/or test/<id>.avi, or class folders of videos; OUT gets the frame folders.")
    p.add_argument("videos", help="the folder of videos")
    p.add_argument("out", help="where the frame folders go (a re-run skips the clips already finished)")
    p.add_argument("--ext", choices=("jpg", "png"), default="jpg", help="frame file type (default jpg)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality 1-95 (default 95)")
    p.add_argument("--fps", type=float, help="keep about this many frames per second (default: every frame)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    r = extract_frames(args.videos, args.out, args.ext, args.quality, args.fps)
    for src, why in r["short"]:
        print(f"WARNING {src}: {why}")
    for src, why in r["failed"]:
        print(f"ERROR   {src}: undecodable video, no frames written ({why})")
    print(f"extracted {r['written']} videos ({r['frames']} frames), copied {r['copied']} frame folders, skipped "
          f"{r['skipped']} clips finished earlier; {len(r['failed'])} undecodable video(s) -> {args.out}")
    return 1 if r["failed"] else 0
