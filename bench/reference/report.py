"""The report: one markdown table row per configuration, the settings line above the table, the JSON rows."""
from __future__ import annotations

import argparse

from bench import common

TABLE_HEADER = ("| config | frame | mode | device | dtype | ours s/frame median (min-max) | theirs s/frame median "
                "(min-max) | frames/s ours / theirs | ours/theirs per pair median (min-max) | pairs | "
                "max abs diff (first call) | loss max rel diff | grad max rel diff | parity | "
                "peak GiB ours / theirs |")


def seconds_text(stats: dict[str, float]) -> str:
    digits = 2 if stats["median"] >= 1 else 4
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}-{stats['max']:.{digits}f})"


def format_row(row: dict) -> str:
    ratio = row["ratio"]
    loss = "-" if row["loss_max_rel_diff"] is None else f"{row['loss_max_rel_diff']:.1e}"
    grads = "-" if row["grad_max_rel_diff"] is None else f"{row['grad_max_rel_diff']:.1e}"
    return (f"| {row['config']} | {row['frame']} | {row['mode']} | {row['device']} | {row['dtype']} | "
            f"{seconds_text(row['ours']['per_frame_s'])} | {seconds_text(row['theirs']['per_frame_s'])} | "
            f"{1 / row['ours']['per_frame_s']['median']:.3g} / {1 / row['theirs']['per_frame_s']['median']:.3g} | "
            f"{ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f}) | {row['pairs']} | "
            f"{row['max_abs_diff']:.2e} | {loss} | {grads} | {row['parity']} | "
            f"{row['ours']['peak_gib']:.2f} / {row['theirs']['peak_gib']:.2f} |")


def format_table(rows: list[dict], settings: str) -> str:
    lines = [settings, "", TABLE_HEADER, "| " + " | ".join(["---"] * (TABLE_HEADER.count("|") - 1)) + " |"]
    lines += [format_row(row) for row in rows]
    notes = [f"* {r['config']}: losses on one side only: {', '.join(r['losses_one_side_only'])}"
             for r in rows if r["losses_one_side_only"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def settings_line(args: argparse.Namespace) -> str:
    versus = "our code vs our code (--self_check)" if args.self_check else f"ours vs NVIDIA's ({args.nvidia_dir})"
    layout = ", channels_last (both)" if args.channels_last else ""
    return (f"{versus}; {common.machine_line(args.device, args.threads)}; device {args.device}, "
            f"allocator {args.allocator} (both), cudnn.benchmark {not args.no_cudnn_benchmark} (both){layout}, "
            f"{args.repeats} alternating pairs after a warm-up per process, flags {args.flags or '-'}")


def json_row(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "output"}
