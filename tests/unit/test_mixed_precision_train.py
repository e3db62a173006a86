"""Training under torch.autocast with and without torch.amp.GradScaler: float16's backward flushes small gradients
to 0 and loss scaling brings them back; the GradScaler skips a step whose gradients overflowed and halves its scale,
and doubles it after growth_interval good steps; a form torch cannot run is reported, not raised."""

from __future__ import annotations

import math

import pytest
import torch

from stabviz.experiments import mixed_precision as mp
from stabviz.experiments import mixed_precision_train as mpt
from stabviz.experiments import run_section
from stabviz.figures.mixed_precision import VIEWS

TRAIN = next(s for s in mp.SECTIONS if s.name == "training")
QUICK = {"train_depth": 10, "train_width": 16, "train_batch": 16, "steps": 20}


@pytest.fixture(scope="module")
def trained():
    return run_section(TRAIN, mp.Params(**QUICK, init_scale_exp=30, growth_interval=4))


def test_float16_without_scaling_flushes_gradients_to_zero_and_the_scaler_brings_them_back(trained):
    f = trained.findings
    assert f["train_zero_grad_share_float32"] == 0
    assert f["train_zero_grad_share_float16"] > 0.1 > 10 * f["train_zero_grad_share_float16_scaled"]
    assert all(math.isfinite(f[f"train_final_loss_{form}"]) for form in mpt.FORMS)


def test_the_grad_scaler_skips_exactly_the_overflowing_steps_halving_and_doubling_its_scale(trained):
    runs = trained.tables["train_runs"]
    scaled = runs[runs["form"] == "float16_scaled"].reset_index(drop=True)
    assert scaled["log2_scale"].iloc[0] == 30 and scaled["skipped"].iloc[0]  # 2^30·g overflows float16 at once
    change = scaled["log2_scale"].diff().iloc[1:].to_numpy()
    skipped = scaled["skipped"].iloc[:-1].to_numpy()
    assert (change[skipped] == -1).all()  # halved after each skipped step
    good = 0
    for i, s in enumerate(skipped):  # doubled after every 4 good steps in a row, unchanged otherwise
        good = 0 if s else good + 1
        if not s:
            assert change[i] == (1 if good % 4 == 0 else 0), i
    assert trained.findings["train_skipped_steps"] == scaled["skipped"].sum() >= 1


def test_a_form_torch_cannot_run_is_reported_with_its_message_and_the_others_still_run(monkeypatch):
    def step(model, opt, scaler, form, *args):
        if form == "bfloat16":
            raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'BFloat16'\nmore")
        return real(model, opt, scaler, form, *args)

    real = mpt._step
    monkeypatch.setattr(mpt, "_step", step)
    p = mp.Params(**{**QUICK, "steps": 10})
    result = run_section(TRAIN, p)
    missing = result.tables["train_unsupported"]
    assert list(missing["form"]) == ["bfloat16"] and missing["error"].iloc[0].endswith("'BFloat16'")
    assert math.isnan(result.findings["train_final_loss_bfloat16"])
    assert math.isfinite(result.findings["train_final_loss_float16_scaled"])
    blocks = VIEWS["training"](result, p, "en")
    assert "bfloat16 (autocast)" in blocks[0] and "not implemented for 'BFloat16'" in blocks[0]


def test_every_declared_finding_of_the_training_tab_is_a_number_with_its_words(trained):
    from stabviz.i18n import has
    for finding in TRAIN.findings:
        values = finding.series(trained.findings)
        assert values and all(isinstance(v, (int, float)) for v in values.values()), finding.key
        assert has(f"mixed_precision.finding.{finding.name}.label"), finding.name


def test_a_device_that_cannot_autocast_to_a_format_is_named_rather_than_run_silently_in_float32(monkeypatch):
    monkeypatch.setattr(torch, "is_autocast_enabled", lambda *_: False)  # what torch reports after "disabling"
    train = run_section(TRAIN, mp.Params(**{**QUICK, "steps": 10}))
    assert set(train.tables["train_unsupported"]["form"]) == {"float16", "float16_scaled", "bfloat16"}
    assert set(train.tables["train_runs"]["form"]) == {"float32"}
    p = mp.Params(master_steps=10)
    master = run_section(next(s for s in mp.SECTIONS if s.name == "master"), p)
    missing = master.tables["master_unsupported"]
    assert list(missing["form"]) == ["float16_master", "bfloat16_master"]
    assert missing["error"].iloc[1] == "torch.autocast to bfloat16 is not available on cpu"
    assert math.isnan(master.findings["master_final_loss_bfloat16_master"])
    notes = [b for b in VIEWS["master"](master, p, "en") if isinstance(b, str) and b.startswith("⚠")]
    assert len(notes) == 2 and "bfloat16 compute, float32 master weights" in notes[1]
