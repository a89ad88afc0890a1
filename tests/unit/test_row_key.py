"""The row-key split (``split.method = "row_key"``): Spark's hash reproduced in numpy, sizes per stratum, and rows
that do not depend on the order of the file. Spark computing the same keys is tested in tests/spark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import load_config
from mlgate.pipeline.dataload import load_data
from mlgate.pipeline.row_key import MISSING_TEXT_KEY, canonical_text, cut, hash_bytes, hash_long, row_keys, text_keys


def test_hash_long_is_sparks_xxhash64():
    # values printed by Spark 4.3: SELECT xxhash64(5L), xxhash64(1.5D), xxhash64(-0.0D),
    # xxhash64(CAST('NaN' AS DOUBLE)), xxhash64(3L, 5L, -7L)
    bits = lambda d: np.array([d], dtype=np.float64).view(np.int64)[0]  # noqa: E731
    assert hash_long(np.array([5]), 42)[0] == 6251837290343458373
    assert hash_long(np.array([bits(1.5)]), 42)[0] == 7738255526519901366
    assert hash_long(np.array([bits(0.0)]), 42)[0] == -5252525462095825812
    assert hash_long(np.array([bits(np.nan)]), 42)[0] == -3127944061524951246
    chained = hash_long(np.array([-7]), hash_long(np.array([5]), hash_long(np.array([3]), 42)))
    assert chained[0] == 1645537728048932541


def test_canonical_text_and_text_keys():
    assert [canonical_text(t) for t in ["2.0", "-3.00", "2.5", "True", "false", "A11"]] == [
        "2", "-3", "2.5", "true", "false", "A11"
    ]  # fmt: skip
    keys = text_keys(pd.Series(["2", 2.0, None, "x"], dtype=object))
    assert keys[0] == keys[1] and keys[2] == MISSING_TEXT_KEY and keys[3] != keys[0]
    assert keys[3] == hash_bytes(b"x")


def test_hash_bytes_is_sparks_xxhash64_of_text():
    """Values Spark's ``xxhash64`` gives (checked on Spark in tests/spark/test_spark_run.py): empty, short, a 4-byte
    tail, multi-byte UTF-8, and past the 32-byte stripes."""
    assert [hash_bytes(t.encode()) for t in ["", "A11", "not_known", "é€😀", "x" * 37]] == [
        -7444071767201028348, 999600117874185379, 4092403502314855350, 4864642318240220792, -1711886875604265694
    ]  # fmt: skip


def test_missing_values_in_different_columns_give_different_keys():
    frame = pd.DataFrame({"a": [np.nan, 1.0], "b": [1.0, np.nan]})
    keys = row_keys(frame, pd.Series([0, 0]), ["a", "b"], [], 7)
    assert keys[0] != keys[1]


def test_cut_sizes_per_stratum_and_ties_held_out_together():
    keys = np.array([5, 1, 9, 3, 3, 7, 2, 8, 6, 4], dtype=np.int64)
    strata = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    parts = cut(keys, strata, 0.2, 0.25)
    assert sorted(parts["test"].tolist()) == [1, 6]  # the smallest key of each stratum (ceil(0.2 * 5) = 1)
    assert sorted(parts["validation"].tolist()) == [3, 4, 9]  # ceil(0.25 * 4) = 1 per stratum; key 3 ties: both
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(10))


def _rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return sorted(tuple(map(repr, row)) for row in frame[sorted(frame.columns)].itertuples(index=False))


def test_row_key_split_ignores_row_order_and_keeps_sizes(tmp_path):
    config = load_config("mlgate.toml")
    keyed = config.model_copy(update={"split": config.split.model_copy(update={"method": "row_key"})})
    first = load_data(keyed).split
    shuffled = pd.read_csv(config.data_source).sample(frac=1.0, random_state=3)
    path = tmp_path / "shuffled.csv"
    shuffled.to_csv(path, index=False)
    moved = keyed.model_copy(update={"data": keyed.data.model_copy(update={"source": str(path)})})
    second = load_data(moved).split
    for name in ("train", "validation", "test"):
        a, b = getattr(first, name), getattr(second, name)
        assert _rows(a) == _rows(b), name
    assert (len(first.train), len(first.validation), len(first.test)) == (524, 176, 300)
    other_seed = load_data(keyed.model_copy(update={"split": keyed.split.model_copy(update={"random_state": 7})}))
    assert set(other_seed.split.test.index) != set(first.test.index)


def test_spark_engine_refuses_the_shuffle_method(tmp_path):
    from mlgate.pipeline.errors import ConfigError

    text = Path("mlgate.toml").read_text().replace("[data]\n", '[data]\nengine = "spark"\n', 1)
    text = text.replace("random_state = 42\n", 'random_state = 42\nmethod = "shuffle"\n', 1)
    path = tmp_path / "mlgate.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="split.method"):
        load_config(path)
