"""Bad-input corpus: rows that repeat, rows that vanish, and weights mlgate cannot honour (issue 9).

Config: ``data.weight_column`` is refused with one line naming the key (sample weights are not supported: a
weight honoured by training but not by the balance shares, metrics and bootstrap would give a verdict about
neither population, and the column must never silently become a feature); the duplicate bounds are range-checked.
Data: a file that repeats rows is reported by ``schema.duplicate_rows`` in the terminal, Markdown and JUnit
(as a check), kept or dropped, and every row count reaches every report's header.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from hostile_helpers import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "mlgate.toml").read_text(encoding="utf-8")
ANCHOR = "drop_duplicates = false\n"
SCHEMA = ("gate", "--layer", "schema")


def _config(project: Path, new: str, old: str = ANCHOR) -> Path:
    config = project / "mlgate.toml"
    assert old in GOOD
    config.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return config


@pytest.mark.parametrize(
    ("change", "key", "pattern"),
    [
        pytest.param(
            (ANCHOR, 'drop_duplicates = false\nweight_column = "survey_weight"\n'),
            "data.weight_column",
            r"sample weights are not supported by mlgate: balance shares, metrics and training would all ignore "
            r"'survey_weight'; remove the key, and list 'survey_weight' in features\.exclude so the weight never "
            r"becomes a feature$",
            id="weight-column",
        ),
        pytest.param(
            ("duplicates_fail_share = 0.05", "duplicates_fail_share = 0.001"),
            "data.duplicates_fail_share",
            r"0\.001 is below data\.duplicates_warn_share \(0\.01\): the fail bound must be at least the warn bound",
            id="fail-below-warn",
        ),
        pytest.param(
            (ANCHOR, "drop_duplicates = false\nduplicates_warn_share = 1.5\n"),
            "data.duplicates_warn_share",
            r"less than or equal to 1",
            id="warn-above-one",
        ),
        pytest.param(
            (ANCHOR, "drop_duplicates = false\nduplicates_warn_share = nan\n"),
            "data.duplicates_warn_share",
            r"finite number",
            id="warn-nan",
        ),
        pytest.param((ANCHOR, 'drop_duplicates = "sometimes"\n'), "data.drop_duplicates", r"boolean", id="drop-a-word"),
    ],
)
def test_a_bad_rows_setting_is_refused_naming_the_key(
    run_cli, project_copy: Path, change: tuple[str, str], key: str, pattern: str
) -> None:
    config = _config(project_copy, change[1], change[0])
    out = project_copy / "reports"
    result = run_cli(*SCHEMA, "--config", str(config), "--out", str(out))
    assert_one_line_error(result, 2, rf"^mlgate: error: {re.escape(str(config))}: key '{re.escape(key)}': .*{pattern}")
    assert not out.exists()


def _repeat(project: Path, share: float) -> int:
    """Append ``share`` of the bundled rows again; the number of copies."""
    path = project / "data" / "german_credit.csv"
    frame = pd.read_csv(path)
    copies = frame.sample(frac=share, random_state=11)
    pd.concat([frame, copies], ignore_index=True).to_csv(path, index=False)
    return len(copies)


@pytest.mark.parametrize("drop", [False, True], ids=["kept", "dropped"])
def test_a_file_repeating_rows_fails_the_schema_gate_in_every_output(run_cli, project_copy: Path, drop: bool) -> None:
    copies = _repeat(project_copy, 0.1)  # 100 of 1,100 rows: above mlgate.toml's 5% fail bound
    config = _config(project_copy, f"drop_duplicates = {str(drop).lower()}\n")
    out = project_copy / "reports"
    result = run_cli(*SCHEMA, "--config", str(config), "--out", str(out))
    assert result.code == 1, result.stderr
    shown = re.sub(r"[\s│]+", " ", result.stdout)  # the terminal table wraps messages
    assert "FAIL schema.duplicate_rows" in shown
    assert "100 of 1,100 labelled rows (9.1%) repeat an earlier row" in shown
    used = 1100 - copies if drop else 1100
    flow = (
        f"1,100 read (10 columns) − {copies} duplicates dropped = {used:,} used"
        if drop
        else (f"1,100 read (10 columns) = 1,100 used ({copies} of them duplicates, kept)")
    )
    assert f"rows: {flow}" in result.stdout
    markdown = (out / "report.md").read_text()
    assert flow in markdown and "`schema.duplicate_rows` (schema, duplicate_rows)" in markdown
    root = ET.parse(out / "junit.xml").getroot()
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "schema.duplicate_rows"]
    assert case.find("failure").get("type") == "duplicate_rows"
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["rows_read"] == "1100" and properties["duplicate_rows"] == str(copies)
    assert properties["duplicates_dropped"] == str(copies if drop else 0)
