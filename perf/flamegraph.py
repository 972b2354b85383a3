#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph (SVG).

  perf script -i perf.data | perf/flamegraph.py --title gordo > flame.svg
  perf script -i perf.data | perf/flamegraph.py --folded > stacks.txt   # for other tools

Debian has no flame-graph package; this is the small part of Brendan Gregg's
stackcollapse-perf + flamegraph we need: width = samples, root at the bottom."""
import argparse
import html
import re
import sys
import zlib


def fold(lines):
    """perf script's blocks (a header line, then one frame per line) → {stack: samples}."""
    stacks, frames, comm = {}, [], None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None:
                key = ";".join([comm] + frames[::-1])
                stacks[key] = stacks.get(key, 0) + 1
            frames, comm = [], None
        elif comm is None:
            comm = line.split()[0] if line.split() else "?"
        else:
            parts = line.strip().split(None, 1)
            name = parts[1] if len(parts) > 1 else parts[0]
            name = re.sub(r"\s+\(.*\)$", "", name)  # the (dso) suffix
            name = re.sub(r"\+0x[0-9a-f]+$", "", name)
            frames.append(name)
    if comm is not None:
        key = ";".join([comm] + frames[::-1])
        stacks[key] = stacks.get(key, 0) + 1
    return stacks


def color(name):
    h = zlib.crc32(name.encode()) & 0xFFFF
    if "[k]" in name or name.startswith(("__", "tcp_", "ip_", "io_", "sock_", "skb_", "do_")):
        return f"rgb({200 + h % 55},{120 + h % 60},{40 + h % 40})"  # kernel: orange
    return f"rgb({220 + h % 35},{60 + h % 90},{40 + h % 30})"


def svg(stacks, title, width=1200, row=16):
    root = {"n": 0, "kids": {}}
    for stack, count in stacks.items():
        node = root
        node["n"] += count
        for frame in stack.split(";"):
            node = node["kids"].setdefault(frame, {"n": 0, "kids": {}})
            node["n"] += count
    total = root["n"] or 1

    def depth(node):
        return 1 + max((depth(k) for k in node["kids"].values()), default=0)

    rows = depth(root)
    height = (rows + 2) * row + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#f8f8f8"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    scale = (width - 20) / total

    def draw(name, node, x, level):
        w = node["n"] * scale
        if w < 0.3:
            return
        y = height - (level + 1) * row - 10
        pct = 100 * node["n"] / total
        label = html.escape(f"{name} ({node['n']} samples, {pct:.1f}%)")
        out.append(f'<g><title>{label}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                   f'fill="{color(name)}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = name if len(name) <= chars else name[:chars - 2] + ".."
            out.append(f'<text x="{x + 3:.1f}" y="{y + row - 4}">{html.escape(text)}</text>')
        out.append("</g>")
        for kid_name, kid in sorted(node["kids"].items()):
            draw(kid_name, kid, x, level + 1)
            x += kid["n"] * scale

    x = 10.0
    for name, node in sorted(root["kids"].items()):
        draw(name, node, x, 0)
        x += node["n"] * scale
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--folded", action="store_true", help="print folded stacks instead of SVG")
    args = ap.parse_args()
    stacks = fold(sys.stdin)
    if args.folded:
        for stack, count in sorted(stacks.items()):
            print(stack, count)
    else:
        print(svg(stacks, args.title))


if __name__ == "__main__":
    main()
