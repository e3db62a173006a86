"""Static figures: Vega-Lite spec -> PNG/SVG bytes with vl-convert, and a zip of a page's figures.

CJK glyphs: vl-convert only knows fonts it has been told about, so the system font folders are
registered once; Chinese charts name ``charts.CJK_FONT`` (Debian package fonts-wqy-microhei).
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import vl_convert as vlc

PNG_SCALE = 2  # 2x pixels: crisp on slides
FONT_DIRS = ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype")


@functools.cache
def register_fonts() -> None:
    """Tell vl-convert about the installed font folders (once per process)."""
    for folder in FONT_DIRS:
        if Path(folder).is_dir():
            vlc.register_font_directory(folder)


def to_png(spec: dict, scale: float = PNG_SCALE) -> bytes:
    """A Vega-Lite spec (``Figure.spec``) as PNG bytes (``scale`` x its CSS size)."""
    register_fonts()
    return vlc.vegalite_to_png(spec, scale=scale)


def to_svg(spec: dict) -> bytes:
    """A Vega-Lite spec as SVG bytes (text kept as text, the font named)."""
    register_fonts()
    return vlc.vegalite_to_svg(spec).encode()


def page_zip(
    charts: dict[str, dict], tables: dict[str, pd.DataFrame], params: dict, link: str
) -> bytes:
    """A zip with every figure as PNG and SVG, the tables as CSV, params.json and the shareable link."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, chart in charts.items():
            zf.writestr(f"{name}.png", to_png(chart))
            zf.writestr(f"{name}.svg", to_svg(chart))
        for name, df in tables.items():
            zf.writestr(f"{name}.csv", df.to_csv(index=False))
        zf.writestr("params.json", json.dumps(params, indent=2, ensure_ascii=False))
        zf.writestr("link.txt", link + "\n")
    return buf.getvalue()
