"""Turn bench measurements into medians, ratios against targets, and a Markdown table."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from common import ROOT, median, summarize

# What the issue asks of `sorter sort` on this machine (shown next to the figures, never asserted).
TARGETS = {"vs_predict_loop": 2.3, "vs_get_preds": 1.8, "vs_bound": 0.85}


def bound_summary(bounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeats of the bound and of each CPU-seconds-per-image part."""

    def med(key: str) -> float:
        return round(median([b[key] for b in bounds]), 5)

    forward = {k: round(median([b["forward"][k] for b in bounds]), 5) for k in bounds[0]["forward"]}
    return {
        "images_per_s": summarize([b["images_per_s"] for b in bounds]),
        "decode_cpu_s": med("decode_cpu_s"),
        "forward": forward,
        "copy_cpu_s": med("copy_cpu_s"),
        "copy_wall_s_per_file": med("copy_wall_s_per_file"),
        "copies_per_image": bounds[0]["copies_per_image"],
        "cpu_s_per_image": med("cpu_s_per_image"),
        "cores": bounds[0]["cores"],
    }


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """sorter / each baseline, from medians: the whole process (wall) and its printed rate."""
    loop = result["predict_loop"]["images_per_s"]["median"]
    get_preds = result["get_preds"]["images_per_s"]["median"]
    bound = result["bound"]["images_per_s"]["median"]
    out: dict[str, Any] = {}
    printed = result["sorter_sort"]["printed_images_per_s"]
    variants = {"wall": result["sorter_sort"]["images_per_s"]["median"]}
    if printed:
        variants["printed"] = printed["median"]
    for name, block in result.get("variants", {}).items():
        variants[name] = block["images_per_s"]["median"]
    for label, rate in variants.items():
        out[label] = {
            "vs_predict_loop": round(rate / loop, 3),
            "vs_get_preds": round(rate / get_preds, 3),
            "vs_bound": round(rate / bound, 3),
        }
        out[label]["meets_targets"] = {k: out[label][k] >= v for k, v in TARGETS.items()}
    return out


def _rate(block: dict[str, Any] | None) -> str:
    return f"{block['median']:.2f}" if block else "-"


def set_line(name: str, r: dict[str, Any]) -> str:
    """One progress line per finished set."""
    wall = r["ratios"]["wall"]
    sort = r["sorter_sort"]
    return (
        f"[{name}] loop {_rate(r['predict_loop']['images_per_s'])} | get_preds "
        f"{_rate(r['get_preds']['images_per_s'])} | sorter {_rate(sort['images_per_s'])}"
        f" (printed {_rate(r['sorter_sort']['printed_images_per_s'])}) | bound "
        f"{_rate(r['bound']['images_per_s'])} img/s; sorter/bound {wall['vs_bound']:.0%}"
    )


def table(data: dict[str, Any]) -> str:
    """The README table: images/s medians per set, then the ratios (wall; printed in brackets)."""
    rows = [
        "| set | files | MP mean | predict loop | get_preds | sorter sort (printed) | bound "
        "| sorter / loop | sorter / get_preds | sorter / bound |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in data["sets"].items():
        w = r["ratios"]["wall"]
        p = r["ratios"].get("printed", {})
        rows.append(
            f"| {name} | {r['set']['files']} | {r['set']['megapixels_mean']} "
            f"| {_rate(r['predict_loop']['images_per_s'])} "
            f"| {_rate(r['get_preds']['images_per_s'])}"
            f" | {_rate(r['sorter_sort']['images_per_s'])} "
            f"({_rate(r['sorter_sort']['printed_images_per_s'])}) "
            f"| {_rate(r['bound']['images_per_s'])} "
            f"| {w['vs_predict_loop']:.2f}x ({p.get('vs_predict_loop', 0):.2f}x) "
            f"| {w['vs_get_preds']:.2f}x ({p.get('vs_get_preds', 0):.2f}x) "
            f"| {w['vs_bound']:.0%} ({p.get('vs_bound', 0):.0%}) |"
        )
    rows.append(
        f"\nTargets: sorter / loop >= {TARGETS['vs_predict_loop']}x, sorter / get_preds >= "
        f"{TARGETS['vs_get_preds']}x, sorter / bound >= {TARGETS['vs_bound']:.0%}."
    )
    return "\n".join(rows + _variant_rows(data) + _extra_lines(data))


def _variant_rows(data: dict[str, Any]) -> list[str]:
    rows = []
    for name, r in data["sets"].items():
        for vname, block in r.get("variants", {}).items():
            ratio = r["ratios"][vname]
            rows.append(
                f"| {name} | {vname} | {_rate(block['images_per_s'])} "
                f"({_rate(block['printed_images_per_s'])}) | {ratio['vs_predict_loop']:.2f}x "
                f"| {ratio['vs_get_preds']:.2f}x | {ratio['vs_bound']:.0%} | {block['what']} |"
            )
    if not rows:
        return []
    head = [
        "\n| set | sorter variant | img/s (printed) | / loop | / get_preds | / bound | what |",
        "|---|---|---|---|---|---|---|",
    ]
    return head + rows


def _extra_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for name, r in data["sets"].items():
        b = r["bound"]
        fwd = b["forward"].get("cpu_s", b["forward"].get("gpu_wall_s", 0))
        lines.append(
            f"bound {name}: decode {b['decode_cpu_s'] * 1e3:.1f} + forward {fwd * 1e3:.1f} + copy "
            f"{b['copy_cpu_s'] * 1e3:.1f} ms CPU per image on {b['cores']} cores; sorter used "
            f"{r['sorter_sort']['cpu_utilisation']['median']:.0%} of the cores' time"
        )
        paired = r["ratios"].get("paired_vs_bound", {}).get("printed")
        if paired:
            lines.append(
                f"sorter (printed) / bound {name}, per repeat: median {paired['median']:.0%}, "
                f"{paired['min']:.0%}-{paired['max']:.0%} over {len(paired['runs'])} repeats"
            )
    if "startup" in data:
        st = data["startup"]
        lines.append(
            f"startup (bench/startup.py, median): window visible {st.get('window_visible_s')} s, "
            f"model ready {st.get('model_ready_s')} s"
            if "error" not in st
            else str(st)
        )
    if "memory" in data:
        mem = data["memory"]
        runs = ", ".join(f"{m['images']} images {m['peak_rss_mib']:.0f} MiB" for m in mem["runs"])
        lines.append(f"peak RSS of sorter sort: {runs} (growth x{mem['growth']:.2f})")
    if "profile" in data:
        prof = data["profile"]
        lines.append(f"profile, main thread seconds: {prof.get('main_thread_seconds', prof)}")
        lines.append(f"profile, decode threads seconds: {prof.get('worker_thread_seconds')}")
    return lines


def startup_times(quick: bool) -> dict[str, Any]:
    """Time to window visible and to model ready: runs the GUI's own bench/startup.py."""
    script = ROOT / "bench" / "startup.py"
    if not script.exists():
        return {"error": "bench/startup.py is not in this checkout"}
    cmd = [sys.executable, str(script), "--runs", "1" if quick else "3"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    if done.returncode != 0:
        return {"error": f"startup.py exit {done.returncode}: {done.stderr[-600:]}"}
    found = dict(_MEDIAN.findall(done.stdout))
    return {
        "window_visible_s": float(found["window visible"]) if "window visible" in found else None,
        "model_ready_s": float(found["model ready"]) if "model ready" in found else None,
        "runs": 1 if quick else 3,
        "output": done.stdout.strip().splitlines(),
    }


_MEDIAN = re.compile(r"median (window visible|model ready): ([\d.]+) s")
