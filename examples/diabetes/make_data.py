"""Write the diabetes example's data set, diabetes.csv, from the copy bundled with scikit-learn.

    .venv/bin/python examples/diabetes/make_data.py          # writes diabetes.csv here

Source: ``sklearn.datasets.load_diabetes(scaled=False)``, the raw (unscaled) values of the diabetes data of
Efron, Hastie, Johnstone and Tibshirani (2004), "Least Angle Regression", Annals of Statistics 32(2), 407-499;
original data https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html. scikit-learn, and the data files it
bundles, are under the BSD-3-Clause licence (see DATA.md). No download: the data ships inside scikit-learn.

Re-running the script reproduces diabetes.csv byte for byte: the values are the bundled file's, unchanged, and
every float is written in its shortest exact form (the source's own digits, e.g. ``4.8598``).

Rows: 442 patients, one per row. The columns are renamed from scikit-learn's ``s1``..``s6`` to the
meanings its description gives them:

===========  =======  ============================================================================
column       type     meaning (scikit-learn's name in brackets)
===========  =======  ============================================================================
age          int      age in years
sex          int      sex, coded 1 / 2 (a category, not an amount)
bmi          float    body mass index
bp           float    average blood pressure
tc           int      total serum cholesterol (s1)
ldl          float    low-density lipoproteins (s2)
hdl          float    high-density lipoproteins (s3)
tch          float    total cholesterol / HDL (s4)
ltg          float    possibly log of serum triglycerides level (s5)
glu          int      blood sugar level (s6)
progression  int      the target: a quantitative measure of disease progression one year after
                      baseline (observed 25..346)
===========  =======  ============================================================================
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

__all__ = ["COLUMNS", "INTEGER_COLUMNS", "TARGET", "generate"]

#: scikit-learn's column name -> ours, in file order.
COLUMNS = {
    "age": "age",
    "sex": "sex",
    "bmi": "bmi",
    "bp": "bp",
    "s1": "tc",
    "s2": "ldl",
    "s3": "hdl",
    "s4": "tch",
    "s5": "ltg",
    "s6": "glu",
}
TARGET = "progression"
#: Columns whose every raw value is a whole number: written as integers (``59``, not ``59.0``).
INTEGER_COLUMNS = ("age", "sex", "tc", "glu", TARGET)
HERE = Path(__file__).resolve().parent


def generate() -> pd.DataFrame:
    """The data set as written to diabetes.csv (see the module docstring)."""
    bunch = load_diabetes(scaled=False, as_frame=True)
    frame = bunch.data.rename(columns=COLUMNS)[list(COLUMNS.values())].copy()
    frame[TARGET] = bunch.target.to_numpy()
    for name in INTEGER_COLUMNS:
        values = frame[name].to_numpy()
        if not np.array_equal(values, np.round(values)):
            raise ValueError(f"column {name!r} has fractional values; it cannot be written as integers")
        frame[name] = values.astype(np.int64)
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for diabetes.csv")
    args = parser.parse_args(argv)
    frame = generate()
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "diabetes.csv", index=False, lineterminator="\n")
    target = frame[TARGET]
    print(
        f"wrote {len(frame)} rows x {frame.shape[1]} columns to {args.out}/diabetes.csv "
        f"({TARGET} {target.min()}..{target.max()}, mean {target.mean():.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
