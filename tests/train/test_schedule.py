"""The learning-rate schedules of ``ecgq.train.steps.learning_rate_schedule``, step by step.

Expected values are written in closed form here (linear warm-up, half-cosine decay), not taken
from optax, so a change in how the schedule is assembled shows up as a failing step.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgq.train.config import train_config
from ecgq.train.steps import learning_rate_schedule

SPE = 10  # steps per epoch
PEAK = 1e-2


def _cfg(**fields):
    cfg = train_config()
    cfg.learning_rate = PEAK
    cfg.min_lr_ratio = 0.1
    for key, value in fields.items():
        setattr(cfg, key, value)
    return cfg


def _lr(schedule, step) -> float:
    return float(schedule(step))


def _cosine(peak, low, t, length):
    """Half-cosine from ``peak`` (t = 0) to ``low`` (t = length)."""
    return low + (peak - low) * 0.5 * (1 + math.cos(math.pi * min(t, length) / length))


def _restart_steps(schedule, total, warmup: bool):
    """First steps of the cycles after the first, found from the rates alone: where the rate starts
    to rise after falling. With warm-up the cycle begins one step earlier, at the minimum it rises
    from; without, the restart is the jump itself."""
    lr = np.array([_lr(schedule, s) for s in range(total + 1)])
    rising = lambda s: lr[s] > lr[s - 1] * (1 + 1e-6)
    begins = [s for s in range(2, total + 1) if rising(s) and not rising(s - 1)]
    return [s - 1 if warmup else s for s in begins]


def _close(a, b):
    return a == pytest.approx(b, rel=1e-5, abs=1e-9)


# ----------------------------------------------------------------------------------------------
# cosine_restarts (SGDR)


def test_sgdr_with_warmup_peaks_after_warmup_and_ends_each_cycle_at_min_lr():
    # cycles of 2, 4, 8 epochs = 20, 40, 80 steps: exactly the 14 epochs (140 steps) of training
    cfg = _cfg(schedule="cosine_restarts", epochs=14, warmup_epochs=0.5, restart_epochs=2.0, restart_mult=2.0)
    schedule = learning_rate_schedule(cfg, SPE)
    low, warmup = PEAK * cfg.min_lr_ratio, 5
    starts, lengths = [0, 20, 60], [20, 40, 80]
    for start, length in zip(starts, lengths):
        end = start + length
        assert _close(_lr(schedule, start), low)  # each cycle (the first too) warms up from min lr
        assert _close(_lr(schedule, start + warmup), PEAK)  # the peak right after warm-up
        for t in range(warmup + 1):  # linear warm-up
            assert _close(_lr(schedule, start + t), low + (PEAK - low) * t / warmup)
        for t in range(warmup, length):  # half-cosine over the rest of the cycle
            assert _close(_lr(schedule, start + t), _cosine(PEAK, low, t - warmup, length - warmup))
        assert _close(_lr(schedule, end), low)  # the cycle ends at min_lr_ratio * peak
        assert _lr(schedule, end - 1) > low
    assert _restart_steps(schedule, 140, warmup=True) == [20, 60]
    # the rate stays at min lr past the planned end (nothing restarts after the last cycle)
    assert _close(_lr(schedule, 1000), low)


def test_sgdr_without_warmup_restarts_at_the_peak():
    cfg = _cfg(schedule="cosine_restarts", epochs=9, warmup_epochs=0.0, restart_epochs=3.0, restart_mult=1.0)
    schedule = learning_rate_schedule(cfg, SPE)
    low = PEAK * cfg.min_lr_ratio
    for start in (0, 30, 60):
        assert _close(_lr(schedule, start), PEAK)  # a restart jumps straight back to the peak
        assert _close(_lr(schedule, start + 15), (PEAK + low) / 2)  # half-way down the cosine
        assert _close(_lr(schedule, start + 29), _cosine(PEAK, low, 29, 30))
    assert _close(_lr(schedule, 90), low)  # end of the last cycle
    assert _restart_steps(schedule, 90, warmup=False) == [30, 60]  # restart_mult=1: equal cycles


@pytest.mark.parametrize("mult, epochs, restarts", [(1.0, 12, [30, 60, 90]), (2.0, 21, [30, 90]),
                                                     (3.0, 39, [30, 120])])
@pytest.mark.parametrize("warmup_epochs", [0.0, 0.2])
def test_sgdr_cycles_lengthen_by_restart_mult(mult, epochs, restarts, warmup_epochs):
    cfg = _cfg(schedule="cosine_restarts", epochs=epochs, warmup_epochs=warmup_epochs, restart_epochs=3.0,
               restart_mult=mult)
    schedule = learning_rate_schedule(cfg, SPE)
    assert _restart_steps(schedule, epochs * SPE, warmup=warmup_epochs > 0) == restarts
    lengths = np.diff([0] + restarts + [epochs * SPE])  # here the cycles exactly fill the training
    np.testing.assert_allclose(lengths[1:] / lengths[:-1], mult)
    peak_at = 2 if warmup_epochs else 0
    for start in [0] + restarts:
        assert _close(_lr(schedule, start + peak_at), PEAK)


def test_sgdr_fractional_period_is_rounded_per_cycle():
    # 1.5 epochs = 15 steps, then 15 * 1.5 = 22.5 -> 22 (Python's round), then 33.75 -> 34 steps
    cfg = _cfg(schedule="cosine_restarts", epochs=7, warmup_epochs=0.0, restart_epochs=1.5, restart_mult=1.5)
    schedule = learning_rate_schedule(cfg, SPE)
    assert _restart_steps(schedule, 70, warmup=False) == [15, 37]
    low = PEAK * 0.1
    assert _close(_lr(schedule, 37 + 17), (PEAK + low) / 2)  # the third cycle is 34 steps long...
    assert _close(_lr(schedule, 71), low)  # ... so it ends one step after the 70 of training


def test_sgdr_last_cycle_may_outlast_training():
    # 25 epochs with 10-epoch cycles: training stops half-way down the third cycle (documented here)
    cfg = _cfg(schedule="cosine_restarts", epochs=25, warmup_epochs=0.0, restart_epochs=10.0, restart_mult=1.0)
    schedule = learning_rate_schedule(cfg, SPE)
    low = PEAK * cfg.min_lr_ratio
    assert _close(_lr(schedule, 250), (PEAK + low) / 2)
    assert _close(_lr(schedule, 300), low)


# ----------------------------------------------------------------------------------------------
# constant and cosine


def test_constant_schedule():
    schedule = learning_rate_schedule(_cfg(schedule="constant", epochs=5, warmup_epochs=0.0), SPE)
    assert all(_close(_lr(schedule, s), PEAK) for s in (0, 1, 25, 49, 50, 10_000))
    schedule = learning_rate_schedule(_cfg(schedule="constant", epochs=5, warmup_epochs=1.0), SPE)
    for s in range(11):  # linear warm-up from 0 over one epoch
        assert _close(_lr(schedule, s), PEAK * s / 10)
    assert all(_close(_lr(schedule, s), PEAK) for s in (10, 30, 49, 10_000))  # min_lr_ratio is unused


def test_cosine_schedule_decays_once_to_min_lr():
    cfg = _cfg(schedule="cosine", epochs=6, warmup_epochs=1.0)
    schedule = learning_rate_schedule(cfg, SPE)
    low, warmup, total = PEAK * cfg.min_lr_ratio, 10, 60
    for s in range(warmup + 1):  # warm-up from 0 (not from min lr as in cosine_restarts)
        assert _close(_lr(schedule, s), PEAK * s / warmup)
    for s in range(warmup, total + 1):
        assert _close(_lr(schedule, s), _cosine(PEAK, low, s - warmup, total - warmup))
    assert _close(_lr(schedule, total), low) and _close(_lr(schedule, 10 * total), low)
    assert _restart_steps(schedule, total, warmup=True) == []
    schedule = learning_rate_schedule(_cfg(schedule="cosine", epochs=6, warmup_epochs=0.0), SPE)
    assert _close(_lr(schedule, 0), PEAK) and _close(_lr(schedule, 30), (PEAK + low) / 2)


def test_unknown_schedule_names_the_choices():
    with pytest.raises(ValueError, match="cosine_restarts.*cosine.*constant.*'linear'"):
        learning_rate_schedule(_cfg(schedule="linear"), SPE)
