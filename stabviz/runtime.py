"""Devices, dtypes, seeding and work budgets shared by every experiment."""

from __future__ import annotations

import torch

from stabviz.params import param

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
DTYPE_NAMES = tuple(DTYPES)

# torch's intra-op threads. One: a parallel reduction adds in a thread-count-dependent order, so only a
# fixed count gives the same numbers (same link, same figure) on every machine; and concurrent sessions
# of the app then share the cores instead of oversubscribing them.
TORCH_THREADS = 1

# Largest single piece of work one request may ask for, in multiply-adds (about 1-3 s on a 2-core CPU).
WORK_BUDGET = 3e9


def fix_threads() -> None:
    """Pin torch to :data:`TORCH_THREADS` intra-op threads (called by the app, the CLI and the tests)."""
    if torch.get_num_threads() != TORCH_THREADS:
        torch.set_num_threads(TORCH_THREADS)


def available_devices() -> tuple[str, ...]:
    """Devices that exist on this machine, CPU first."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    return tuple(devices)


DEVICE_CHOICES = ("auto", *available_devices())


def device(name: str) -> torch.device:
    """Resolve a device choice; ``auto`` picks CUDA when present."""
    if name == "auto":
        name = available_devices()[-1]
    return torch.device(name)


def dtype(name: str) -> torch.dtype:
    """The torch dtype for a dtype name."""
    return DTYPES[name]


def generator(seed: int, on: torch.device | str = "cpu") -> torch.Generator:
    """A private, seeded generator: results never depend on the global RNG or other sessions."""
    g = torch.Generator(device=on)
    g.manual_seed(seed)
    return g


class BudgetError(ValueError):
    """A request whose estimated work exceeds :data:`WORK_BUDGET`; refused before it runs."""

    def __init__(self, work: float, budget: float = WORK_BUDGET) -> None:
        self.work, self.budget = work, budget
        super().__init__(f"This request needs about {work:.2g} multiply-adds, {work / budget:.1f}x the budget of "
                         f"{budget:.2g}: lower the depth, width, batch or steps.")

    def message_fields(self) -> dict[str, str]:
        """The numbers the refusal names (``common.budget.refused`` in the locales)."""
        return {"work": f"{self.work:.2g}", "budget": f"{self.budget:.2g}", "ratio": f"{self.work / self.budget:.1f}"}


def check_budget(work: float, budget: float = WORK_BUDGET) -> None:
    """Refuse work past the budget before any of it starts."""
    if work > budget:
        raise BudgetError(work, budget)


# The three global fields: every experiment that uses them declares them with these helpers,
# so they carry the same name, bounds and help on every page, in the URL and in the CLI.
GLOBAL_FIELDS = ("seed", "device", "dtype")


def seed_param(default: int = 0) -> int:
    """The random seed: same seed, same numbers, same figure."""
    return param(default, lo=0, hi=2**31 - 1)


def device_param() -> str:
    """Where torch runs; only devices present on this machine are offered."""
    return param("auto", choices=DEVICE_CHOICES, vocab="device")


def dtype_param(default: str = "float32") -> str:
    """Floating-point format of the tensors, the heart of overflow and underflow."""
    return param(default, choices=DTYPE_NAMES)


def dtype_range(name: str) -> tuple[float, float, float]:
    """(smallest subnormal, smallest normal, largest finite) of a dtype: where 0 and inf begin."""
    info = torch.finfo(DTYPES[name])
    return info.smallest_normal * info.eps, info.smallest_normal, info.max
