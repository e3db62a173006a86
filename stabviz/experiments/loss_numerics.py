"""Numerics of the cross-entropy pairings: naive log(sigmoid) / log(softmax) against the stable forms.

For target 1 the binary loss is -log sigmoid(z) = softplus(-z). Written naively, sigmoid(z)
rounds to 0 for very negative z and the log gives inf (its gradient nan); torch's BCELoss on a
sigmoid output clamps log at -100, so it stays finite but wrong (100 instead of |z|) with a
zero gradient. BCEWithLogits works on z directly and stays exact. The softmax family uses the
logits (z, 0, -z) with the last class as target: exp overflows in the hand-written softmax,
log(softmax) underflows to log 0; log_softmax (inside cross_entropy) and logsumexp do not.
Every value is kept, inf and nan included, with its state and the float64 exact value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from stabviz.experiments import Result
from stabviz.runtime import DTYPES, dtype_range
from stabviz.states import state_of

NUMERIC_DTYPES = ("float16", "bfloat16", "float32", "float64")
SMALLEST_Z = 0.1  # smallest |z| of the log-spaced grid
BCE_LOG_CLAMP = 100.0  # torch's BCELoss clamps log(y_hat) at -100, so its loss never exceeds 100

Form = Callable[[torch.Tensor], torch.Tensor]  # z -> loss per element, in z's dtype


def _three(z: torch.Tensor) -> torch.Tensor:
    """Logits (z, 0, -z) of the softmax family; the target is the last class."""
    return torch.stack([z, torch.zeros_like(z), -z], dim=-1)


def _target(z: torch.Tensor) -> torch.Tensor:
    return torch.full(z.shape, 2, dtype=torch.long, device=z.device)


def _naive_softmax(z: torch.Tensor) -> torch.Tensor:
    """-log(exp(v_2) / sum exp(v)): the textbook formula, no max subtracted."""
    e = torch.exp(_three(z))
    return -torch.log(e[..., 2] / e.sum(-1))


BINARY_FORMS: dict[str, Form] = {
    "naive": lambda z: -torch.log(torch.sigmoid(z)),
    "bce_loss": lambda z: F.binary_cross_entropy(torch.sigmoid(z), torch.ones_like(z), reduction="none"),
    "with_logits": lambda z: F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none"),
}
SOFTMAX_FORMS: dict[str, Form] = {
    "naive": _naive_softmax,
    "log_of_softmax": lambda z: -torch.log(torch.softmax(_three(z), dim=-1))[..., 2],
    "cross_entropy": lambda z: F.cross_entropy(_three(z).reshape(-1, 3), _target(z).reshape(-1), reduction="none"),
    "logsumexp": lambda z: torch.logsumexp(_three(z), dim=-1) - _three(z)[..., 2],
}
FAMILIES = {"binary": BINARY_FORMS, "softmax": SOFTMAX_FORMS}


def z_grid(z_max: float, points: int) -> np.ndarray:
    """0 and ±|z| log-spaced from SMALLEST_Z to z_max, ascending."""
    mags = np.geomspace(SMALLEST_Z, z_max, points)
    return np.concatenate([-mags[::-1], [0.0], mags])


def loss_and_grad(form: Form, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The form's loss and its dL/dz by autograd, in z's dtype (elements are independent)."""
    z = z.detach().clone().requires_grad_(True)
    loss = form(z)
    (grad,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach(), grad


def exact(family: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference loss and dL/dz in float64 by stable closed forms (theory, not a form under test).

    Softmax loss: -log p_2 = log(e^{2z} + e^z + 1), written as a logsumexp so nothing cancels.
    """
    z = z.double()
    if family == "binary":
        return torch.logaddexp(torch.zeros_like(z), -z), -torch.sigmoid(-z)
    p = torch.softmax(_three(z), dim=-1)
    return torch.logsumexp(torch.stack([2 * z, z, torch.zeros_like(z)], dim=-1), dim=-1), 2 * p[..., 0] + p[..., 1]


def error(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|value - exact| / max(|exact|, 1): relative for large values, absolute for small; inf and nan pass through."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(values - reference) / np.maximum(np.abs(reference), 1.0)


def _family_rows(family: str, dtype_name: str, zs: np.ndarray, dev: torch.device) -> list[pd.DataFrame]:
    """Loss and gradient of every form of one family in one dtype, beside the exact values."""
    z = torch.tensor(zs, dtype=DTYPES[dtype_name], device=dev)
    refs = [r.cpu().numpy() for r in exact(family, z)]
    rows = []
    for form, fn in FAMILIES[family].items():
        for quantity, value, ref in zip(("loss", "grad"), loss_and_grad(fn, z), refs, strict=True):
            v = value.double().cpu().numpy()
            rows.append(pd.DataFrame({"family": family, "form": form, "dtype": dtype_name, "quantity": quantity,
                                      "z": zs, "value": v, "exact": ref, "error": error(v, ref),
                                      "state": state_of(v, zero=False)}))
    return rows


def _first_bad(z: np.ndarray, bad: np.ndarray) -> float:
    """The non-finite z nearest to 0 (nan where every value is finite)."""
    hits = np.abs(z[bad])
    return float(z[bad][np.argmin(hits)]) if hits.size else math.nan


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per family, form, dtype and quantity: where it first breaks on each side, counts, worst error while finite."""
    rows = []
    for key, g in table.groupby(["family", "form", "dtype", "quantity"], sort=False):
        z, bad = g["z"].to_numpy(), (g["state"] != "finite").to_numpy()
        tiny, _, biggest = dtype_range(key[2])
        rows.append({
            **dict(zip(("family", "form", "dtype", "quantity"), key, strict=True)),
            "breaks_neg": _first_bad(z[z < 0], bad[z < 0]), "breaks_pos": _first_bad(z[z > 0], bad[z > 0]),
            "n_inf": int((g["state"] == "inf").sum()), "n_nan": int((g["state"] == "nan").sum()),
            "max_error": float(g.loc[~bad, "error"].max()),
            "ln_tiny": math.log(tiny), "ln_max": math.log(biggest),
        })
    return pd.DataFrame(rows)


def _findings(table: pd.DataFrame, summary: pd.DataFrame) -> dict:
    """Headline numbers: where the naive forms break in float32, and that the stable forms never do (the count of
    their inf/nan values, 0)."""
    def pick(family: str, form: str, side: str) -> float:
        hit = summary.query("family == @family and form == @form and dtype == 'float32' and quantity == 'loss'")
        return float(hit[side].iloc[0]) if len(hit) else math.nan

    stable = table["form"].isin(["with_logits", "cross_entropy", "logsumexp"])
    bce = table.query("form == 'bce_loss' and quantity == 'loss'")["value"]
    return {
        "naive_sigmoid_breaks_float32": pick("binary", "naive", "breaks_neg"),
        "naive_softmax_breaks_float32": pick("softmax", "naive", "breaks_pos"),
        "log_of_softmax_breaks_float32": pick("softmax", "log_of_softmax", "breaks_pos"),
        "stable_forms_all_finite": bool((table.loc[stable, "state"] == "finite").all()),
        "stable_forms_nonfinite": int((table.loc[stable, "state"] != "finite").sum()),
        "bce_loss_max": float(bce.max()),
        "bce_loss_clamp": BCE_LOG_CLAMP,
    }


def numerics_result(dtypes: tuple[str, ...], z_max: float, points: int, dev: torch.device) -> Result:
    """The long table of every form, dtype and z, its per-form summary, and the findings."""
    zs = z_grid(z_max, points)
    frames = [f for dt in dtypes for family in FAMILIES for f in _family_rows(family, dt, zs, dev)]
    table = pd.concat(frames, ignore_index=True)
    summary = summarize(table)
    return Result({"numerics": table, "numerics_summary": summary}, _findings(table, summary))
