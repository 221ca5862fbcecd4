"""`python -m finetune make-toy-data OUT`: synthetic action clips in exactly the competition layout.

The data and why it looks so: finetune/toy.py (`make_toy_data`).
"""
from finetune.toy import VIDEO_KINDS, make_toy_data
from videomae.synthetic import ACTIONS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "make-toy-data", help="write synthetic action clips in the competition layout",
        description="Write synthetic action clips (classes decided by motion) as JPEG frames in exactly the "
                    "competition layout: OUT/data_train/<class>/<clip>/10000.jpg..., OUT/test/<id>/..., plus "
                    "OUT/test_labels.csv (id,class) for local scoring only.")
    p.add_argument("out", help="output folder (must not already hold data_train/ or test/)")
    p.add_argument("--classes", type=int, default=10, help=f"number of classes, 1..{len(ACTIONS)} (default 10)")
    p.add_argument("--clips-per-class", type=int, default=8, help="training clips per class (default 8)")
    p.add_argument("--test-clips", type=int, default=20, help="unlabelled test clips (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same data")
    p.add_argument("--videos", choices=VIDEO_KINDS, help="write each clip as one video file of this kind "
                   "(OUT/data_train/<class>/<clip>.avi, OUT/test/<id>.avi; needs PyAV) instead of JPEG frames")
    p.set_defaults(func=_run)


def _run(args) -> int:
    out = make_toy_data(args.out, args.classes, args.clips_per_class, args.test_clips, args.seed, videos=args.videos)
    kind = f" as .{args.videos} videos" if args.videos else ""
    print(f"wrote {args.classes} classes x {args.clips_per_class} train clips and {args.test_clips} test clips{kind} "
          f"to {out} (test labels in {out / 'test_labels.csv'})")
    return 0
