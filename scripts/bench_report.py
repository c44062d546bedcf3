#!/usr/bin/env python3
"""Turns criterion's estimates into the table in docs/BENCHMARKS.md, with ratios to anchors."""
import json
import sys
from pathlib import Path

root = Path(sys.argv[1])


def mean_ns(group, bench):
    est = root / group / bench / "new" / "estimates.json"
    return json.loads(est.read_text())["mean"]["point_estimate"]


def row(name, ns, per, anchor=None):
    rate = per / (ns / 1e9)
    unit = "MiB/s" if per > 64 else "ops/s"
    shown = rate / 2**20 if unit == "MiB/s" else rate
    ratio = f"{anchor:.2f}×" if anchor is not None else ""
    print(f"| {name} | {ns / 1000:.1f} µs | {shown:,.0f} {unit} | {ratio} |")


print("| benchmark | time | throughput | vs anchor |")
print("|---|---|---|---|")
v1 = mean_ns("identity", "verify_128B")
b64 = mean_ns("identity", "batch_verify_64")
row("sign (128 B)", mean_ns("identity", "sign_128B"), 1)
row("verify (128 B)", v1, 1)
row("verify 64, one by one", mean_ns("identity", "verify_64_one_by_one"), 64)
print(f"| batch verify 64 | {b64 / 1000:.1f} µs | {64 / (b64 / 1e9):,.0f} sig/s | {(64 * v1) / b64:.2f}× single verify |")
dh = mean_ns("envelope", "anchor_x25519_dh_x2")
row("anchor: 2 × X25519", dh, 1)
for label, size in (("1KiB", 1024), ("64KiB", 65536)):
    aead = mean_ns("envelope", f"anchor_chacha20poly1305_{label}")
    row(f"anchor: ChaCha20-Poly1305 {label}", aead, size)
    for op in ("seal", "open"):
        ns = mean_ns("envelope", f"{op}_{label}")
        print(f"| {op} {label} | {ns / 1000:.1f} µs | {size / (ns / 1e9) / 2**20:,.0f} MiB/s | "
              f"{ns / (aead + dh):.2f}× (AEAD + 2 DH) |")
