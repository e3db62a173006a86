"""The four floating-point formats as torch describes them, and what casting a float32 tensor into one loses.

Every limit is read from ``torch.finfo``; every share is measured by casting with torch (``Tensor.to``), and
the theory's share is counted separately from the float32 values and the finfo thresholds, so the two can be
compared. A value ends in one of four bands of a format: zero (it rounds to 0), subnormal (kept, with fewer
significant bits), normal, or inf (it rounds past the largest finite value).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import torch

from stabviz.experiments import Result
from stabviz.runtime import DTYPES

if TYPE_CHECKING:
    from stabviz.experiments.mixed_precision import Params

FORMATS = ("float16", "bfloat16")  # the half formats whose losses the page measures
TABLE_FORMATS = ("float64", "float32", "bfloat16", "float16")
BANDS = ("zero", "subnormal", "normal", "inf")  # where a nonzero float32 value lands when cast


def limits(name: str) -> dict[str, float]:
    """A format's limits from torch.finfo: largest finite, smallest normal, smallest subnormal, eps, bits."""
    info = torch.finfo(DTYPES[name])
    mantissa = round(-math.log2(info.eps))  # explicit significand bits (eps = 2^-mantissa)
    return {"bits": info.bits, "exponent_bits": info.bits - 1 - mantissa, "mantissa_bits": mantissa,
            "max": info.max, "smallest_normal": info.smallest_normal,
            "smallest_subnormal": info.smallest_normal * info.eps, "eps": info.eps}


def thresholds(name: str) -> tuple[float, float]:
    """(largest |v| that rounds to 0, smallest |v| that rounds to inf) under round-to-nearest-even: half the
    smallest subnormal (a tie goes to the even 0), and max + ulp(max)/2 (a tie goes to the even inf)."""
    lim = limits(name)
    ulp_max = 2.0 ** math.floor(math.log2(lim["max"])) * lim["eps"]
    return lim["smallest_subnormal"] / 2, lim["max"] + ulp_max / 2


def cast_bands(g: torch.Tensor, name: str) -> dict[str, int]:
    """How many nonzero finite entries of ``g`` land in each band when cast to the format (measured by casting)."""
    v = g.detach().reshape(-1)
    v = v[torch.isfinite(v) & (v != 0)]
    c = v.to(DTYPES[name]).abs()
    normal = torch.finfo(DTYPES[name]).smallest_normal
    counts = torch.stack([(c == 0).sum(), ((c > 0) & (c < normal)).sum(), ((c >= normal) & torch.isfinite(c)).sum(),
                          torch.isinf(c).sum()]).tolist()
    return dict(zip(BANDS, counts, strict=True))


def theory_bands(g: torch.Tensor, name: str) -> dict[str, int]:
    """The same counts predicted from the float32 magnitudes and the format's thresholds, without casting."""
    a = g.detach().reshape(-1).double().abs()
    a = a[torch.isfinite(a) & (a != 0)]
    to_zero, to_inf = thresholds(name)
    normal = limits(name)["smallest_normal"]
    # the largest subnormal is normal·(1 - eps); from the midpoint normal·(1 - eps/2) up a value rounds to normal
    to_normal = normal * (1 - limits(name)["eps"] / 2)
    counts = torch.stack([(a <= to_zero).sum(), ((a > to_zero) & (a < to_normal)).sum(),
                          ((a >= to_normal) & (a < to_inf)).sum(), (a >= to_inf).sum()]).tolist()
    return dict(zip(BANDS, counts, strict=True))


def formats_table() -> pd.DataFrame:
    """One row per format: finfo's limits (with their log2), and the same limits measured with torch.nextafter."""
    rows = []
    for name in TABLE_FORMATS:
        lim, dt = limits(name), DTYPES[name]
        zero, one, inf = (torch.tensor(v, dtype=dt) for v in (0.0, 1.0, math.inf))
        rows.append({
            "format": name, **lim,
            "max_measured": float(torch.nextafter(inf, zero)),
            "smallest_subnormal_measured": float(torch.nextafter(zero, one)),
            "eps_measured": float(torch.nextafter(one, 2 * one) - one),
            "log2_max": math.log2(lim["max"]), "log2_smallest_normal": math.log2(lim["smallest_normal"]),
            "log2_smallest_subnormal": math.log2(lim["smallest_subnormal"]),
        })
    return pd.DataFrame(rows)


def probe_table(x: float) -> pd.DataFrame:
    """x stored in each format (cast by torch): the value kept, its relative error, and the bound eps/2 (the unit
    roundoff of a normal number)."""
    rows = []
    for name in TABLE_FORMATS:
        stored = float(torch.tensor(x, dtype=torch.float64).to(DTYPES[name]))
        rel = abs(stored - x) / abs(x) if math.isfinite(stored) else math.inf
        rows.append({"format": name, "value": x, "stored": stored, "rel_error": rel,
                     "rel_error_bound": limits(name)["eps"] / 2})
    return pd.DataFrame(rows)


def formats(p: Params) -> Result:
    """The formats side by side: finfo's numbers and the measured ones, and the probe value stored in each."""
    table, probe = formats_table(), probe_table(p.probe)
    findings = {}
    for r in table.itertuples():
        findings |= {f"format_max_measured_{r.format}": r.max_measured, f"format_max_finfo_{r.format}": r.max,
                     f"format_subnormal_measured_{r.format}": r.smallest_subnormal_measured,
                     f"format_subnormal_finfo_{r.format}": r.smallest_subnormal,
                     f"format_eps_measured_{r.format}": r.eps_measured, f"format_eps_finfo_{r.format}": r.eps}
    for r in probe.itertuples():
        findings |= {f"probe_rel_error_{r.format}": r.rel_error, f"probe_bound_{r.format}": r.rel_error_bound}
    return Result({"formats": table, "probe": probe}, findings)
