"""The arguments several commands share (not a command itself): defined once, so their help reads the same."""
import argparse


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (GPU if present) or cpu")


def add_run_arguments(p: argparse.ArgumentParser, weights_help: str, out_help: str, set_help: str) -> None:
    """--data, --weights, --out, --set, --device: what the commands that train (train, ablate) all take."""
    p.add_argument("--data", required=True, help="the data folder (data_train/<class>/<clip>/*.jpg)")
    p.add_argument("--weights", help=weights_help)
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help=set_help)
    add_device_argument(p)
