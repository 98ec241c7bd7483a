"""bench/run.py's tables: the figures it measured, printed with rich."""

from __future__ import annotations

import statistics

from rich.table import Table

NAMES = {"convsim": "convsim", "torch": "PyTorch (NCHW)",
         "torch-cl": "PyTorch channels_last"}


def speed_ratio(seconds: dict, who: str):
    """convsim speed / ``who``'s speed (above 1: convsim faster), or None."""
    if who not in seconds:
        return None
    return seconds[who] / seconds["convsim"]


def fmt(value, digits=1, none="-"):
    return none if value is None else f"{value:,.{digits}f}"


def per_who(values: dict, whos, digits=1, scale=1.0):
    return " / ".join(fmt(None if values.get(w) is None else scale * values[w],
                          digits) for w in whos)


def print_report(console, figures, whos):
    sgemm, peak = figures["sgemm"], figures["sgemm"]["peak"]
    first = sgemm["start"]
    table = Table(title=f"sgemm ({first['n']}x{first['n']} float32 matrix product), "
                        "GFLOP/s")
    for col in ("how", "at the start", "at the end"):
        table.add_column(col, justify="left" if col == "how" else "right")
    for key in first:
        if key not in ("n", "openblas_threads"):
            table.add_row(key, fmt(first[key]), fmt(sgemm["end"].get(key)))
    console.print(table)
    trio = "/".join({"convsim": "c", "torch": "t", "torch-cl": "cl"}[w] for w in whos)
    if figures.get("rows"):
        table = Table(title="Training and inference: images/s (median over every "
                            "timed call); ratio = convsim speed / PyTorch speed, "
                            "above 1 = convsim faster")
        for col in ("what", "calls/rounds", "convsim", "torch", "torch cl",
                    "ratio torch", "ratio cl", f"GFLOP/s {trio}", f"% peak {trio}"):
            table.add_column(col, justify="left" if col == "what" else "right",
                             no_wrap=col == "what")
        for row in figures["rows"].values():
            rates, med = row["images_s"], row["median_s"]
            table.add_row(
                row["title"], f"{row['calls']}/{row['rounds']}",
                *(fmt(rates.get(w), 0) for w in ("convsim", "torch", "torch-cl")),
                fmt(speed_ratio(med, "torch"), 2), fmt(speed_ratio(med, "torch-cl"), 2),
                per_who(row["gflops"], whos), per_who(row["gflops"], whos, 0,
                                                      100 / peak))
        console.print(table)
    if figures.get("layers"):
        table = Table(title="Each layer alone: ms per batch (MNIST batch 64, "
                            "cats batch 20); ratio = convsim speed / PyTorch speed")
        for col in ("model", "layer", "input", "pass", "convsim", "torch",
                    "torch cl", "ratio torch", "ratio cl", f"GFLOP/s {trio}",
                    "% peak c"):
            table.add_column(col, justify="right")
        for row in figures["layers"]:
            ms = row["median_ms"]
            table.add_row(row["model"], row["layer"], row["input"], row["pass"],
                          *(fmt(ms.get(w), 2) for w in ("convsim", "torch",
                                                        "torch-cl")),
                          fmt(speed_ratio(ms, "torch"), 2),
                          fmt(speed_ratio(ms, "torch-cl"), 2),
                          per_who(row["gflops"], whos, 0),
                          fmt(row["gflops"]["convsim"] and 100
                              * row["gflops"]["convsim"] / peak, 0))
        console.print(table)
    if figures.get("rss"):
        table = Table(title="Peak memory of a training run (peak resident set of "
                            "a child process, nothing subtracted)")
        for col in ("model", "who", "steps", "peak MB", "after imports MB",
                    "convsim / this"):
            table.add_column(col, justify="right")
        mine = {r["model"]: r["peak_mb"] for r in figures["rss"]
                if r["who"] == "convsim"}
        for r in figures["rss"]:
            table.add_row(r["model"], NAMES[r["who"]], str(r["steps"]),
                          fmt(r["peak_mb"], 0), fmt(r["after_imports_mb"], 0),
                          "" if r["who"] == "convsim"
                          else fmt(mine[r["model"]] / r["peak_mb"], 2))
        console.print(table)
    if figures.get("import") or figures.get("frame"):
        table = Table(title="Start-up, seconds (median)")
        table.add_column("what")
        table.add_column("seconds", justify="right")
        for modules, seconds in figures.get("import", {}).items():
            table.add_row(f"import {modules} (fresh interpreter)", fmt(seconds, 3))
        frame = figures.get("frame", {})
        for kind in ("warm", "cold"):
            runs = frame.get(kind) or []
            if not runs:
                continue

            def med(key, runs=runs):
                got = [r[key] for r in runs if r[key] is not None]
                return statistics.median(got) if got else None
            codes = sorted({r["exit_code"] for r in runs})
            table.add_row(f"padding lesson, {kind} cache: first line of output "
                          f"({len(runs)} run{'s' * (len(runs) > 1)}, exit code "
                          f"{'/'.join(map(str, codes))})",
                          fmt(med("first_line_s"), 2))
            if kind == "cold":
                table.add_row("  cold: the \"Compiling convsim's kernels\" notice "
                              "(stderr) appears; aim: within 1 s",
                              fmt(med("notice_s"), 2, "never"))
            table.add_row(f"  {kind}: the whole lesson", fmt(med("total_s"), 2))
        console.print(table)
    if figures.get("pipeline"):
        pipe = figures["pipeline"]
        table = Table(title=f"Image pipeline, flow_from_directory 150x150 batch 20 "
                            f"({pipe['source']})")
        for col in ("generator", "images/s", "/ cats training img/s (aim >= 3)"):
            table.add_column(col, justify="right")
        for name, rate in pipe["rates"].items():
            table.add_row(name, fmt(rate, 0), fmt(rate / pipe["training_images_s"], 1))
        console.print(table)
        console.print(f"convsim cats-vs-dogs training: "
                      f"{pipe['training_images_s']:.1f} images/s "
                      f"({pipe['training_source']}).")
    console.print("Ratios are convsim's speed / PyTorch's speed: above 1 = convsim "
                  "faster (for memory, convsim's MB / PyTorch's: below 1 = convsim "
                  "uses less). FLOPs: 2 per multiply-add of conv and dense layers; a "
                  "training step counts 3x the forward pass, a layer's backward 2x "
                  f"its forward. Peak: {peak:.1f} GFLOP/s, the best NumPy sgemm above. "
                  "Only figures from one run are comparable on a shared machine.")
