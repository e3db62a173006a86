"""Figures as files: Vega-Lite spec -> PNG/SVG bytes with vl-convert, self-contained interactive HTML, a page's zip.

CJK glyphs: vl-convert only knows fonts it has been told about, so the system font folders are
registered once; Chinese charts name ``charts.CJK_FONT`` (Debian package fonts-wqy-microhei).
HTML: vega, vega-lite and vega-embed (with vega-tooltip) are inlined from vl-convert's bundle, and every
chart's data is in its spec, so a file opens with tooltips, zoom and legend highlighting (``stabviz.interactive``)
from file:// with the network off.
"""

from __future__ import annotations

import functools
import html
import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd
import vl_convert as vlc

from stabviz.i18n import LANGS, param_label, tr
from stabviz.interactive import interactive
from stabviz.params import to_text

PNG_SCALE = 2  # 2x pixels: crisp on slides
FONT_DIRS = ("/usr/share/fonts/truetype/wqy", "/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
# The menu keeps what works offline (save as PNG/SVG); the editor and the source views would need the network.
EMBED_OPTIONS = {"renderer": "svg", "actions": {"export": True, "source": False, "compiled": False, "editor": False}}
STYLE = """
body { font-family: system-ui, "Segoe UI", Roboto, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
  max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
section.scene { border-top: 1px solid #ccc; margin-top: 2.5rem; padding-top: 0.5rem; }
figure { margin: 1.5rem 0; } figcaption, .caption { color: #444; }
table { border-collapse: collapse; margin: 0.75rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: left; }
.agrees { color: #1a7f37; } .differs { color: #c62828; } .files a, .live a { margin-right: 1rem; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


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


@functools.cache
def js_bundle() -> str:
    """vega, vega-lite and vega-embed as one script (vl-convert's; about 0.9 MB, 5 s the first time per process)."""
    return vlc.javascript_bundle().replace("</script", "<\\/script")


def script_json(value: Any) -> str:
    """A value as a JavaScript literal that is safe inside <script> (no "<" can close the element)."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def word(key: str, lang: str) -> str:
    """A word of the exported pages (``common.export.<key>``), escaped for HTML."""
    return html.escape(tr(f"common.export.{key}", lang))


def markdown_html(text: str) -> str:
    """A caption's Markdown as HTML: **bold** and `code` kept, everything else escaped."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def chart_html(element_id: str, spec: dict) -> str:
    """A chart's place on the page and the script that draws it there (vega-embed, tooltips on), with zoom, pan and
    legend highlighting added (``stabviz.interactive``)."""
    target = script_json(f"#{element_id}")
    return (f'<div class="chart" id="{html.escape(element_id)}"></div>\n'
            f"<script>vegaEmbed({target}, {script_json(interactive(spec))}, {script_json(EMBED_OPTIONS)})"
            f".catch(e => {{ document.querySelector({target}).textContent = String(e); }});</script>\n")


def params_html(page: str | None, values: Mapping[str, Any], lang: str) -> str:
    """The parameters as a small table: label (where the page names it), the name in links and the CLI, value."""
    head = "".join(f"<th>{word(k, lang)}</th>" for k in ("parameter", "name", "value"))
    rows = [f"<tr><td>{html.escape(param_label(page, name, lang) if page else name)}</td>"
            f"<td><code>{html.escape(name)}</code></td><td>{html.escape(to_text(value))}</td></tr>"
            for name, value in values.items()]
    return f"<table class=\"params\"><tr>{head}</tr>{''.join(rows)}</table>\n"


def live_link_html(link: str, lang: str) -> str:
    """The link back to the live page."""
    url = html.escape(link)
    return f'<p class="live"><a href="{url}">{word("open_live", lang)}</a> <code>{url}</code></p>\n'


def html_document(title: str, body: str, lang: str) -> str:
    """A whole HTML page with the chart libraries inlined once: it needs no server and no network."""
    return (f'<!DOCTYPE html>\n<html lang="{HTML_LANG[lang]}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n<script>{js_bundle()}</script>\n"
            f"</head>\n<body>\n{body}</body>\n</html>\n")


def chart_title(spec: dict) -> str:
    """The text of a spec's title ("" if it has none)."""
    title = spec.get("title", "")
    text = title.get("text", "") if isinstance(title, dict) else title
    return " ".join(text) if isinstance(text, list) else str(text)


def figure_html(
    spec: dict, *, caption: str = "", page: str | None = None, params: Mapping[str, Any] | None = None,
    link: str = "", lang: str = "en",
) -> str:
    """One figure as a self-contained interactive page: the chart, its caption, its parameters, the live link."""
    heading = tr(f"{page}.title", lang) if page else "stabviz"
    title = " — ".join(t for t in (chart_title(spec), heading) if t)
    body = [f"<main>\n<h1>{html.escape(heading)}</h1>\n", chart_html("chart", spec)]
    if caption:
        body.append(f'<p class="caption">{markdown_html(caption)}</p>\n')
    if params:
        body.append(f"<h2>{word('parameters', lang)}</h2>\n{params_html(page, params, lang)}")
    if link:
        body.append(live_link_html(link, lang))
    return html_document(title, "".join(body) + "</main>\n", lang)


def link_lang(link: str) -> str:
    """The language a link names with lang= (English if none or unknown)."""
    lang = parse_qs(urlparse(link).query).get("lang", ["en"])[0]
    return lang if lang in LANGS else "en"


def page_zip(
    charts: dict[str, dict], tables: dict[str, pd.DataFrame], params: dict, link: str,
    captions: Mapping[str, str] | None = None,
) -> bytes:
    """A zip with every figure as PNG, SVG and self-contained HTML (caption, parameters, link; in the link's
    language), the tables as CSV, params.json and the shareable link."""
    lang = link_lang(link)
    page = params.get("experiment")
    values = {k: v for k, v in params.items() if k != "experiment"}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, chart in charts.items():
            zf.writestr(f"{name}.png", to_png(chart))
            zf.writestr(f"{name}.svg", to_svg(chart))
            caption = (captions or {}).get(name, "")
            zf.writestr(f"{name}.html", figure_html(chart, caption=caption, page=page, params=values, link=link,
                                                    lang=lang))
        for name, df in tables.items():
            zf.writestr(f"{name}.csv", df.to_csv(index=False))
        zf.writestr("params.json", json.dumps(params, indent=2, ensure_ascii=False))
        zf.writestr("link.txt", link + "\n")
    return buf.getvalue()
