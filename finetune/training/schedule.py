"""The learning-rate schedule, per optimizer step: warmup, cosine, and Exp 4's second stage.

    lr
    peak |      ___
         |     /   `-.
         |    /       `.            stage 1: Mixup (+ label smoothing)
         |   /          `.
         |  /             `-.__
   st.2  | /                   |___________  stage 2: no Mixup, label smoothing,
    min  |/                                  a constant very low lr (course notes IV.3.2, Exp 4)
         +------------------------------------ step
          warmup   cosine       last epochs

Warmup (Goyal et al. 2017): Adam's moment estimates are noisy in the first
steps and a freshly initialised head sends large gradients into the pretrained
blocks; growing the lr linearly protects the K400 features. Cosine (Loshchilov
& Hutter 2017) then anneals to a floor. The value is per step, not per epoch,
so the curve is smooth whatever the epoch length. Each parameter group's lr is
the schedule's value times the group's layer-decay `lr_scale`.
"""
import math
from dataclasses import dataclass


@dataclass
class Schedule:
    peak_lr: float  # lr reached at the end of warmup (before layer decay)
    min_lr: float  # floor of the cosine
    warmup_steps: int  # steps of linear warmup
    stage1_steps: int  # steps of warmup + cosine (stage 1)
    total_steps: int  # stage1_steps + the second stage's steps
    stage2_lr: float = 0.0  # constant lr of the second stage (Exp 4)

    def __post_init__(self):
        if not 0 <= self.warmup_steps <= self.stage1_steps <= self.total_steps:
            raise ValueError(
                "expected 0 <= warmup_steps <= stage1_steps <= total_steps, found "
                f"{self.warmup_steps}, {self.stage1_steps}, {self.total_steps}"
            )

    def stage(self, step: int) -> int:
        """1 during warmup + cosine, 2 afterwards."""
        return 1 if step < self.stage1_steps else 2

    def lr(self, step: int) -> float:
        """The base lr at optimizer step `step` (0-based)."""
        if step >= self.stage1_steps:
            return self.stage2_lr
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps  # the first step already moves
        span = max(1, self.stage1_steps - self.warmup_steps)
        progress = (step - self.warmup_steps) / span  # 0 -> 1 over the cosine
        return self.min_lr + (self.peak_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_schedule(cfg, steps_per_epoch: int, peak_lr: float) -> Schedule:
    """The schedule of a run: epochs and stages from the config, in optimizer steps."""
    stage1 = cfg.num_stage1_epochs * steps_per_epoch
    return Schedule(
        peak_lr=peak_lr,
        min_lr=cfg.min_lr,
        warmup_steps=min(stage1, round(cfg.warmup_epochs * steps_per_epoch)),
        stage1_steps=stage1,
        total_steps=cfg.epochs * steps_per_epoch,
        stage2_lr=cfg.stage2_lr,
    )


def set_lr(optimizer, lr: float) -> None:
    """Write `lr x lr_scale` into every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
