"""Bad-input corpus: the data file, and config names that only the data can prove wrong.

Every case is the bundled project with its CSV (or its path, or one column name in the config) broken, run through
``mlgate gate --layer schema`` in-process: all of these are found while the data is read and prepared, before any
gate or model. Each must end with exit 2 and one line naming the file and the column (or what the path is).
Run against the code before issue 7, 3 of these ended in a traceback with exit 1 (integers beyond 64 bits), 6 got
through this command as exit 0 or a gate failure, 5 of which crashed ``mlgate run`` (±inf in a feature, a slice or
sensitive column missing from the data), and 14 gave a wrong or vague message (a symlink loop read "data file not
found"; a latin-1 byte was placed by its offset inside pandas' read chunk; missing columns were named without the
columns that do exist).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hostile_helpers import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / "mlgate.toml").read_text(encoding="utf-8")
LINES = (ROOT / "data" / "german_credit.csv").read_text(encoding="utf-8").splitlines()
HEADER = LINES[0].split(",")
DATA = Path("data") / "german_credit.csv"
LAYERS = ("gate", "--layer", "schema")
COLUMNS = "columns are " + ", ".join(HEADER)


def csv_text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def cell(row: int, column: str, value: str) -> Callable[[Path], None]:
    """Data row ``row`` (1-based, header not counted), ``column`` set to ``value``."""

    def make(project: Path) -> None:
        lines = list(LINES)
        fields = lines[row].split(",")
        fields[HEADER.index(column)] = value
        lines[row] = ",".join(fields)
        (project / DATA).write_bytes(csv_text(lines))

    return make


def whole_column(column: str, value: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        index = HEADER.index(column)
        rows = [line.split(",") for line in LINES[1:]]
        for fields in rows:
            fields[index] = value
        (project / DATA).write_bytes(csv_text([LINES[0], *(",".join(f) for f in rows)]))

    return make


def content(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        (project / DATA).write_bytes(data() if callable(data) else data)

    return make


def config(old: str, new: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        assert old in CONFIG, old
        (project / "mlgate.toml").write_text(CONFIG.replace(old, new, 1), encoding="utf-8")

    return make


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        for step in steps:
            step(project)

    return make


def source(make_path: Callable[[Path], str]) -> Callable[[Path], None]:
    """Point data.source at whatever ``make_path`` creates in the project folder."""

    def make(project: Path) -> None:
        config('source = "data/german_credit.csv"', f'source = "{make_path(project)}"')(project)

    return make


def _loop(project: Path) -> str:
    (project / "a.csv").symlink_to(project / "b.csv")
    (project / "b.csv").symlink_to(project / "a.csv")
    return "a.csv"


def _dangling(project: Path) -> str:
    (project / "link.csv").symlink_to(project / "moved.csv")
    return "link.csv"


def _fifo(project: Path) -> str:
    os.mkfifo(project / "pipe.csv")
    return "pipe.csv"


def _latin1() -> bytes:
    lines = list(LINES)
    lines[700] = lines[700].replace(lines[700].split(",")[8], "caf\u00e9")
    return ("\n".join(lines) + "\n").encode("latin-1")


LATIN1_OFFSET = _latin1().index(b"\xe9")


def _index_column() -> bytes:
    return csv_text(["," + LINES[0], *(f"{i},{line}" for i, line in enumerate(LINES[1:]))])


def _rows(count: int) -> bytes:
    return csv_text(LINES[: count + 1])


def _ragged() -> bytes:
    lines = list(LINES)
    lines[10] += ",extra,more"
    return csv_text(lines)


# (id, how to break the project, regex for the message after "mlgate: error: ")
CASES: list[tuple[str, Callable[[Path], None], str]] = [
    # numbers no model can use: named by column and row
    (
        "integer-20-digits",
        cell(5, "credit_amount", "123456789012345678901"),
        r"german_credit\.csv: column 'credit_amount', data row 5: the integer 123456789012345678901 does not fit in 64",
    ),
    (
        "integer-beyond-int64",
        cell(7, "duration", "18446744073709551615"),
        r"german_credit\.csv: column 'duration', data row 7: the integer 18446744073709551615 does not fit",
    ),
    (
        "integer-below-int64",
        cell(9, "age", "-9223372036854775809"),
        r"german_credit\.csv: column 'age', data row 9: the integer -9223372036854775809",
    ),
    (
        "integer-20-digits-in-target",
        cell(3, "risk", "123456789012345678901"),
        r"german_credit\.csv: column 'risk', data row 3: the integer",
    ),
    (
        "infinity-in-feature",
        cell(5, "credit_amount", "inf"),
        r"german_credit\.csv: numeric column 'credit_amount' holds inf \(data row 5; 1 infinite value\(s\)\)",
    ),
    (
        "minus-infinity-in-feature",
        cell(12, "age", "-inf"),
        r"german_credit\.csv: numeric column 'age' holds -inf \(data row 12",
    ),
    ("infinity-spelled-out", cell(2, "duration", "Infinity"), r"german_credit\.csv: numeric column 'duration'"),
    # what the path is, when it is not a regular file
    ("symlink-loop", source(_loop), r"a\.csv: symlink loop \(the link leads back to itself\)"),
    ("dangling-symlink", source(_dangling), r"link\.csv: a symlink to .*moved\.csv, which does not exist"),
    ("directory", source(lambda project: "data"), r"/data: a directory, not a data file"),
    ("fifo", source(_fifo), r"pipe\.csv: a FIFO \(named pipe\); data\.source must be a regular CSV or Parquet"),
    ("missing-file", source(lambda project: "nope.csv"), r"nope\.csv: data file not found"),
    # text that is not in the configured encoding: the position in the FILE
    (
        "latin-1-byte",
        content(_latin1),
        rf"german_credit\.csv: not readable as utf-8: byte 0xe9 at offset {LATIN1_OFFSET} of the file "
        r"\(line 701, column 'purpose'\); set data\.encoding",
    ),
    (
        "utf-16-file",
        content(lambda: "\n".join(LINES).encode("utf-16")),
        r"not readable as utf-8: byte 0xff at offset 0 of the file \(line 1",
    ),
    # files that are not a table
    ("empty-file", content(b""), r"german_credit\.csv: the file is empty"),
    ("header-only", content(lambda: _rows(0)), r"german_credit\.csv: no data rows"),
    ("binary-garbage", content(bytes(range(256)) * 40), r"german_credit\.csv: not a valid CSV with delimiter ','"),
    ("ragged-row", content(_ragged), r"not a valid CSV .*Expected 10 fields in line 11, saw 12"),
    (
        "wrong-delimiter",
        config("[data]\n", '[data]\ndelimiter = ";"\n'),
        r"only one column read with delimiter ';', but the header contains ','; set data\.delimiter = ','",
    ),
    (
        "csv-read-as-parquet",
        config("[data]\n", '[data]\nformat = "parquet"\n'),
        r"german_credit\.csv: not a readable Parquet file",
    ),
    # labels
    ("target-all-missing", whole_column("risk", ""), r"target column 'risk' has no values"),
    ("target-three-classes", cell(5, "risk", "2"), r"target column 'risk' has 3 classes \['0', '1', '2'\]"),
    ("one-row", content(lambda: _rows(1)), r"target column 'risk' has a single class"),
    (
        "two-rows-cannot-split",
        content(lambda: _rows(2)),
        r"german_credit\.csv: target 'risk' has only 1 rows of one class; need at least 3 per class",
    ),
    (
        "positive-label-absent",
        config("positive_label = 1 ", "positive_label = 7 "),
        r"positive_label 7 not found in target column 'risk' \(values: \['0', '1'\]\)",
    ),
    # columns the config names that the data does not have: every real column listed
    (
        "sensitive-column-absent",
        config('column = "sex"', 'column = "gender"'),
        rf"column 'gender' \(balance\.sensitive\[0\]\.column\) not found; {COLUMNS}$",
    ),
    (
        "slice-column-absent",
        config('columns = ["housing", "purpose"]', 'columns = ["housing", "loan_purpose"]'),
        rf"column 'loan_purpose' \(slices\.columns\[1\]\) not found; {COLUMNS}$",
    ),
    (
        "exclude-column-absent",
        config("exclude = []", 'exclude = ["id"]'),
        rf"column 'id' \(features\.exclude\) not found; {COLUMNS}$",
    ),
    (
        "exclude-blank-header-column",
        both(content(_index_column), config("exclude = []", 'exclude = ["index"]')),
        r"column 'index' \(features\.exclude\) not found; columns are Unnamed: 0, risk, .* \(a blank header cell is "
        r"read as 'Unnamed: 0'\)",
    ),
    (
        "include-column-absent",
        config(
            'exclude = []                        # every column but the target\ncategorical = ["job"]',
            'include = ["age", "income"]',
        ),
        rf"column 'income' \(features\.include\) not found; {COLUMNS}$",
    ),
    (
        "event-time-column-absent",
        config("[data]\n", '[data]\nevent_time_column = "applied_at"\n'),
        r"column 'applied_at' \(data\.event_time_column\) not found",
    ),
    (
        "target-column-absent",
        config('target = "risk"', 'target = "default"'),
        r"target column 'default' not found; columns are risk, sex",
    ),
    (
        "only-the-target",
        content(lambda: csv_text([line.split(",")[0] for line in LINES])),
        r"german_credit\.csv: no feature columns left after excluding \['risk'\]",
    ),
]


@pytest.mark.parametrize(("make", "pattern"), [pytest.param(m, p, id=case_id) for case_id, m, p in CASES])
def test_broken_data_is_one_line_naming_file_and_column(run_cli, project_copy: Path, make, pattern: str) -> None:
    make(project_copy)
    out = project_copy / "reports"
    result = run_cli(*LAYERS, "--config", str(project_copy / "mlgate.toml"), "--out", str(out))
    assert_one_line_error(result, 2, pattern)
    assert re.match(rf"mlgate: error: {re.escape(str(project_copy))}/\S+: ", result.error_line), "names the file"
    assert not out.exists(), "nothing may be written for bad data"


def test_an_unreadable_file_is_named(run_cli, project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod cannot lock out root (the CI container's user), so the read itself is made to fail as for a user."""

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", denied)
    result = run_cli(*LAYERS, "--config", str(project_copy / "mlgate.toml"), "--out", str(project_copy / "r"))
    assert_one_line_error(result, 2, r"german_credit\.csv: cannot read the data file \(permission denied\)$")


def test_a_sensitive_attribute_need_not_be_a_feature(run_cli, project_copy: Path) -> None:
    """Excluding 'sex' from the model (common for a credit decision) once crashed the run; it is still judged."""
    config("exclude = []", 'exclude = ["sex"]')(project_copy)
    out = project_copy / "reports"
    result = run_cli("gate", "--layer", "balance", "--config", str(project_copy / "mlgate.toml"), "--out", str(out))
    assert result.code == 0, result.stderr
    assert "balance.sensitive_share[train][sex=female]" in (out / "report.json").read_text()


def test_the_unbroken_project_passes_the_same_command(run_cli, project_copy: Path) -> None:
    result = run_cli(*LAYERS, "--config", str(project_copy / "mlgate.toml"), "--out", str(project_copy / "r"))
    assert result.code == 0, result.stderr


def _batch(lines: list[str]) -> Callable[[Path], str]:
    def make(project: Path) -> str:
        (project / "batch.csv").write_bytes(csv_text(lines))
        return str(project / "batch.csv")

    return make


def _batch_cell(column: str, value: str) -> Callable[[Path], str]:
    fields = LINES[3].split(",")
    fields[HEADER.index(column)] = value
    return _batch([LINES[0], *LINES[1:3], ",".join(fields), *LINES[4:50]])


def _directory(project: Path) -> str:
    (project / "batch").mkdir()
    return str(project / "batch")


CURRENT_CASES: list[tuple[str, Callable[[Path], str], str]] = [
    (
        "current-missing-feature",
        _batch([",".join(HEADER[:-1]), *(line.rsplit(",", 1)[0] for line in LINES[1:50])]),
        r"batch\.csv: column 'age' \(a feature the drift gate compares\) not found in the current batch; columns are",
    ),
    ("current-empty", _batch([]), r"batch\.csv: the file is empty$"),
    ("current-header-only", _batch([LINES[0]]), r"batch\.csv: no data rows$"),
    ("current-absent", lambda project: str(project / "absent.csv"), r"absent\.csv: data file not found$"),
    ("current-directory", _directory, r"batch: a directory, not a data file"),
    ("current-infinite", _batch_cell("age", "inf"), r"batch\.csv: numeric column 'age' holds inf \(data row 3;"),
    ("current-huge-integer", _batch_cell("duration", "9" * 30), r"batch\.csv: column 'duration', data row 3: the"),
]


@pytest.mark.parametrize(("make", "pattern"), [pytest.param(m, p, id=case_id) for case_id, m, p in CURRENT_CASES])
def test_a_broken_current_batch_is_one_line_naming_it(run_cli, project_copy: Path, make, pattern: str) -> None:
    """``mlgate gate --layer drift --current``: the batch is read and cleaned like the data, and refused like it."""
    batch = make(project_copy)
    out = project_copy / "reports"
    result = run_cli("gate", "--layer", "drift", "--current", batch, "--config", str(project_copy / "mlgate.toml"),
                     "--out", str(out))  # fmt: skip
    assert_one_line_error(result, 2, pattern)
    assert not out.exists(), "nothing may be written for a bad batch"


def test_a_time_split_on_a_value_that_is_not_a_time_is_one_line(run_cli, project_copy: Path) -> None:
    dates = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(LINES) - 1)]
    dates[6] = "last tuesday"
    lines = [LINES[0] + ",applied", *(f"{line},{day}" for line, day in zip(LINES[1:], dates, strict=True))]
    (project_copy / DATA).write_bytes(csv_text(lines))
    text = CONFIG.replace(
        'missing_values = ["not_known"]', 'missing_values = ["not_known"]\nevent_time_column = "applied"'
    )
    text = text.replace("random_state = 42\n\n[model]", 'random_state = 42\nby = "time"\n\n[model]')
    (project_copy / "mlgate.toml").write_text(text, encoding="utf-8")
    result = run_cli(*LAYERS, "--config", str(project_copy / "mlgate.toml"), "--out", str(project_copy / "r"))
    assert_one_line_error(
        result, 2, r"german_credit\.csv: split\.by = \"time\": column 'applied' \(data\.event_time_column\) has 1 "
    )
