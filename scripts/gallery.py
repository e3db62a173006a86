"""Copy the browser tests' page screenshots into docs/img/ for the README, downsized (not drawn by hand).

The screenshots come from tests/e2e/test_browser.py: ``test-artifacts/<page>.png`` (English, seed=3, first tab)
and ``test-artifacts/<page>_zh.png`` (Chinese). Make them, then copy them:

    python -m pytest tests/e2e/test_browser.py -k "test_link_draws_every_chart or test_chinese_link" -q
    python scripts/gallery.py                  # or: --shots DIR, screenshots taken elsewhere

Each page's image becomes ``docs/img/<page>.png``, plus ``docs/img/<ZH_PAGE>_zh.png``: at most ``WIDTH`` pixels
wide, reduced to a 256-colour palette (a screenshot of flat UI colours loses nothing visible), so that the
README's images stay small (``MAX_TOTAL`` bytes in all). A page without a screenshot is reported and left as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stabviz import experiments  # noqa: E402

SHOTS = ROOT / "test-artifacts"
IMG = ROOT / "docs" / "img"
WIDTH = 1000  # px: sharp in the README's main picture, and shown smaller in its gallery
ZH_PAGE = "deep_mlp"  # the one page also shown in Chinese
MAX_TOTAL = 1_500_000  # bytes of all images together


def downsize(src: Path, dst: Path, width: int = WIDTH) -> int:
    """Write ``src`` as a palette PNG at most ``width`` px wide to ``dst``; return its size in bytes."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
        im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        im.save(dst, optimize=True)
    return dst.stat().st_size


def wanted() -> list[str]:
    """The image stems the README shows: every page, and one page in Chinese."""
    return [*experiments.NAMES, f"{ZH_PAGE}_zh"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, default=SHOTS, help=f"folder of the screenshots (default: {SHOTS})")
    shots = parser.parse_args().shots
    IMG.mkdir(parents=True, exist_ok=True)
    missing = []
    for stem in wanted():
        src = shots / f"{stem}.png"
        if not src.is_file():
            missing.append(stem)
            continue
        print(f"docs/img/{stem}.png  {downsize(src, IMG / f'{stem}.png') / 1000:.0f} kB")
    total = sum(p.stat().st_size for p in IMG.glob("*.png"))
    print(f"docs/img: {total / 1e6:.2f} MB in all")
    if missing:
        print(f"no screenshot for {', '.join(missing)} in {shots} (run the browser tests first); left as they are",
              file=sys.stderr)
    if total > MAX_TOTAL:
        print(f"docs/img is over {MAX_TOTAL / 1e6:.1f} MB: lower WIDTH", file=sys.stderr)
        return 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
