"""Newton's method in one dimension: square and cube roots of K, correct digits per step, and failures.

f(r) = r^n - K with f'(r) from autograd. Near the root the error squares each step,
e_{t+1} ~ C e_t^2 with C = f''/(2 f') = (n - 1) / (2 r*), so the number of correct digits
roughly doubles: d_{t+1} ~ 2 d_t - log10((n - 1) / 2) (the theory column). A flat tangent
(f' = 0) or a start in the wrong basin makes it fail; that is reported, not raised.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from stabviz.experiments import Result

ROOTS = ("sqrt", "cbrt")
POWER = {"sqrt": 2, "cbrt": 3}
FAILURES = (("flat_tangent", "sqrt", 0.0), ("flat_tangent", "cbrt", 0.0), ("wrong_basin", "sqrt", -1.0))
FAILURE_CASES = len(FAILURES) + 1  # and a far start, placed by K


def newton_1d(n: int, k: float, r0: float, steps: int, dt: torch.dtype, tol: float = 0.0) -> pd.DataFrame:
    """Iterates r_{t+1} = r_t - f(r_t)/f'(r_t) for f(r) = r^n - K; inf/nan kept as they come.

    For n = 2 this is the notes' r <- (r + K/r)/2, for n = 3 r <- (2r + K/r^2)/3. With ``tol`` > 0 it stops
    at the first iterate with |f(r)| <= tol, as the notes' ``while abs(x**2 - K) > tol`` loop does.
    """
    r, rows = torch.tensor(r0, dtype=dt), []
    for t in range(steps + 1):
        r = r.detach().requires_grad_(True)
        f = r**n - k
        (df,) = torch.autograd.grad(f, r)
        rows.append({"step": t, "r": float(r.detach()), "f": float(f.detach()), "df": float(df)})
        if tol > 0 and abs(rows[-1]["f"]) <= tol:
            break
        with torch.no_grad():
            r = r - f / df
    return pd.DataFrame(rows)


def digits_cap(dt: torch.dtype) -> float:
    """The most correct decimal digits the dtype can hold: -log10(eps/2)."""
    return -math.log10(torch.finfo(dt).eps / 2)


def add_digits(table: pd.DataFrame, n: int, k: float, dt: torch.dtype) -> pd.DataFrame:
    """Error, correct digits, and the digits quadratic convergence predicts from the previous step."""
    true, cap = k ** (1.0 / n), digits_cap(dt)
    table["error"] = (table["r"] - true).abs()
    with np.errstate(divide="ignore"):
        table["digits"] = np.minimum(-np.log10(table["error"] / true), cap)
    table["digits_predicted"] = np.minimum(2 * table["digits"].shift(1) - math.log10((n - 1) / 2), cap)
    table["status"] = np.where(table["df"] == 0, "derivative_zero",
                               np.where(np.isfinite(table["r"]), "ok", "nonfinite"))
    return table


def verdict(table: pd.DataFrame, n: int, k: float, dt: torch.dtype, tol: float = 0.0) -> dict:
    """How the run ended: a code (phrased by the figures as ``newton.verdict.<code>``), the step it concerns, the
    digits reached."""
    true, last, cap = k ** (1.0 / n), table.iloc[-1], digits_cap(dt)
    flat = table.index[table["status"] == "derivative_zero"]
    good = table.index[table["digits"] >= cap - 1]
    if tol > 0 and abs(last["f"]) <= tol:
        code, at = "tolerance", int(last["step"])
    elif len(flat):
        code, at = "derivative_zero", int(flat[0])
    elif not np.isfinite(last["r"]):
        code, at = "nonfinite", int(table.index[~np.isfinite(table["r"])][0])
    elif len(good) and last["digits"] >= cap - 1:
        code, at = "converged", int(good[0])
    else:
        code, at = ("other_root" if abs(last["r"] + true) <= 1e-6 * true else "not_converged"), int(last["step"])
    digits = float(last["digits"]) if np.isfinite(last["digits"]) else 0.0
    return {"verdict": code, "at_step": at, "steps": int(last["step"]), "final_r": float(last["r"]), "digits": digits}


def run_root(name: str, k: float, r0: float, steps: int, dt: torch.dtype,
             tol: float = 0.0) -> tuple[pd.DataFrame, dict]:
    """One root's iterate table and its verdict row."""
    n = POWER[name]
    table = add_digits(newton_1d(n, k, r0, steps, dt, tol), n, k, dt)
    table.insert(0, "root", name)
    return table, {"root": name, "r0": r0, **verdict(table, n, k, dt, tol)}


def roots(names: tuple[str, ...], k: float, r0: float, steps: int, dt: torch.dtype, tol: float = 0.0) -> Result:
    """The iterates of the chosen roots, their verdicts, the steps to a 1e-12 relative error (also as a number,
    inf if not within the steps run: ``steps_to_precision_<root>``), the steps taken, the final residual |r^n - K|
    (what a tolerance stops on) and the true root K^(1/n)."""
    frames, rows, findings = [], [], {}
    for name in names:
        table, row = run_root(name, k, r0, steps, dt, tol)
        frames.append(table)
        rows.append(row)
        true = k ** (1.0 / POWER[name])
        hits = table.loc[table["error"] <= 1e-12 * true, "step"]
        findings |= {f"root_{name}": row["final_r"], f"verdict_{name}": row["verdict"],
                     f"steps_to_1e-12_{name}": int(hits.iloc[0]) if len(hits) else None,
                     f"steps_to_precision_{name}": float(hits.iloc[0]) if len(hits) else math.inf,
                     f"steps_taken_{name}": row["steps"], f"residual_{name}": abs(float(table["f"].iloc[-1])),
                     f"true_root_{name}": true}
    return Result({"roots": pd.concat(frames, ignore_index=True), "root_verdicts": pd.DataFrame(rows)}, findings)


def failures(k: float, steps: int, dt: torch.dtype) -> pd.DataFrame:
    """The classic ways Newton fails on these roots, run for this K: flat tangent, wrong basin, far start."""
    cases = (*FAILURES, ("far_start", "sqrt", 1e4 * math.sqrt(k)))
    return pd.DataFrame([{"case": case, **run_root(name, k, r0, steps, dt)[1]} for case, name, r0 in cases])
