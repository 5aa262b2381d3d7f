"""Write nnframe's bundled data sets from scikit-learn's copies, or check the shipped files.

    python tools/bundle_datasets.py          # (re)write nnframe/data/bundled/<name>.npz
    python tools/bundle_datasets.py --check  # exit 1 when a shipped file differs

Each file is a compressed ``.npz`` archive (``numpy.savez_compressed``) of plain arrays,
no pickled objects, so ``numpy.load(..., allow_pickle=False)`` reads it:

- ``x``: float64 features, shape (n_rows, n_features), scikit-learn's ``data``;
- ``y``: scikit-learn's ``target``, shape (n_rows,): int64 class indices for the
  classification sets, float64 values for the regression set (diabetes);
- ``feature_names``: unicode strings, shape (n_features,);
- ``class_names`` (classification sets only): unicode strings, shape (n_classes,)
  (``"0"`` .. ``"9"`` for digits).

Diabetes is taken unscaled (``load_diabetes(scaled=False)``): nnframe standardises on the
training split itself, and scikit-learn's default scaling uses every row, test rows included.

Needs scikit-learn (``pip install scikit-learn``); nnframe itself does not. See
nnframe/data/bundled/README.md for where the data come from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn import datasets as sk_datasets

NAMES = ("breast_cancer", "diabetes", "digits", "iris", "wine")
REGRESSION = frozenset({"diabetes"})
FOLDER = Path(__file__).resolve().parent.parent / "nnframe" / "data" / "bundled"


def from_scikit_learn(name: str) -> dict[str, np.ndarray]:
    """The arrays of ``name`` as scikit-learn's ``load_<name>()`` returns them."""
    if name in REGRESSION:
        bunch = getattr(sk_datasets, f"load_{name}")(scaled=False)
        return {
            "x": np.asarray(bunch.data, dtype=np.float64),
            "y": np.asarray(bunch.target, dtype=np.float64),
            "feature_names": np.array([str(f) for f in bunch.feature_names], dtype=np.str_),
        }
    bunch = getattr(sk_datasets, f"load_{name}")()
    return {
        "x": np.asarray(bunch.data, dtype=np.float64),
        "y": np.asarray(bunch.target, dtype=np.int64),
        "feature_names": np.array([str(f) for f in bunch.feature_names], dtype=np.str_),
        "class_names": np.array([str(c) for c in bunch.target_names], dtype=np.str_),
    }


def differences(name: str, arrays: dict[str, np.ndarray]) -> list[str]:
    """What differs between the shipped file of ``name`` and ``arrays`` (empty: identical)."""
    path = FOLDER / f"{name}.npz"
    if not path.is_file():
        return [f"{path} is missing"]
    with np.load(path, allow_pickle=False) as shipped:
        if set(shipped.files) != set(arrays):
            return [f"{path}: holds {sorted(shipped.files)}, expected {sorted(arrays)}"]
        return [
            f"{path}: {key!r} differs"
            for key, array in arrays.items()
            if shipped[key].dtype != array.dtype or not np.array_equal(shipped[key], array)
        ]


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with ``--check`` compare them; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    problems = []
    for name in NAMES:
        arrays = from_scikit_learn(name)
        if args.check:
            problems.extend(differences(name, arrays))
            continue
        path = FOLDER / f"{name}.npz"
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
        print(f"{path}: {path.stat().st_size:,} bytes, x {arrays['x'].shape}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
