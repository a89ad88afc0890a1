"""staleness.data_distribution: the champion's logged training rows vs this run's, by the drift gate's tests.

Row counts and distributions answer different questions: rows resampled from the same population change the row
count (staleness.data_changed fails) but not the distribution (this check passes); a shifted feature or label
changes the distribution (this check warns, naming it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from mlgate.checks import staleness
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Reason, Status
from mlgate.checks.staleness_distribution import check_data_distribution
from mlgate.pipeline.batch import DriftReference, read_reference, reference_rows, write_reference
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import load_config
from mlgate.pipeline.ingest import fingerprint, row_hashes
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.tags import Tag

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _champion(frame: pd.DataFrame) -> ChampionRecord:
    return ChampionRecord(
        name="german-credit",
        version="4",
        run_id="run4",
        trained_at=NOW - timedelta(days=2),
        row_hashes=row_hashes(frame),
        tags={Tag.DATA_FINGERPRINT: fingerprint(frame)},
    )


def _evidence(tmp_path: Path, german_config_path: Path, frame: pd.DataFrame, **kwargs) -> Evidence:
    """The bundled project on ``frame`` (written as its data file)."""
    frame.to_csv(tmp_path / "credit.csv", index=False)
    text = german_config_path.read_text().replace('source = "data/german_credit.csv"', 'source = "credit.csv"')
    (tmp_path / "mlgate.toml").write_text(text)
    config = load_config(tmp_path / "mlgate.toml")
    bundle = load_data(config)
    return Evidence(config, bundle.dataset, bundle.prepared, bundle.split, **kwargs)


@pytest.fixture(scope="module")
def original(german_config_path: Path) -> tuple[pd.DataFrame, DriftReference]:
    """The bundled data and its training rows as the champion logged them (through Parquet, as in the store)."""
    config = load_config(german_config_path)
    bundle = load_data(config)
    rows = reference_rows(bundle, max_rows=100_000, random_state=42)
    return bundle.dataset.frame, DriftReference(rows, "champion v4's training data", "4")


def _through_parquet(reference: DriftReference, tmp_path: Path) -> DriftReference:
    path = write_reference(reference.frame, tmp_path / "reference.parquet")
    return DriftReference(read_reference(path, what="test"), reference.description, reference.champion_version)


def test_rows_resampled_from_the_same_population_change_the_row_count_not_the_distribution(
    tmp_path: Path, german_config_path: Path, original
) -> None:
    frame, reference = original
    rng = np.random.default_rng(5)
    renewed = frame.copy()
    replaced = rng.choice(len(frame), size=200, replace=False)  # 20% of the rows become other real rows
    renewed.iloc[replaced] = frame.iloc[rng.choice(len(frame), size=200)].to_numpy()
    evidence = _evidence(
        tmp_path,
        german_config_path,
        renewed,
        champion=_champion(frame),
        drift_reference=_through_parquet(reference, tmp_path),
    )
    by_id = {r.id: r for r in staleness.run(evidence, now=NOW)}
    assert by_id["staleness.data_changed"].status is Status.FAIL  # more than 5% of the rows changed
    result = by_id["staleness.data_distribution"]
    assert result.status is Status.PASS, result.message
    assert result.message.startswith("the data changed since champion german-credit v4 was trained, but not in ")
    assert set(result.details["columns"]) == {*evidence.prepared.features, "risk"}


def test_a_shifted_feature_and_label_are_named(tmp_path: Path, german_config_path: Path, original) -> None:
    frame, reference = original
    shifted = frame.copy()
    shifted["credit_amount"] = (shifted["credit_amount"] * 1.6).round()
    good = shifted.index[shifted["risk"] == 1]
    shifted.loc[good[: len(good) // 3], "risk"] = 0  # a third of the good risks now default
    evidence = _evidence(tmp_path, german_config_path, shifted, champion=_champion(frame), drift_reference=reference)
    result = {r.id: r for r in staleness.run(evidence, now=NOW)}["staleness.data_distribution"]
    assert result.status is Status.WARN and result.reason is Reason.SIGNIFICANT_ABOVE_FLOOR
    assert result.observed == ["credit_amount", "risk"]
    assert "the data changed in distribution since champion german-credit v4 was trained: credit_amount (D = " in (
        result.message
    )
    assert "risk (TVD = " in result.message
    assert result.blocking  # judged alone (no candidate in the evidence), it blocks like the other checks


def test_a_champion_without_a_logged_reference_is_skipped(tmp_path: Path, german_config_path: Path, original) -> None:
    frame, _ = original
    evidence = _evidence(tmp_path, german_config_path, frame.iloc[:900], champion=_champion(frame))
    result = {r.id: r for r in staleness.run(evidence, now=NOW)}["staleness.data_distribution"]
    assert result.status is Status.SKIPPED and result.reason is Reason.PROVENANCE_MISSING
    assert "logged no training-data reference" in result.message


@pytest.mark.parametrize(
    ("loader", "column", "seed"),
    [(load_breast_cancer, "mean radius", 1), (load_wine, "alcohol", 7), (load_breast_cancer, "mean texture", 13)],
)
def test_scikit_learn_data_sets_clean_halves_pass_a_shifted_half_warns(
    german_config_path: Path, loader, column: str, seed: int
) -> None:
    data = loader(as_frame=True).frame.rename(columns={"target": "label"})
    config = load_config(german_config_path)
    halves = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    then, now = halves.iloc[: len(data) // 2], halves.iloc[len(data) // 2 :].copy()
    numeric = [c for c in data.columns if c != "label"]
    champion = _champion(then)
    reference = DriftReference(then, "champion v4's training data", "4")

    def judge(current: pd.DataFrame):
        return check_data_distribution(
            champion,
            config,
            reference=reference,
            current=current,
            numeric=numeric,
            categorical=[],
            target="label",
            fingerprint=fingerprint(current),
        )

    assert judge(now).status is Status.PASS
    now[column] = now[column] * 1.3
    shifted = judge(now)
    assert shifted.status is Status.WARN and column in shifted.observed, shifted.message
