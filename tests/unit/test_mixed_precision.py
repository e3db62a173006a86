"""The mixed-precision engine against the numbers a lecturer would cite: IEEE 754's half, bfloat16, single and double
formats as torch.finfo gives them, round-to-nearest-even at the edges of float16's range, the exact shift of loss
scaling by log2 S, the best S below 65504, and half an ulp as the smallest update that moves a weight.
"""

from __future__ import annotations

import math

import pytest
import torch

from stabviz.experiments import mixed_precision as mp
from stabviz.experiments import run_section
from stabviz.experiments.mixed_precision_formats import cast_bands, formats_table, limits, theory_bands
from stabviz.experiments.mixed_precision_master import smallest_update, ulp, update_table

SECTIONS = {s.name: s for s in mp.SECTIONS}
SMALL = {"depth": 6, "width": 32, "batch": 16}  # a net small enough for many runs

# (bits, exponent bits, fraction bits, largest, smallest normal, smallest subnormal, eps): IEEE 754 and bfloat16
KNOWN = {
    "float16": (16, 5, 10, 65504.0, 2.0**-14, 2.0**-24, 2.0**-10),
    "bfloat16": (16, 8, 7, (2 - 2.0**-7) * 2.0**127, 2.0**-126, 2.0**-133, 2.0**-7),
    "float32": (32, 8, 23, (2 - 2.0**-23) * 2.0**127, 2.0**-126, 2.0**-149, 2.0**-23),
    "float64": (64, 11, 52, (2 - 2.0**-52) * 2.0**1023, 2.0**-1022, 2.0**-1074, 2.0**-52),
}


def test_the_formats_table_is_torch_finfo_and_the_measured_limits_agree_with_ieee():
    table = formats_table().set_index("format")
    columns = ["bits", "exponent_bits", "mantissa_bits", "max", "smallest_normal", "smallest_subnormal", "eps"]
    for name, known in KNOWN.items():
        row = table.loc[name]
        assert tuple(row[columns]) == known, name
        assert (row["max_measured"], row["smallest_subnormal_measured"], row["eps_measured"]) == known[3:4] + known[5:]
        info = torch.finfo(getattr(torch, name))
        assert row["max"] == info.max and row["smallest_normal"] == info.smallest_normal and row["eps"] == info.eps


def _edges(name: str) -> torch.Tensor:
    """float32 values at every rounding boundary of a half format, and a log-uniform spread across its range."""
    lim = limits(name)
    sub, normal, top = lim["smallest_subnormal"], lim["smallest_normal"], lim["max"]
    ulp_top = 2.0 ** math.floor(math.log2(top)) * lim["eps"]
    edges = [sub / 2, sub / 2 * (1 + 2**-20), sub * 0.9, normal * (1 - lim["eps"] / 2), normal * (1 - lim["eps"]),
             normal * (1 - lim["eps"] * 0.4), top, top + ulp_top / 2 * (1 - 2**-10), top + ulp_top / 2, top * 1.5]
    edges = torch.tensor([e for e in edges if e < 3e38], dtype=torch.float64)
    spread = torch.exp2(torch.empty(4000, dtype=torch.float64).uniform_(-150, 130,
                                                                        generator=torch.Generator().manual_seed(0)))
    values = torch.cat([edges, spread]).float()
    return torch.cat([values, -values])


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_casting_lands_where_the_finfo_thresholds_say_at_every_rounding_edge(name):
    values = _edges(name)
    assert cast_bands(values, name) == theory_bands(values, name)
    if name == "float16":  # 2^-25 is a tie and goes to the even 0; 65519 rounds to 65504, 65520 to inf
        assert cast_bands(torch.tensor([2.0**-25]), name)["zero"] == 1
        assert cast_bands(torch.tensor([65519.0]), name)["normal"] == 1
        assert cast_bands(torch.tensor([65520.0]), name)["inf"] == 1


@pytest.fixture(scope="module")
def gradients():
    return run_section(SECTIONS["gradients"], mp.Params())


def test_a_deep_sigmoid_mlps_gradients_lose_entries_in_float16_but_not_in_bfloat16(gradients):
    f = gradients.findings
    assert f["lost_share_measured_float16"] == f["lost_share_theory_float16"] > 0.05
    assert f["subnormal_share_measured_float16"] == f["subnormal_share_theory_float16"] > 0.5
    assert f["lost_share_measured_bfloat16"] == 0 and f["subnormal_share_measured_bfloat16"] == 0
    assert f["lost_share_first_tensor_float16"] > f["lost_share_measured_float16"]  # vanishing: input side worst
    hist = gradients.tables["histogram"]
    assert hist.groupby("tensor")["share"].sum().round(12).eq(1).all()


@pytest.mark.parametrize(("net", "k"), [("mlp", 16), ("mlp", -8), ("rnn", 30)])
def test_loss_scaling_shifts_every_gradient_by_exactly_log2_s(net, k):
    f = run_section(SECTIONS["scaling"], mp.Params(net=net, scale_exp=k, seq_len=5, **SMALL)).findings
    assert f["shift_log2_measured"] == f["shift_log2_theory"] == k
    assert f["shift_inexact_share"] == 0
    best = f["best_scale_log2_theory"]
    assert f["best_scale_log2_measured"] == best  # the largest S that overflows nothing, by casting
    assert 65504 / 2 < f["best_scale_largest"] == f["grad_largest"] * 2.0**best <= 65504
    assert (f["scaled_inf_share_float16"] > 0) == (k > best)


def test_scaling_up_to_the_best_s_only_recovers_entries_and_past_it_entries_overflow():
    p = mp.Params(**SMALL)
    best = int(run_section(SECTIONS["scaling"], p).findings["best_scale_log2_theory"])
    sweep = run_section(SECTIONS["scaling"], p).tables["scale_sweep"]
    fp16 = sweep[sweep["format"] == "float16"].set_index("log2_scale")
    assert fp16["zero"].loc[:best].is_monotonic_decreasing and (fp16["inf"].loc[:best] == 0).all()
    assert fp16["inf"].loc[best + 1] > 0 and fp16["inf"].loc[best:].is_monotonic_increasing


@pytest.mark.parametrize("w", [1.0, 3.7, 1000.0])
def test_the_smallest_update_that_moves_w_is_just_over_half_an_ulp(w):
    _, f = update_table(w)
    for name in ("float32", "bfloat16", "float16"):
        eps = limits(name)["eps"]
        half_ulp = 2.0 ** math.floor(math.log2(w)) * eps / 2
        assert ulp(w, name) == 2 * half_ulp == 2 * f[f"update_smallest_theory_{name}"]
        # u is rounded to the format too: just under ulp/2 it may round up to the tie, which an odd w resolves upwards
        assert half_ulp * (1 - eps / 2) <= smallest_update(w, name) <= half_ulp * (1 + eps), name


def test_bfloat16_weights_stall_where_float32_master_copies_keep_moving():
    f = run_section(SECTIONS["master"], mp.Params()).findings
    assert f["master_stalled_share_bfloat16"] > 0.5 and f["master_stalled_share_float32"] == 0
    assert f["master_stalled_share_bfloat16_master"] == f["master_stalled_share_float16_master"] == 0
    assert f["master_final_loss_bfloat16"] > 3 * f["master_final_loss_bfloat16_master"]
    assert f["master_final_loss_float16_master"] < 1.1 * f["master_final_loss_float32"]


def test_the_probe_is_stored_within_half_an_eps_and_overflows_float16_past_65504():
    f = run_section(SECTIONS["formats"], mp.Params(probe=0.1)).findings
    for name in KNOWN:
        assert f[f"probe_rel_error_{name}"] <= f[f"probe_bound_{name}"] == KNOWN[name][6] / 2
        assert (f[f"probe_rel_error_{name}"] > 0) == (name != "float64")  # 0.1 is not a binary fraction
    big = run_section(SECTIONS["formats"], mp.Params(probe=1e5)).tables["probe"].set_index("format")
    assert big.loc["float16", "stored"] == math.inf and big.loc["bfloat16", "stored"] == 99840.0


@pytest.mark.parametrize("knob", ["depth", "width", "batch", "seq_len", "train_depth", "train_width", "train_batch",
                                  "steps", "master_width", "master_steps"])
def test_every_size_knob_raises_the_work_estimate_of_the_tabs_that_read_it(knob):
    spec = mp.Params.specs()[knob]
    base = mp.Params(net="rnn" if knob == "seq_len" else "mlp")
    big = mp.Params(net=base.net, **{knob: spec.kind(spec.hi)})
    readers = [s for s in mp.SECTIONS if knob in s.uses]
    assert readers and all(s.work(big) > s.work(base) for s in readers)


@pytest.mark.parametrize("name", ["gradients", "scaling", "master", "formats"])
def test_every_declared_finding_is_a_number_beside_its_theory_and_has_its_words(name):
    from stabviz.i18n import has
    sec = SECTIONS[name]
    found = run_section(sec, mp.Params(**SMALL, master_steps=10)).findings
    for finding in sec.findings:
        values = finding.series(found)
        assert values and all(isinstance(v, (int, float)) for v in values.values()), finding.key
        if finding.theory:
            assert all(isinstance(finding.theory_of(found, s), float) for s in values), finding.key
        assert has(f"mixed_precision.finding.{finding.name}.label"), finding.name
