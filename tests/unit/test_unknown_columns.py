"""``features.exclude`` naming a column that is not in the data: one line naming the real columns (issue 9).

The issue's case: a CSV whose first header cell is blank (an index written by pandas) or holds only spaces. pandas
names a blank cell ``Unnamed: 0`` but a cell of spaces ``' '``, which ingest stripped to ``''``: the error then
said ``column '' not found`` / ``columns are , risk, ...`` and the column could not be named in the config (an
empty name is refused). Both are now ``Unnamed: N``, listed and named in the hint, and can be excluded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgate.pipeline.config import DataSettings, FeatureSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.ingest import load
from mlgate.pipeline.prepare import prepare

ROWS = "1,1,20\n2,0,30\n3,1,40\n4,0,50\n"


def _prepare(path: Path, exclude: list[str]):
    data = DataSettings(source=str(path), target="risk", positive_label=1)
    dataset = load(data, source=str(path))
    return prepare(dataset.frame, data, FeatureSettings(exclude=exclude), source=dataset.source)


@pytest.mark.parametrize("header", ["", " ", "  ", '""', '" "'], ids=["blank", "space", "spaces", "quoted", "qspace"])
def test_a_blank_header_cell_is_named_listed_and_can_be_excluded(tmp_path: Path, header: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(f"{header},risk,age\n{ROWS}")
    with pytest.raises(DataError) as caught:
        _prepare(path, ["id"])
    message = str(caught.value)
    assert message == (
        f"{path}: column 'id' (features.exclude) not found; columns are Unnamed: 0, risk, age "
        "(a blank header cell is read as 'Unnamed: 0')"
    )
    assert "column ''" not in message and "are , " not in message
    prepared = _prepare(path, ["Unnamed: 0"])
    assert prepared.features == ["age"]


def test_an_empty_column_name_in_parquet_is_named_too(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pd.DataFrame({"": [1, 2, 3, 4], "risk": [1, 0, 1, 0], "age": [20, 30, 40, 50]}).to_parquet(path)
    with pytest.raises(DataError, match=r"columns are Unnamed: 0, risk, age \(a blank header cell is read as"):
        _prepare(path, ["id"])
    assert _prepare(path, ["Unnamed: 0"]).features == ["age"]


def test_a_typo_lists_the_real_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(f"id,risk,age\n{ROWS}")
    with pytest.raises(
        DataError, match=rf"^{path}: column 'ag' \(features\.exclude\) not found; columns are id, risk, age$"
    ):
        _prepare(path, ["ag"])
