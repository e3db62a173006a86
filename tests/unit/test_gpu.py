"""The CUDA path: every engine runs on the GPU and gives tables of the same shape as on the CPU.

Skipped without CUDA (CI never has one); run on a GPU machine with `python -m pytest -m gpu`.
"""

import dataclasses

import pytest
import torch

from stabviz import experiments

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.mark.parametrize("name", experiments.NAMES)
def test_engine_runs_on_cuda_like_on_cpu(name):
    module = experiments.load(name)
    if "device" not in module.Params.specs():
        pytest.skip(f"{name} has no device parameter")
    for sec in module.SECTIONS:
        if sec.long:
            continue
        cpu = experiments.run_section(sec, dataclasses.replace(module.Params(), device="cpu"))
        gpu = experiments.run_section(sec, dataclasses.replace(module.Params(), device="cuda"))
        assert cpu.tables.keys() == gpu.tables.keys()
        for key, table in cpu.tables.items():
            assert list(table.columns) == list(gpu.tables[key].columns) and len(table) == len(gpu.tables[key])
