"""Response-time histograms that merge exactly: the bins every producer and reader share.

A response time of t milliseconds falls in bin ``floor(4 * log2(t))`` (bin 0 below
2^(1/4) ms, the last bin from about 17 minutes up): quarter-octave bins, each 19% wider
than the one before. Histograms are counts per bin, so the histograms of any number of
minutes, hours, days, processes and replicas add up bin by bin to the histogram of their
union, with nothing lost. A percentile is read from the merged counts: the bin holding
the rank, interpolated geometrically inside it, so it is within one bin's width (under
±10%) of the true value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

BINS_PER_OCTAVE = 4
MAX_BIN = 80  # 2^20 ms, about 17 minutes: any slower answer is counted here


def latency_bin(milliseconds: float) -> int:
    """The bin of a response time in milliseconds."""
    if milliseconds < 2 ** (1 / BINS_PER_OCTAVE):
        return 0
    return min(MAX_BIN, int(BINS_PER_OCTAVE * math.log2(milliseconds)))


def bin_bounds(index: int) -> tuple[float, float]:
    """The milliseconds bin `index` covers, [low, high); bin 0 starts at 0."""
    low = 0.0 if index <= 0 else 2 ** (index / BINS_PER_OCTAVE)
    return low, 2 ** ((index + 1) / BINS_PER_OCTAVE)


def merge(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    """Bin-by-bin sum of histograms."""
    out: dict[int, int] = {}
    for histogram in histograms:
        for index, count in histogram.items():
            out[index] = out.get(index, 0) + count
    return out


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) in milliseconds of a histogram; None when it is empty."""
    total = sum(c for c in histogram.values() if c > 0)
    if total <= 0:
        return None
    rank = max(1.0, q * total)  # the rank-th smallest observation
    seen = 0
    for index in sorted(histogram):
        count = histogram[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            low, high = bin_bounds(index)
            share = (rank - seen) / count  # how far into the bin the rank lies
            if low == 0.0:
                return high * share
            return float(low * (high / low) ** share)
        seen += count
    return bin_bounds(max(histogram))[1]  # pragma: no cover - unreachable with total > 0
