#!/usr/bin/env python3
"""Turns the memory-effect results (scripts/memory_effect.py) into a self-contained HTML report with SVG charts
and the Markdown tables of docs/experiments.md. No script, font or style sheet is fetched.

    python3 scripts/memory_effect_report.py docs/experiments/memory-effect/results.json
"""
import html
import json
import math
import os
import sys

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f", "#edc948"]
GROUP_TITLES = {"baseline": "no memory", "build": "build policy (gold memory, hybrid)",
                "retrieval": "retrieval policy (gold proceduralization memory)",
                "update": "update policy (seed memory, updated every 10 episodes)",
                "transfer": "transfer (whose trajectories the memory holds)"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; } th { background: #f4f4f4; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #555; } code, pre { font-size: 0.85em; }
svg { display: block; margin: 0.5em 0; } svg text { font-family: system-ui, sans-serif; font-size: 11px; }
"""


def f(value):
    return f"{value:.1f}"


def ci(pair, digits=3):
    return "–" if not pair or pair[0] is None else f"[{pair[0]:.{digits}f}, {pair[1]:.{digits}f}]"


def number(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def bars(title, rows, value, interval, maximum, unit=""):
    """Horizontal bars, one per condition, with the 95% interval as a whisker."""
    label_width, plot_width, row_height = 230, 520, 22
    height = 40 + row_height * len(rows)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + plot_width + 80}" height="{height}" '
           f'role="img" aria-label="{html.escape(title)}">',
           f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>']
    scale = plot_width / maximum if maximum else 1
    for tick in range(0, 6):
        x = label_width + plot_width * tick / 5
        svg.append(f'<line x1="{f(x)}" x2="{f(x)}" y1="24" y2="{height - 12}" stroke="#e4e4e4"/>')
        svg.append(f'<text x="{f(x)}" y="{height}" text-anchor="middle">{maximum * tick / 5:g}{unit}</text>')
    for index, row in enumerate(rows):
        y = 28 + index * row_height
        color = PALETTE[list(GROUP_TITLES).index(row["group"]) % len(PALETTE)]
        amount = value(row) or 0
        low, high = interval(row) or (None, None)
        svg.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{html.escape(row["name"])}</text>')
        svg.append(f'<rect x="{label_width}" y="{y + 3}" width="{f(amount * scale)}" height="{row_height - 8}" '
                   f'fill="{color}"><title>{html.escape(row["name"])}: {amount:.3f}</title></rect>')
        if low is not None:
            svg.append(f'<line x1="{f(label_width + low * scale)}" x2="{f(label_width + high * scale)}" '
                       f'y1="{y + 10}" y2="{y + 10}" stroke="#222" stroke-width="1.5"/>')
        end = label_width + (amount if high is None else max(amount, high)) * scale + 4
        svg.append(f'<text x="{f(end)}" y="{y + 13}" fill="#333">{amount:.3g}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def series_style(name):
    """A condition's colour (by update policy) and dash (Memp's own deprecation threshold is dashed)."""
    for policy, color in (("vanilla", "#f28e2b"), ("validation", "#59a14f"), ("adjustment", "#e15759")):
        if policy in name:
            return color, "@" in name
    return "#6b6b6b", False


def nice_maximum(value):
    """The smallest 1, 2 or 5 times a power of ten at or above value (so the axis ticks are round)."""
    magnitude = 10 ** math.floor(math.log10(value)) if value > 0 else 1
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= value)


def lines(title, series, y_label, maximum, band=True):
    """Lines over batches: series is [(name, [(batch, value, (low, high) or None)])]."""
    width, height, left, top, bottom = 820, 300, 50, 28, 40
    plot_width, plot_height = width - left - 230, height - top - bottom
    batches = max((len(points) for _, points in series), default=1)

    def x(batch):
        return left + plot_width * batch / max(1, batches - 1)

    def y(value):
        return top + plot_height * (1 - value / maximum)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{html.escape(title)}">', f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>']
    for tick in range(0, 6):
        value = maximum * tick / 5
        svg.append(f'<line x1="{left}" x2="{left + plot_width}" y1="{f(y(value))}" y2="{f(y(value))}" '
                   f'stroke="{"#888" if tick == 0 else "#e4e4e4"}"/>')
        svg.append(f'<text x="{left - 6}" y="{f(y(value) + 4)}" text-anchor="end">{value:g}</text>')
    for batch in range(batches):
        svg.append(f'<text x="{f(x(batch))}" y="{height - bottom + 16}" text-anchor="middle">{batch + 1}</text>')
    svg.append(f'<text x="{left + plot_width / 2}" y="{height - 6}" text-anchor="middle">batch of 10 episodes '
               f'(memory updated after each)</text>')
    svg.append(f'<text x="12" y="{top + plot_height / 2}" transform="rotate(-90 12 {top + plot_height / 2})" '
               f'text-anchor="middle">{html.escape(y_label)}</text>')
    for index, (name, points) in enumerate(series):
        color, dashed = series_style(name)
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        if band and points and points[0][2]:
            upper = [f"{f(x(b))},{f(y(c[1]))}" for b, _, c in points]
            lower = [f"{f(x(b))},{f(y(c[0]))}" for b, _, c in reversed(points)]
            svg.append(f'<polygon points="{" ".join(upper + lower)}" fill="{color}" fill-opacity="0.08"/>')
        svg.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} '
                   f'points="{" ".join(f"{f(x(b))},{f(y(v))}" for b, v, _ in points)}"/>')
        for b, v, _ in points:
            svg.append(f'<circle cx="{f(x(b))}" cy="{f(y(v))}" r="3" fill="{color}"><title>{html.escape(name)} '
                       f'batch {b + 1}: {v:.3f}</title></circle>')
        svg.append(f'<line x1="{left + plot_width + 16}" x2="{left + plot_width + 34}" y1="{top + 10 + index * 18}" '
                   f'y2="{top + 10 + index * 18}" stroke="{color}" stroke-width="2"{dash}/>')
        svg.append(f'<text x="{left + plot_width + 40}" y="{top + 14 + index * 18}">{html.escape(name)}</text>')
    svg.append("</svg>")
    return "\n".join(svg)


def markdown_tables(results):
    rows = results["conditions"]
    out = ["| condition | episodes | success rate [95% CI] | Δ success vs none [95% CI] | avg steps [95% CI] | "
           "Δ steps vs none [95% CI] | steps on successes [95% CI] | Δ steps, both solved (n) [95% CI] | "
           "guided share | memories |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        s = row["summary"]
        delta = s.get("vs_none")
        out.append(
            f"| {row['name']} | {s['episodes']} | {s['success_rate']:.3f} {ci(s['success_ci'])} | "
            f"{(number(delta['success']) + ' ' + ci(delta['success_ci'])) if delta else '–'} | "
            f"{s['steps']:.1f} {ci(s['steps_ci'], 1)} | "
            f"{(number(delta['steps'], 1) + ' ' + ci(delta['steps_ci'], 1)) if delta else '–'} | "
            f"{number(s['steps_success'], 1)} {ci(s['steps_success_ci'], 1)} | "
            + (f"{number(delta['steps_both'], 1)} ({delta['both_solved']}) {ci(delta['steps_both_ci'], 1)} | "
               if delta else "– | ")
            + f"{s['guided_share']:.2f} | {number(s['memory_active'], 1)} |")
    games = sorted({game for row in rows for game in row["summary"]["by_game"]})
    out += ["", "Success rate per game type:", "",
            "| condition | " + " | ".join(games) + " |", "|---|" + "---|" * len(games)]
    for row in rows:
        by_game = row["summary"]["by_game"]
        out.append(f"| {row['name']} | " + " | ".join(
            f"{by_game[g]['success_rate']:.2f}" if g in by_game else "–" for g in games) + " |")
    curves = [row for row in rows if row.get("curve")]
    if curves:
        batches = max(len(row["curve"]) for row in curves)
        out += ["", "Success rate per batch of 10 episodes (over the replicates; memories after the batch):", "",
                "| condition | " + " | ".join(str(b + 1) for b in range(batches)) + " |",
                "|---|" + "---|" * batches]
        for row in curves:
            cells = []
            for point in row["curve"]:
                memory = f" ({point['memory_active']:.0f})" if point.get("memory_active") is not None else ""
                cells.append(f"{point['success_rate']:.2f}{memory}")
            out.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write_report(results, directory):
    rows = results["conditions"]
    configuration = results["configuration"]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Memp: the memory effect on TextWorldExpress</title>", f"<style>{STYLE}</style></head><body>",
             "<h1>The memory effect: a weak agent on TextWorldExpress, with and without procedural memory</h1>",
             f'<p class="meta">Generated by <code>{html.escape(results["generator"])}</code>; '
             f'{configuration["replicates"]} replicates × {configuration["episodes_per_game"]} test episodes × '
             f'{len(configuration["games"])} game types per condition, step limit {configuration["step_limit"]}, '
             f'k = {configuration["k"]}, embedder {html.escape(configuration["embedder"])}; '
             f'{results["timing"]["total_seconds"]} s in all, {results["timing"]["memp_calls"]} memory operations '
             f'({"one memp serve" if results["timing"].get("transport") == "server" else "one memp process each"}). '
             "Whiskers and bands are 95% intervals (Wilson for rates, bootstrap for means).</p>",
             "<h2>Success rate</h2>",
             bars("Success rate per condition", rows, lambda r: r["summary"]["success_rate"],
                  lambda r: r["summary"]["success_ci"], 1.0),
             "<h2>Steps</h2>",
             bars("Average steps per episode (all episodes)", rows, lambda r: r["summary"]["steps"],
                  lambda r: r["summary"]["steps_ci"], configuration["step_limit"]),
             bars("Average steps on successful episodes", rows, lambda r: r["summary"]["steps_success"],
                  lambda r: r["summary"]["steps_success_ci"], configuration["step_limit"])]
    curves = [row for row in rows if row.get("curve")]
    if curves:
        parts.append("<h2>Update policies over batches</h2>")
        none = [row for row in curves if not row.get("update")]
        thresholds = sorted({row["min_success_rate"] for row in curves if row.get("update")})
        for threshold in thresholds:
            shown = none + [row for row in curves if row.get("min_success_rate") == threshold]
            parts.append(lines(f"Success rate per batch (memories deprecated below a {threshold:g} success rate)",
                               [(row["name"], [(p["batch"], p["success_rate"], p["success_ci"]) for p in row["curve"]])
                                for row in shown], "success rate", 1.0))
        sized = [row for row in curves if row.get("update")]
        if sized:
            top = max(p["memory_active"] or 0 for row in sized for p in row["curve"])
            parts.append(lines("Active memories after each batch (mean over replicates)",
                               [(row["name"], [(p["batch"], p["memory_active"] or 0, None) for p in row["curve"]])
                                for row in sized], "memories", nice_maximum(top), band=False))
    transfer = [row for row in rows if row["group"] in ("baseline", "transfer")
                or row["name"] == "gold/proceduralization/hybrid"]
    parts += ["<h2>Transfer</h2>",
              bars("Success rate: no memory, the explorer's own memory, the gold agent's memory", transfer,
                   lambda r: r["summary"]["success_rate"], lambda r: r["summary"]["success_ci"], 1.0),
              "<h2>Tables</h2>", markdown_to_html(markdown_tables(results)),
              "<h2>Configuration</h2>",
              f"<pre>{html.escape(json.dumps({k: results[k] for k in ('configuration', 'memory_sources', 'timing')}, indent=1))}</pre>",
              "</body></html>"]
    with open(os.path.join(directory, "report.html"), "w") as handle:
        handle.write("\n".join(parts) + "\n")
    with open(os.path.join(directory, "table.md"), "w") as handle:
        handle.write(markdown_tables(results))


def markdown_to_html(text):
    """The tables of markdown_tables as HTML (pipe tables and plain paragraphs only)."""
    out, table = [], []

    def flush():
        if not table:
            return
        out.append("<table>")
        for number_, cells in enumerate(table):
            if number_ == 1:
                continue
            tag = "th" if number_ == 0 else "td"
            numeric = ' class="n"'
            out.append("<tr>" + "".join(
                f'<{tag}{numeric if tag == "td" and position else ""}>{html.escape(cell)}</{tag}>'
                for position, cell in enumerate(cells)) + "</tr>")
        out.append("</table>")
        table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip("|").split("|")])
        else:
            flush()
            if line.strip():
                out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: memory_effect_report.py RESULTS.json")
    with open(sys.argv[1]) as handle:
        data = json.load(handle)
    write_report(data, os.path.dirname(sys.argv[1]) or ".")
