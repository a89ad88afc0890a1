"""Write the wine example's data set, wine.csv, from the copy bundled with scikit-learn.

    .venv/bin/python examples/wine/make_data.py              # writes wine.csv here

Source: ``sklearn.datasets.load_wine()``, scikit-learn's copy of the UCI Machine Learning Repository's Wine
data set (Forina et al., PARVUS; https://doi.org/10.24432/C5PC7J). UCI licenses the data set under CC BY 4.0;
scikit-learn, which bundles it, is BSD-3-Clause (see DATA.md). No download: the data ships inside scikit-learn.

Re-running the script reproduces wine.csv byte for byte: the values are the bundled file's, unchanged, and
every float is written in its shortest exact form (the source's own digits, e.g. ``14.23``).

Rows: 178 wines from one region of Italy, one per row: 13 chemical measurements (scikit-learn's feature
names; ``od280/od315_of_diluted_wines`` becomes ``od280_od315_of_diluted_wines``; ``magnesium`` and
``proline`` are whole numbers in the source and are written as integers) and the label ``cultivar``, the
class NAME from scikit-learn's ``target_names`` (text): class_0 (59 rows), class_1 (71), class_2 (48).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine

__all__ = ["INTEGER_COLUMNS", "TARGET", "generate"]

TARGET = "cultivar"
#: Columns whose every raw value is a whole number: written as integers (``127``, not ``127.0``).
INTEGER_COLUMNS = ("magnesium", "proline")
HERE = Path(__file__).resolve().parent


def generate() -> pd.DataFrame:
    """The data set as written to wine.csv (see the module docstring)."""
    bunch = load_wine(as_frame=True)
    frame = bunch.data.rename(columns=lambda name: name.replace("/", "_")).copy()
    for name in INTEGER_COLUMNS:
        values = frame[name].to_numpy()
        if not np.array_equal(values, np.round(values)):
            raise ValueError(f"column {name!r} has fractional values; it cannot be written as integers")
        frame[name] = values.astype(np.int64)
    frame[TARGET] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder for wine.csv")
    args = parser.parse_args(argv)
    frame = generate()
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "wine.csv", index=False, lineterminator="\n")
    counts = ", ".join(f"{label} {count}" for label, count in frame[TARGET].value_counts().sort_index().items())
    print(f"wrote {len(frame)} rows x {frame.shape[1]} columns to {args.out}/wine.csv ({counts})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
