"""Two CPU processes (gloo) train one short epoch like `torchrun --nproc_per_node 2` would."""
import json
import math
import os
import socket

import torch
import torch.multiprocessing as mp

from finetune import training_run
from finetune.config import apply_overrides, get_preset
from finetune.run_folder import load_checkpoint
from finetune.toy import write_toy_dataset
from finetune.training.runlog import read_metrics
from finetune.training_run import run_training as train

SETTINGS = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2",
            "accum_steps=1", "epochs=1", "stage2_epochs=0", "hflip=0", "val_fraction=0.2", "lr=1e-3", "ema=0.9"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, run: str, out: str) -> None:
    # what torchrun sets for every process it launches
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    finish = training_run.finish_run

    def finish_keeping_the_ema(r):  # this process's own EMA, which only rank 0 writes into the checkpoint
        torch.save(r.ema.state_dict(), os.path.join(out, f"rank{rank}_ema.pt"))
        return finish(r)

    training_run.finish_run = finish_keeping_the_ema
    result = train(apply_overrides(get_preset("exp3"), SETTINGS), data, run, device="cpu")
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({k: result[k] for k in ("seen", "global_step", "val_acc", "ema_val_acc", "weights_used")}, f)


def test_two_processes_split_the_clips_and_write_what_one_process_writes(tmp_path):
    data = write_toy_dataset(tmp_path / "data", classes=3, clips_per_class=5, test_clips=1, height=24, width=32,
                             frames=(4, 6), seed=2)
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "ddp"), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]

    torch.set_num_threads(1)
    single = train(apply_overrides(get_preset("exp3"), SETTINGS), data, tmp_path / "single", device="cpu")
    n = len(single["seen"])
    everything = set(single["seen"])
    seen0, seen1 = set(ranks[0]["seen"]), set(ranks[1]["seen"])
    # each rank trains on its own half; together they cover every training clip, DistributedSampler
    # pads an odd count with one repeated clip
    assert len(ranks[0]["seen"]) == len(ranks[1]["seen"]) == math.ceil(n / 2)
    assert seen0 | seen1 == everything
    assert len(seen0 & seen1) == 2 * math.ceil(n / 2) - n
    assert ranks[0]["global_step"] == ranks[1]["global_step"] == math.ceil(math.ceil(n / 2) / 2)
    assert single["global_step"] == math.ceil(n / 2)
    assert ranks[0]["val_acc"] == ranks[1]["val_acc"]  # summed over both processes before reporting
    assert ranks[0]["ema_val_acc"] == ranks[1]["ema_val_acc"] and ranks[0]["weights_used"] == ranks[1]["weights_used"]

    a, b = load_checkpoint(tmp_path / "single"), load_checkpoint(tmp_path / "ddp")
    assert {k: v.shape for k, v in a["model"].items()} == {k: v.shape for k, v in b["model"].items()}  # no 'module.'
    # the EMA: the same on both processes (each averages the same weights), saved as rank 0's, shaped as one
    # process's, and an average (not a copy) of the trained weights
    ema = [torch.load(tmp_path / f"rank{r}_ema.pt", weights_only=True) for r in range(2)]
    assert all(torch.equal(ema[0][k], ema[1][k]) and torch.equal(b["ema"][k], ema[0][k]) for k in ema[0])
    assert {k: v.shape for k, v in a["ema"].items()} == {k: v.shape for k, v in b["ema"].items()}
    assert not all(torch.equal(b["ema"][k], v) for k, v in b["model"].items())
    assert a["classes"] == b["classes"] and a["model_spec"] == b["model_spec"]
    ma, mb = read_metrics(tmp_path / "single"), read_metrics(tmp_path / "ddp")
    assert len(ma) == len(mb) == 1 and set(ma[0]) == set(mb[0])
    assert mb[0]["clips_seen"] == 2 * math.ceil(n / 2)  # counted over both processes
    assert not any((tmp_path / "ddp").glob("*.tmp"))
