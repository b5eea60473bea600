"""Data sets of the course, all offline.

The real data set is scikit-learn's bundled handwritten digits (1,797 images of 8x8
pixels, 10 classes), which ships inside the scikit-learn package: nothing is downloaded.
The synthetic 1-D grid serves the shattered-gradients experiment (Balduzzi et al. 2017).
"""

from __future__ import annotations

import functools
import importlib.util
import pathlib
from dataclasses import dataclass

import numpy as np
import torch

from .seeding import seeded_generator

NUM_CLASSES = 10
IMAGE_SIZE = 8


@dataclass(frozen=True)
class Split:
    """A train/test split held as tensors (the data fit in memory: no DataLoader)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def __repr__(self) -> str:
        return (
            f"Split(train: x {tuple(self.x_train.shape)}, y {tuple(self.y_train.shape)}; "
            f"test: x {tuple(self.x_test.shape)}, y {tuple(self.y_test.shape)})"
        )


@functools.lru_cache(maxsize=1)
def _digits_file() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797 x 64) and labels of scikit-learn's digits, read from the file it ships.

    The same numbers as ``sklearn.datasets.load_digits()``, without importing scikit-learn
    (which costs a second or two in every lesson).
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scikit-learn is not installed: it ships the digits (pip install scikit-learn)")
    path = pathlib.Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    values = np.loadtxt(path, delimiter=",")
    return values[:, :-1], values[:, -1].astype(np.int64)


def load_digits(shape: str = "flat", n_train: int = 1200, seed: int = 0, dtype: torch.dtype = torch.float32) -> Split:
    """scikit-learn's digits as standardised tensors with a deterministic split.

    Args:
        shape: ``"flat"`` for vectors of 64 pixels (MLPs) or ``"image"`` for 1x8x8
            images (CNNs).
        n_train: number of training images; the remaining ones are the test set.
        seed: seed of the split's permutation (independent of the global seed).
        dtype: floating-point type of the images.

    Pixels are standardised with the training set's per-pixel mean and standard
    deviation (pixels that are constant in the training set are only centred).
    """
    if shape not in ("flat", "image"):
        raise ValueError(f"shape must be 'flat' or 'image', got {shape!r}")
    pixels, labels = _digits_file()
    x = torch.tensor(pixels, dtype=dtype)
    y = torch.tensor(labels, dtype=torch.long)
    if isinstance(n_train, bool) or not isinstance(n_train, int) or not 1 < n_train < len(x):
        raise ValueError(f"n_train must be an int between 2 and {len(x) - 1}, got {n_train!r}")
    order = torch.randperm(len(x), generator=seeded_generator(seed))
    x, y = x[order], y[order]
    mean = x[:n_train].mean(0)
    std = x[:n_train].std(0)
    std[std == 0] = 1.0
    x = (x - mean) / std
    if shape == "image":
        x = x.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def line_grid(n_points: int = 256, low: float = -2.0, high: float = 2.0) -> torch.Tensor:
    """Evenly spaced 1-D inputs of shape ``(n_points, 1)`` for the shattered-gradients study."""
    if not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be an int >= 2, got {n_points!r}")
    if not low < high:
        raise ValueError(f"low must be below high, got low={low}, high={high}")
    return torch.from_numpy(np.linspace(low, high, n_points)).float().unsqueeze(1)
