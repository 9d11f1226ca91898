"""Standard errors of metrics that are not plain means (a mean of per-joint means, an IoU over a whole set)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def bootstrap_se(statistic: Callable[[np.ndarray], dict[str, float]], n: int, n_boot: int = 200, seed: int = 0) -> dict[str, float | None]:
    """Per key of `statistic(indices)`: the standard deviation of its value over `n_boot` resamples of the n items.

    The spread of the test set's sampling only (one trained model): what a claim between two
    models trained once can be judged by. A key whose resamples give no finite value has None.
    """
    rng = np.random.default_rng(seed)
    draws = [statistic(rng.integers(0, n, n)) for _ in range(n_boot)] if n > 1 else []
    out: dict[str, float | None] = {}
    for key in draws[0] if draws else {}:
        vals = np.array([d[key] for d in draws], np.float64)
        vals = vals[np.isfinite(vals)]
        out[key] = float(vals.std(ddof=1)) if len(vals) > 1 else None
    return out
