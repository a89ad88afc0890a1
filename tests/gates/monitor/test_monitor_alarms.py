"""The false-alarm rule across windows, measured: under no change, the share of windows with any statistical alarm
stays within the window's budget (``monitor.alarm_budget_per_day / runs_per_day``); benchmarks/bench_monitor.py
measures it at the defaults over more windows, with detection times.

The population is the bundled data itself (its empirical distribution): the reference's training rows, its test
rows and every window are independent draws with replacement from it, so nothing changed between them by
construction, and the model scores each draw.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from fixtures.monitor_traffic import Traffic, with_monitor

from mlgate.checks.monitor import family_alpha
from mlgate.ci.monitor_profile import category_table

STATISTICAL = ("monitor.input_drift[", "monitor.prediction_drift", "monitor.balance", "monitor.live_quality[")


def _population(served) -> tuple[pd.DataFrame, np.ndarray]:
    rows = pd.concat([served.reference.rows[list(served.reference.features)], served.X], ignore_index=True)
    labels = np.concatenate([served.reference.rows[served.reference.target].to_numpy(), served.y])
    return rows, labels


def _null_reference(served, rows: pd.DataFrame, labels: np.ndarray, rng: np.random.Generator):
    train = rng.integers(0, len(rows), 700)
    test = rng.integers(0, len(rows), 300)
    training = rows.iloc[train].reset_index(drop=True)
    return dataclasses.replace(
        served.reference,
        rows=training,
        rows_total=len(training),
        category_counts={c: category_table(training[c]) for c in served.reference.categorical},
        test_proba=served.score(rows.iloc[test]),
        test_labels=labels[test],
    )


def test_clean_windows_raise_false_alarms_within_the_window_budget(served, judge) -> None:
    rows, labels = _population(served)
    rng = np.random.default_rng(11)
    budget = 0.3  # one run a day at 0.3: large enough for alarms to be countable in a short test
    config = with_monitor(served.config, alarm_budget_per_day=budget, runs_per_day=1, min_feedback=100)
    assert family_alpha(config) == budget / 6
    windows, alarms = 40, 0
    for _ in range(windows):
        reference = _null_reference(served, rows, labels, rng)
        picks = rng.integers(0, len(rows), 300)
        traffic = Traffic(rows.iloc[picks].reset_index(drop=True), served.score(rows.iloc[picks]), list(labels[picks]))
        results = judge(traffic, config=config, reference=reference)
        failed = [r.id for r in results.values() if r.blocks and r.id.startswith(STATISTICAL)]
        alarms += bool(failed)
    # under the null the rule keeps P(alarm) <= 0.3 per window; 40 windows at 0.3 exceed 19 alarms with p < 1%
    assert alarms <= 19, f"{alarms} of {windows} clean windows raised an alarm"
