"""schema.duplicate_rows: duplicates are counted and reported, kept by default, dropped only by choice.

Known-bad inputs: the bundled data with a third of its rows repeated ("the duplicated crew": distinct people
who share every recorded attribute), an oversampled group, a fail bound. Known-good: the bundled data (no
duplicate rows), iris (one duplicate in 150, under the warn bound), every data set scikit-learn ships.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import datasets

from mlgate.checks import balance
from mlgate.checks.duplicates import CHECK_ID, check_duplicates
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Reason, Status
from mlgate.checks.schema import run
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import DataSettings, FeatureSettings, load_config
from mlgate.pipeline.prepare import prepare

BUNDLED = Path(__file__).resolve().parents[3] / "data" / "german_credit.csv"


def _evidence(project: Path, frame: pd.DataFrame | None = None, **data: object) -> Evidence:
    """The bundled project in ``project`` with ``frame`` as its data and ``data`` overriding ``[data]`` keys."""
    if frame is not None:
        frame.to_csv(project / "data" / "german_credit.csv", index=False)
    config = load_config(project / "mlgate.toml")
    if data:
        config = config.model_copy(update={"data": config.data.model_copy(update=data)})
    bundle = load_data(config)
    return Evidence(config, bundle.dataset, bundle.prepared, bundle.split)


def _result(evidence: Evidence):
    (found,) = [r for r in run(evidence) if r.id == CHECK_ID]
    return found


def _crew(project: Path, *, seed: int, share: float = 0.5) -> pd.DataFrame:
    """The bundled data with ``share`` of its rows appended again (chosen with ``seed``)."""
    frame = pd.read_csv(BUNDLED)
    copies = frame.sample(frac=share, random_state=seed)
    return pd.concat([frame, copies], ignore_index=True)


# ------------------------------------------------------------------------------------------- good input
def test_the_bundled_data_has_no_duplicates_and_passes(german_config_path: Path) -> None:
    config = load_config(german_config_path)
    bundle = load_data(config)
    found = _result(Evidence(config, bundle.dataset, bundle.prepared, bundle.split))
    assert found.status is Status.PASS and found.reason is None
    assert found.message.endswith("german_credit.csv: no duplicate rows among 1,000 labelled rows")
    assert found.observed == {"duplicate_rows": 0, "rows": 1000, "share": 0.0, "dropped": 0}
    assert found.expected == {"warn_above": 0.01, "fail_above": 0.05}  # mlgate.toml: fail above 5%


def test_iris_one_duplicate_in_150_is_under_the_warn_bound_and_shown() -> None:
    frame = datasets.load_iris(as_frame=True).frame.assign(target=lambda f: (f["target"] == 2).astype(int))
    data = DataSettings(source="iris", target="target", positive_label=1)
    found = check_duplicates(prepare(frame, data, FeatureSettings(), source="iris"), data, source="iris")
    assert found.status is Status.PASS
    assert "1 of 150 labelled rows (0.7%) repeat an earlier row in every kept column, at most" in found.message
    assert found.details["examples"][0]["rows"] == [102, 143]  # data rows (1-based), first of the group first
    assert found.details["examples"][0]["values"]["sepal length (cm)"] == 5.8
    strict = data.model_copy(update={"duplicates_warn_share": 0.005})
    warned = check_duplicates(prepare(frame, strict, FeatureSettings(), source="iris"), strict, source="iris")
    assert warned.status is Status.WARN and warned.reason is Reason.DUPLICATE_ROWS


@pytest.mark.parametrize("loader", ["load_wine", "load_breast_cancer", "load_diabetes", "load_digits"])
def test_data_sets_without_duplicates_pass(loader: str) -> None:
    frame = getattr(datasets, loader)(as_frame=True).frame
    frame["target"] = (frame["target"] >= frame["target"].median()).astype(int)
    data = DataSettings(source=loader, target="target", positive_label=1)
    found = check_duplicates(prepare(frame, data, FeatureSettings(), source=loader), data, source=loader)
    assert found.status is Status.PASS and found.observed["duplicate_rows"] == 0


# -------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("seed", [1, 7, 42])
def test_the_duplicated_crew_is_kept_and_warned_about(project_copy: Path, seed: int) -> None:
    frame = _crew(project_copy, seed=seed)
    evidence = _evidence(project_copy, frame, duplicates_fail_share=None)
    found = _result(evidence)
    assert found.status is Status.WARN and found.reason is Reason.DUPLICATE_ROWS and found.blocking
    assert found.observed == {"duplicate_rows": 500, "rows": 1500, "share": pytest.approx(1 / 3), "dropped": 0}
    assert "500 of 1,500 labelled rows (33.3%) repeat an earlier row in every kept column, more than " in (
        found.message
    )
    assert "data.duplicates_warn_share = 1.0%; kept (data.drop_duplicates = false)" in found.message
    assert "set data.drop_duplicates = true" in found.message
    assert len(evidence.prepared.frame) == 1500  # kept: the model and the other gates see every row
    first = found.details["examples"][0]
    rows = first["rows"]
    assert rows[0] <= 1000 < rows[1]  # an original row and its copy, as data rows
    original = frame.iloc[rows[0] - 1]
    assert first["values"]["credit_amount"] == original["credit_amount"]
    assert all(frame.iloc[r - 1].equals(original) for r in rows)


def test_dropping_is_a_choice_and_the_check_still_reports_it(project_copy: Path) -> None:
    evidence = _evidence(project_copy, _crew(project_copy, seed=3), drop_duplicates=True, duplicates_fail_share=None)
    found = _result(evidence)
    assert found.status is Status.WARN
    assert found.observed["dropped"] == 500 and len(evidence.prepared.frame) == 1000
    assert "500 dropped (data.drop_duplicates = true), so the gates and the model saw 1,000 rows" in found.message
    assert "raise data.duplicates_warn_share if that is expected" in found.message
    assert evidence.prepared.report.duplicates_dropped == 500


def test_the_fail_bound_fails_and_blocks(project_copy: Path) -> None:
    found = _result(_evidence(project_copy, _crew(project_copy, seed=5, share=0.2)))  # mlgate.toml: fail above 5%
    assert found.status is Status.FAIL and found.reason is Reason.DUPLICATE_ROWS and found.blocks
    assert "200 of 1,200 labelled rows (16.7%)" in found.message
    assert "more than data.duplicates_fail_share = 5.0%" in found.message
    between = _result(_evidence(project_copy, _crew(project_copy, seed=5, share=0.03)))  # 30 / 1030: 2.9%
    assert between.status is Status.WARN and "more than data.duplicates_warn_share = 1.0%" in between.message


def test_a_share_at_the_bound_passes(project_copy: Path) -> None:
    frame = pd.read_csv(project_copy / "data" / "german_credit.csv")
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)  # 10 / 1010 < 1%
    found = _result(_evidence(project_copy, frame))
    assert found.status is Status.PASS and "at most data.duplicates_warn_share = 1.0%" in found.message
    assert [e["rows"] for e in found.details["examples"][:2]] == [[1, 1001], [2, 1002]]


def test_an_oversampled_group_stays_visible_to_the_balance_gate(project_copy: Path) -> None:
    """Oversampled copies of one group: kept (default), the balance gate sees the skew and the duplicate check
    names the copies; dropped, the skew is gone from the data, but the check says how many rows went."""
    frame = pd.read_csv(project_copy / "data" / "german_credit.csv")
    women = frame[frame["sex"] == "female"]
    skewed = pd.concat([frame, women, women], ignore_index=True)  # 310 women -> 930 of 1620
    kept = _evidence(project_copy, skewed)
    shares = [r for r in balance.run(kept) if r.id.startswith("balance.sensitive_share[") and "sex=female" in r.id]
    assert shares and all(r.status is Status.FAIL for r in shares), [r.message for r in shares]
    assert _result(kept).observed["duplicate_rows"] == 620

    dropped = _evidence(project_copy, skewed, drop_duplicates=True)
    assert _result(dropped).observed == {
        "duplicate_rows": 620,
        "rows": 1620,
        "share": pytest.approx(620 / 1620),
        "dropped": 620,
    }
    assert _result(dropped).status is Status.FAIL  # above mlgate.toml's 5%, dropped or not


def test_duplicates_are_counted_over_the_kept_columns_target_included() -> None:
    frame = pd.DataFrame({"y": [1, 0, 1, 1], "a": [1, 1, 1, 2], "id": [10, 11, 12, 13]})
    data = DataSettings(source="f", target="y", positive_label=1)
    with_id = prepare(frame, data, FeatureSettings(), source="f")
    assert with_id.report.duplicate_rows == 0  # the id tells the rows apart
    without = prepare(frame, data, FeatureSettings(exclude=["id"]), source="f")
    assert without.report.duplicate_rows == 1 and without.report.duplicate_examples == [[1, 3]]
    assert len(without.frame) == 4  # kept by default
    assert without.report.to_dict()["duplicate_rows"] == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1]), st.sampled_from(["a", "b", None]), st.sampled_from([1.0, 2.0, None])),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: len({r[0] for r in rows}) == 2)
)
def test_the_count_is_what_dropping_removes(rows: list[tuple[int, str | None, float | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["y", "c", "x"])
    data = DataSettings(source="f", target="y", positive_label=1, drop_duplicates=True)
    prepared = prepare(frame, data, FeatureSettings(numeric=["x"]), source="f")
    expected = len(frame) - len(frame.drop_duplicates())
    assert prepared.report.duplicate_rows == prepared.report.duplicates_dropped == expected
    assert len(prepared.frame) == len(frame) - expected
    for group in prepared.report.duplicate_examples:
        values = [tuple(frame.iloc[r - 1].fillna(-1)) for r in group]
        assert len(group) >= 2 and len(set(values)) == 1
    assert np.array_equal(prepared.rows, frame.drop_duplicates().index.to_numpy())
