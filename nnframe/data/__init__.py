"""Data: the bundled data sets, CSV files, splitting, standardisation, the preprocessing record.

The modules, each with one job:

- :mod:`nnframe.data.datasets`: :class:`Dataset`, :func:`load`, :func:`load_csv`,
  :func:`read_features` (also reachable as ``nnframe.datasets``);
- :mod:`nnframe.data.bundled`: the five small data sets shipped inside nnframe;
- :mod:`nnframe.data.tables`: CSV files parsed into checked tables of text cells;
- :mod:`nnframe.data.split`: shuffled and stratified train/test splits;
- :mod:`nnframe.data.standardizer`: :class:`Standardizer`;
- :mod:`nnframe.data.preprocessing`: :class:`Preprocessing`, the record a saved model
  carries so that new rows are prepared as its training rows were.
"""

from nnframe.data import bundled, datasets, preprocessing, split, standardizer, tables
from nnframe.data.bundled import IMAGE_SHAPES, NAMES
from nnframe.data.datasets import (
    MAX_AUTO_CLASSES,
    TASKS,
    Dataset,
    load,
    load_csv,
    read_features,
)
from nnframe.data.preprocessing import PREPROCESSING_KEY, Preprocessing
from nnframe.data.standardizer import Standardizer

__all__ = [
    "IMAGE_SHAPES",
    "MAX_AUTO_CLASSES",
    "NAMES",
    "PREPROCESSING_KEY",
    "TASKS",
    "Dataset",
    "Preprocessing",
    "Standardizer",
    "bundled",
    "datasets",
    "load",
    "load_csv",
    "preprocessing",
    "read_features",
    "split",
    "standardizer",
    "tables",
]
