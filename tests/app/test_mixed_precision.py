"""The mixed-precision page: a loss-scaling link draws the exact shift and the best S; a training link in Chinese
draws the GradScaler's skipped steps, and a format the device cannot run is a message, not a traceback."""

from pagetest import CJK, chart_index, chart_rows, key, open_page, problems

from stabviz.experiments import mixed_precision_train as mpt


def test_a_scaling_link_restores_its_knobs_and_draws_the_chosen_and_the_best_scale():
    at = open_page("mixed_precision", {"tab": "scaling", "net": "rnn", "scale_exp": "30", "seq_len": "10",
                                       "width": "32"})
    assert not problems(at) and not at.warning
    assert at.session_state[key("mixed_precision", "scale_exp")] == 30
    assert at.session_state[key("mixed_precision", "net")] == "rnn"
    labels = {r.get("label") for r in chart_rows(at, chart_index(at, "as the loss scale S grows"))}
    assert "S = 2^30 (chosen)" in labels and any(str(x).startswith("theory: best S = 2^") for x in labels)
    assert any("moved by **30** binades" in m.value for m in at.markdown)


def test_a_chinese_training_link_draws_skipped_steps_and_names_a_format_torch_cannot_run(monkeypatch):
    def step(model, opt, scaler, form, *args):
        if form == "bfloat16":
            raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'BFloat16'")
        return real(model, opt, scaler, form, *args)

    real = mpt._step
    monkeypatch.setattr(mpt, "_step", step)
    at = open_page("mixed_precision", {"tab": "training", "lang": "zh", "steps": "20", "init_scale_exp": "30",
                                       "growth_interval": "4", "seed": "7"})
    assert not problems(at) and not at.warning
    assert CJK.search(at.subheader[-1].value)
    notes = [m.value for m in at.markdown if "BFloat16" in m.value]
    assert notes and "bfloat16（autocast）" in notes[0] and "无法在此设备" in notes[0]
    rows = chart_rows(at, chart_index(at, "GradScaler"))
    assert any(r.get("what") == "跳过该步：梯度含 inf 或 nan" and r.get("step") == 1 for r in rows)
