"""Links from before a refactor, replayed: each link's blocks (figures, tables, notes) as digests.

``python tests/replay.py`` writes ``tests/data/links.json`` from the current code; the test
``tests/unit/test_replay.py`` recomputes every digest and compares. Floats are rounded to 6
significant digits so the digest names the figure, not the last bit of a float.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stabviz import experiments  # noqa: E402
from stabviz import figures as figs  # noqa: E402
from stabviz.runtime import fix_threads  # noqa: E402

DATA = ROOT / "tests" / "data" / "links.json"
EXTRA = (  # shared links with non-default values, one or more per page
    "/activations?functions=relu,sigmoid&depth=40&threshold=0.1&tab=chain",
    "/activations?functions=sigmoid&input_std=1&tab=saturation&lang=zh",
    "/initialization?depth=30&init=xavier_normal&activation=tanh",
    "/deep_mlp?depth=20&dtype=float16&std=0.2",
    "/deep_mlp?tab=scalar&lang=zh",
    "/recurrent?cells=rnn_tanh,lstm&seq_len=40&tab=through_time",
    "/normalization?depth=12&tab=layers",
    "/optimizers?surface=rosenbrock&optimizers=sgd,adam&steps=60",
    "/optimizers?tab=scaling&lang=zh",
    "/newton?surface=saddle&steps=10",
    "/newton?tab=roots",
    "/loss_pairing?tab=softmax",
)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def _digest(obj: Any) -> str:
    text = json.dumps(_round(obj), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def block_digest(block: figs.Block, lang: str) -> tuple[str, str]:
    """(key, digest) of one block: a figure's themed spec, a table's numbers, a note's text. Keys name the kind,
    since a figure and a table may share a name."""
    if isinstance(block, figs.Figure):
        return f"figure:{block.name}", _digest(block.spec(lang))
    if isinstance(block, figs.Table):
        return f"table:{block.name}", _digest(block.df.to_dict(orient="split"))
    return f"text:{_digest(block)[:6]}", _digest(block)


def replay(link: str) -> dict[str, str]:
    """Every block of the link's open tab (the first tab when it names none), as digests."""
    url = urlparse(link)
    name = url.path.strip("/")
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    lang = query.pop("lang", "en")
    module = experiments.load(name)
    tab = query.pop("tab", module.SECTIONS[0].name)
    params, issues = module.Params.parse(query)
    assert not issues, (link, issues)
    section = next(s for s in module.SECTIONS if s.name == tab)
    result = experiments.run_section(section, params)
    blocks = figs.load(name).VIEWS[tab](result, params, lang)
    return dict(block_digest(b, lang) for b in blocks)


def links() -> list[str]:
    """Every tab of every page at its defaults, in both languages, then the shared links."""
    out = []
    for name in experiments.NAMES:
        for sec in experiments.load(name).SECTIONS:
            out += [f"/{name}?tab={sec.name}", f"/{name}?tab={sec.name}&lang=zh"]
    return out + list(EXTRA)


if __name__ == "__main__":
    fix_threads()
    DATA.write_text(json.dumps({link: replay(link) for link in links()}, indent=1, ensure_ascii=False) + "\n")
    print(DATA)
