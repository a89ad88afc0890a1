"""Served rows with ground truth as training rows (pipeline.feedback_data): a real prediction log written through
the serving app's writer and feedback store (tests/fixtures/feedback_log.py), the bundled German credit data as
the training data, the combined Parquet file read back through the real ingest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.dataload import load_dataset
from mlgate.pipeline.errors import DataError, MlgateError
from mlgate.pipeline.feedback_data import FeedbackRows, combined_snapshot, feedback_rows
from mlgate.pipeline.ingest import Dataset, fingerprint
from tests.fixtures.feedback_log import Served, request, write_log


@pytest.fixture
def project(project_copy: Path) -> tuple[ProjectConfig, Dataset]:
    config = load_config(project_copy / "mlgate.toml")
    return config, load_dataset(config)


def _log(folder: Path, frame: pd.DataFrame) -> list[Served]:
    """Labelled rows of every kind (new, copies of training rows, a re-delivery, twins) and one without a label."""
    served = [
        Served("new-pos", request(frame.iloc[0], credit_amount=int(frame["credit_amount"].iloc[0]) + 1), 1),
        Served("new-neg", request(frame.iloc[1], duration=7), 0),
        Served("copy", request(frame.iloc[2]), int(frame["risk"].iloc[2])),  # a training row served again
        Served("flipped", request(frame.iloc[3]), 1 - int(frame["risk"].iloc[3])),  # same inputs, other label
        Served("twin-1", request(frame.iloc[4], age=70), 1),
        Served("twin-2", request(frame.iloc[4], age=70), 1),  # another request with equal inputs
        Served("again", request(frame.iloc[5], age=71), 0),
        Served("again", request(frame.iloc[5], age=71), 0, replica="r2"),  # one request logged by two replicas
        Served("unlabelled", request(frame.iloc[6], age=72)),
    ]
    write_log(folder, served)
    return served


def test_labelled_served_rows_become_training_rows(project, tmp_path: Path) -> None:
    config, dataset = project
    _log(tmp_path / "log", dataset.frame)
    rows = feedback_rows(config, str(tmp_path / "log"), dataset=dataset)
    assert (rows.rows_read, rows.rows_kept, rows.unlabelled) == (8, 6, 1)
    assert (rows.duplicates_of_training, rows.redelivered, rows.duplicates_dropped) == (1, 1, 2)
    frame = rows.frame
    assert list(frame.columns) == list(dataset.frame.columns) and dict(frame.dtypes) == dict(dataset.frame.dtypes)
    assert frame["risk"].tolist() == [1, 0, 1 - int(dataset.frame["risk"].iloc[3]), 1, 1, 0]
    assert frame["age"].tolist()[3:] == [70, 70, 71]  # both twins kept, the re-delivery once
    assert frame["job"].tolist() == dataset.frame["job"].iloc[[0, 1, 3, 4, 4, 5]].tolist()  # "2" is 2 again
    # a missing value is the sentinel the training column uses, as the ingest reads it
    assert frame["saving_accounts"].tolist() == dataset.frame["saving_accounts"].iloc[[0, 1, 3, 4, 4, 5]].tolist()
    assert "not_known" in frame["saving_accounts"].tolist()
    assert rows.fingerprint == fingerprint(frame) and rows.training_fingerprint == dataset.fingerprint
    assert rows.location == str(tmp_path / "log") and rows.not_logged == ()
    assert rows.first is not None and rows.last is not None and (rows.last - rows.first).total_seconds() == 7


def test_the_combined_snapshot_reads_back_through_the_ingest(project, tmp_path: Path) -> None:
    config, dataset = project
    _log(tmp_path / "log", dataset.frame)
    rows = feedback_rows(config, str(tmp_path / "log"), dataset=dataset)
    derived, sources = combined_snapshot(config, dataset, rows, tmp_path / "snapshots")
    assert derived.data.format == "parquet" and Path(derived.data.source).parent == tmp_path / "snapshots"
    assert derived.path == config.path and derived.schema_path == config.schema_path  # relative paths unchanged
    combined = load_dataset(derived)
    assert combined.n_rows == dataset.n_rows + 6 == sources["combined"]["rows"]
    assert combined.fingerprint == sources["combined"]["fingerprint"]
    assert dict(combined.frame.dtypes) == dict(dataset.frame.dtypes)
    assert sources["training"] == {"source": dataset.source, "fingerprint": dataset.fingerprint, "rows": 1000}
    assert sources["feedback"] == {
        "source": str(tmp_path / "log"),
        "fingerprint": rows.fingerprint,
        "rows": 6,
        "duplicates_dropped": 2,
        "first": "2026-12-01T08:00:00+00:00",
        "last": "2026-12-01T08:00:07+00:00",
    }
    again, _ = combined_snapshot(config, dataset, rows, tmp_path / "snapshots")
    assert again.data.source == derived.data.source  # named by content: the same inputs, the same file


def test_columns_that_are_no_model_input_are_missing_in_served_rows(project_copy: Path, tmp_path: Path) -> None:
    toml = project_copy / "mlgate.toml"
    toml.write_text(toml.read_text().replace("exclude = []", 'exclude = ["duration"]'))
    config = load_config(toml)
    dataset = load_dataset(config)
    inputs = request(dataset.frame.iloc[0], credit_amount=99)
    del inputs["duration"]  # not a model input: not in the request
    write_log(tmp_path / "log", [Served("a", inputs, 0)])
    rows = feedback_rows(config, str(tmp_path / "log"), dataset=dataset)
    assert rows.not_logged == ("duration",) and rows.frame["duration"].isna().all()
    assert rows.frame["duration"].dtype == "float64"  # an int column with a missing value, as a CSV reads
    derived, _ = combined_snapshot(config, dataset, rows, tmp_path / "snapshots")
    combined = load_dataset(derived)
    assert combined.n_rows == 1001 and combined.frame["duration"].isna().sum() == 1


def test_labels_map_onto_the_training_targets_values(project_copy: Path, tmp_path: Path) -> None:
    csv = project_copy / "data" / "german_credit.csv"
    frame = pd.read_csv(csv)
    frame["risk"] = frame["risk"].map({1: "good", 0: "bad"})
    frame.to_csv(csv, index=False)
    toml = project_copy / "mlgate.toml"
    toml.write_text(toml.read_text().replace("positive_label = 1 ", 'positive_label = "good"'))
    config = load_config(toml)
    dataset = load_dataset(config)
    write_log(
        tmp_path / "log",
        [Served(f"r{i}", request(frame.iloc[i], age=80 + i), label) for i, label in enumerate(["good", "bad", "good"])],
    )
    rows = feedback_rows(config, str(tmp_path / "log"), dataset=dataset)
    assert rows.frame["risk"].tolist() == ["good", "bad", "good"]


def test_a_label_that_is_no_class_of_the_target_is_refused(project, tmp_path: Path) -> None:
    config, dataset = project
    write_log(tmp_path / "log", [Served("a", request(dataset.frame.iloc[0], age=90), 7)])
    with pytest.raises(DataError, match=r"feedback label 7 is neither data.positive_label 1 nor the other class 0"):
        feedback_rows(config, str(tmp_path / "log"), dataset=dataset)


def test_a_log_without_labels_adds_no_rows(project, tmp_path: Path) -> None:
    config, dataset = project
    write_log(tmp_path / "log", [Served("a", request(dataset.frame.iloc[0], age=90))])
    rows = feedback_rows(config, str(tmp_path / "log"))  # the training data read from the config
    assert (rows.rows_read, rows.rows_kept, rows.unlabelled, rows.first) == (0, 0, 1, None)
    derived, sources = combined_snapshot(config, dataset, rows, tmp_path / "snapshots")
    assert load_dataset(derived).fingerprint == sources["combined"]["fingerprint"]
    assert sources["combined"]["rows"] == 1000


@pytest.mark.parametrize(
    ("location", "shown", "hidden"),
    [
        ("{tmp}/no-such-log", "{tmp}/no-such-log: no prediction log here", None),
        (
            "postgresql+psycopg://mlgate:s3cret@127.0.0.1:1/log",
            "postgresql+psycopg://mlgate:***@127.0.0.1:1/log",
            "s3cret",
        ),
    ],
)
def test_an_unreadable_log_is_one_line_naming_it(project, tmp_path: Path, location: str, shown: str, hidden) -> None:
    config, dataset = project
    with pytest.raises(MlgateError) as caught:
        feedback_rows(config, location.format(tmp=tmp_path), dataset=dataset)
    message = str(caught.value)
    assert message.startswith(shown.format(tmp=tmp_path)) and "\n" not in message
    assert hidden is None or hidden not in message


def test_rows_deduplicated_against_other_training_data_are_refused(project, tmp_path: Path) -> None:
    config, dataset = project
    rows = FeedbackRows(dataset.frame.iloc[:0], "f", "log", 0, 0, 0, 0, 0, None, None, "another")
    with pytest.raises(DataError, match=r"log: the feedback rows were deduplicated against training data another"):
        combined_snapshot(config, dataset, rows, tmp_path)
