"""Numbers and examples as the explanations of test cases show them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: How many example values a test case lists.
MAX_EXAMPLES = 5


def fmt_count(k: float, n: float) -> str:
    """``"1,234 of 10,000 rows (12.34%)"``."""
    share = k / n if n else 0.0
    return f"{int(k):,} of {int(n):,} rows ({share:.2%})"


def fmt(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, or "undefined"."""
    return "undefined" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def top_examples(
    values: Sequence[Any], counts: np.ndarray, limit: int = MAX_EXAMPLES
) -> tuple[list[str], list[int]]:
    """The ``limit`` most frequent values with their counts, most frequent first."""
    order = np.argsort(-np.asarray(counts), kind="stable")[:limit]
    return [str(values[i]) for i in order], [int(counts[i]) for i in order]
