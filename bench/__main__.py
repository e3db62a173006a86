"""`python -m bench`: the speed table (engine, page, browser) and the two ratios, as Markdown."""

from __future__ import annotations

import argparse
import platform

import torch

from bench import quiet_streamlit
from bench.engine import chart_seconds, engine_times, max_chart_rows
from bench.floor import SLIDERS
from bench.pages import browser_times, page_run_warm
from bench.ratios import instrumentation_ratio, optimizer_speedup
from stabviz import experiments
from stabviz.runtime import fix_threads
from stabviz.ui import preload_optimizers


def _row(cells: list) -> str:
    return "| " + " | ".join(f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--pages", default=",".join(experiments.NAMES))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (engine columns only)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium columns")
    parser.add_argument("--no-ratios", action="store_true")
    parser.add_argument("--load", type=int, metavar="SESSIONS", help="instead: the load test with this many sessions")
    parser.add_argument("--distinct", type=int, default=500, help="distinct parameter sets in the load test")
    parser.add_argument("--replicas", type=int, metavar="N",
                        help="load or soak N servers behind nginx (scripts/serve.sh) instead of one bare server")
    parser.add_argument("--soak", type=int, metavar="SETS",
                        help="instead: the soak, this many distinct parameter sets over Streamlit's protocol")
    parser.add_argument("--clients", type=int, default=4, help="the soak's concurrent sessions")
    parser.add_argument("--allocator", default="jemalloc",
                        help="the soak's serve.sh allocator: jemalloc, glibc, or both interleaved: glibc,jemalloc")
    parser.add_argument("--compare", action="store_true",
                        help="instead: pins after a knob change, sweeps per point, chart rows with 4 pins (issue 20)")
    args = parser.parse_args()
    quiet_streamlit()  # the table, and nothing else, on the terminal
    if args.soak:
        from bench.soak import main as soak

        return soak(args.soak, args.replicas or 1, args.allocator, args.clients)
    if args.load:
        from bench.load import main as load

        return load(args.load, args.distinct, args.replicas)
    names = args.pages.split(",")
    fix_threads()  # as the app and the CLI run
    preload_optimizers().join()  # as the server's home page does; else it runs in the background of a page's timings
    if args.compare:
        from bench.compare import main as compare

        return compare(names, browser=not args.no_browser)
    print(f"device: {args.device}; torch {torch.__version__}; {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads\n")
    browser, floor = ({}, None) if args.no_browser else browser_times(names)
    print(_row(["page", "engine cold s: first tab", "engine cold s: all quick tabs", "engine warm s", "training s",
                "charts s: first tab", "page run warm s", "browser link cold s", "browser link warm s",
                "browser switch cold s", "browser switch warm s", "max chart rows"]))
    print(_row(["---"] * 12))
    for name in names:
        eng = engine_times(name, args.device)
        print(_row([name, eng["first_tab"], eng["engine_cold"], eng["engine_warm"], eng["training"] or "-",
                    chart_seconds(name), page_run_warm(name), *browser.get(name, ["-"] * 4), max_chart_rows(name)]),
              flush=True)
    if floor:
        print(f"\nfloor (bench/floor.py: a Streamlit page with {SLIDERS} sliders and two 300-point Altair line charts, "
              f"no stabviz code): link cold {floor[0]:.2f} s, link warm {floor[1]:.2f} s")
    if not args.no_ratios:
        inst = instrumentation_ratio(device=args.device)
        opt = optimizer_speedup()
        print(f"\n(a) deep-MLP instrumentation / bare forward+backward (100 layers, width 512, batch 256): "
              f"{inst['ratio']:.2f}x ({inst['instrumented_s']:.2f} s vs {inst['bare_s']:.2f} s; minor page faults "
              f"per pass {inst['instrumented_faults']:,.0f} vs {inst['bare_faults']:,.0f})")
        print(f"(b) batched optimizer engine vs notebook loop ({opt['runs']}): {opt['speedup']:.1f}x faster "
              f"({opt['batched_s']:.3f} s vs {opt['loop_s']:.2f} s)")


if __name__ == "__main__":
    main()
