"""Tables of the evaluation reports, laid out like the paper's (Table 1/2/6): one row per method, cells
`mean±conf95` over the replications, '-' where a metric does not apply (MModality of real motions)."""

from __future__ import annotations

import os
from pathlib import Path

# (header, metric key, index into a vector metric)
T2M_COLUMNS = (
    ("FID ↓", "fid", None),
    ("R-prec top-1 ↑", "r_precision", 0),
    ("R-prec top-2 ↑", "r_precision", 1),
    ("R-prec top-3 ↑", "r_precision", 2),
    ("MM-Dist ↓", "mm_dist", None),
    ("Diversity →", "diversity", None),
    ("MModality ↑", "multimodality", None),
)
PUBLISHED = {"group_size": 32, "diversity_pairs": 300, "mm_texts": 100, "mm_pairs": 10}


def format_cell(entry: dict | None, index: int | None = None, digits: int = 3) -> str:
    """{"mean", "conf95"} (scalars or vectors; `index` picks one) → 'mean±conf'; None → '-'."""
    if entry is None:
        return "-"
    mean, conf = entry["mean"], entry["conf95"]
    if index is not None:
        mean, conf = mean[index], conf[index]
    return f"{mean:.{digits}f}±{conf:.{digits}f}"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def t2m_table(summary: dict, rows: list[str]) -> str:
    """The Table 1 layout: Method, FID, R-precision top-1/2/3, MM-Dist, Diversity, MModality."""
    body = [[row, *(format_cell(summary[row][key], index) for _, key, index in T2M_COLUMNS)] for row in rows]
    return markdown_table(["Method", *(header for header, _, _ in T2M_COLUMNS)], body)


MOTION_COLUMNS = (("skating", "skate_ratio"), ("jerk m/s³", "jerk"), ("stride m", "stride"),
                  ("joint speed m/s", "joint_speed"), ("named hand ✓", "named_hand"), ("run > walk ✓", "run_faster"),
                  ("turn sign ✓", "turn_sign"), ("bow drop m", "bow_drop"))


def motion_table(motion: dict) -> str:
    """Motion quality per row (lead.evaluation.motion_quality; mean±95% interval over the motions)."""
    body = []
    for row, metrics in motion.items():
        cells = []
        for _, key in MOTION_COLUMNS:
            value = metrics.get(key) or {}
            cells.append(f"{value['mean']:.3f}±{value['half_width']:.3f}" if value.get("count") else "-")
        body.append([row, *cells])
    return markdown_table(["Method", *(header for header, _ in MOTION_COLUMNS)], body)


def t2m_markdown(report: dict) -> str:
    """The whole markdown report: what was run, the table, and caveats the numbers carry."""
    settings, sizes = report["settings"], report["sizes"]
    replications = len(report["replications"])
    with_mm = max((entry or {}).get("n", 0) for row in report["summary"].values()
                  for key, entry in row.items() if key == "multimodality")
    lines = [
        "# Text-to-motion evaluation",
        "",
        f"- data: `{report['data']['path']}` split `{report['data']['split']}`, {sizes['items']} items "
        f"({report['resolved']['min_length']}–{report['resolved']['max_length']} frames)",
        f"- model: `{report['model'].get('path')}` (weights {report['model'].get('sha256')})",
        f"- evaluator: `{report['evaluator']['path']}` ({report['evaluator']['format']} format, "
        f"weights {report['evaluator']['digest']})",
        f"- {replications} replications (seeds {settings['seed']}..{settings['seed'] + replications - 1}); "
        f"{str(settings.get('sampler', 'ddim')).upper()} {settings['steps']} steps, guidance {settings['guidance']}",
        f"- R-precision/MM-Dist in groups of {sizes['group_size']}, Diversity over {sizes['diversity_pairs']} "
        f"pairs, MModality: {sizes['mm_texts']} texts × {settings['mm_generations']} generations, "
        f"{sizes['mm_pairs']} pairs, in {with_mm} replication(s)",
        "- cells: mean±1.96·std/√n over replications; MLD = projector off, LEAD = projector on (same latents)",
        "",
        t2m_table(report["summary"], report["rows"]),
        "",
    ]
    smaller = {key: f"{key} {sizes[key]} (published {value})" for key, value in PUBLISHED.items()
               if key in sizes and sizes[key] < value and not (key.startswith("mm") and settings["mm_texts"] == 0)}
    core = [text for key, text in smaller.items() if not key.startswith("mm_")]
    if core:
        lines += [f"Note: smaller than the published protocol: {', '.join(smaller.values())}; compare rows of "
                  "this table, not with published numbers.", ""]
    elif smaller:  # fewer texts/pairs change MModality's spread, not its expected value
        lines += [f"Note: MModality from a smaller subset than published ({', '.join(smaller.values())}): "
                  "same expected value, wider interval.", ""]
    width = report["evaluator"].get("embedding_dim")
    if not sizes.get("fid", True):
        lines += [f"Note: FID not computed: {sizes['items']} items in a {width}-d embedding space give singular "
                  "covariances.", ""]
    else:
        missing_fid = [row for row in report["rows"] if report["summary"][row]["fid"] is None]
        if missing_fid:
            lines += [f"FID could not be computed for {', '.join(missing_fid)} (a complex matrix square root).", ""]
    first = next((rep for rep in report["replications"] if rep.get("motion")), None)
    if first is not None:
        lines += [f"Motion quality of replication {first['replication']}'s motions (lead.evaluation.motion_quality; "
                  "stride on locomotion captions, checks where the caption names them):", "",
                  motion_table(first["motion"]), ""]
    return "\n".join(lines)


def write_report(out: str | os.PathLike, stem: str, report: dict, markdown: str) -> None:
    """OUT/STEM.json and OUT/STEM.md, each written atomically."""
    from lead.io import save_json, save_text

    out = Path(out)
    save_json(out / f"{stem}.json", report)
    save_text(out / f"{stem}.md", markdown)
