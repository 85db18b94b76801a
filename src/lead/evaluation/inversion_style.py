"""The out-of-distribution style test of motion textual inversion (paper §5.5, Fig. 6).

With a model trained without a style in its captions, a token is learned from a few clips of that style
(per objective) and its generations are compared with held-out clips of the same style in the evaluator's
embedding space; see `lead.evaluation.inversion_protocol` for the command and the shared pieces.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from lead.errors import LeadError
from lead.evaluation.inversion_protocol import (
    InversionEvalSettings,
    embed_motions,
    eval_length,
    fid_or_nan,
    fmt,
    generate_both,
    learn_token,
    save_concept_to,
    write_report,
)


def resolve_clips(items: list[str], data: str | None, skeleton: str, joint_map: str):
    """Files (.npy/.bvh) or clip ids of `data`/new_joint_vecs → `ExampleMotion`s."""
    from lead.inversion import load_example

    examples = []
    for item in items:
        path = Path(item)
        if not path.is_file() and data is not None:
            path = Path(data) / "new_joint_vecs" / f"{item}.npy"
        if not path.is_file():
            raise LeadError(f"clip {item!r}: no such file" + (f" nor {path}" if data else " (pass --data DIR for ids)"))
        examples.append(load_example(path, skeleton, joint_map))
    return examples


def run_style(pipeline, evaluator, style, heldout, out: str | Path, settings: InversionEvalSettings,
              token: str = "<style>", prompts: tuple[str, ...] | None = None, video: str = "mp4",
              progress=None) -> dict:
    """The out-of-distribution style protocol; returns the report (also in `out/inversion_style.*`)."""
    from lead.inversion import TEMPLATES

    out = Path(out)
    if not style or not heldout:
        raise LeadError("the style test needs --style-clips and --heldout-clips (one or more each)")
    templates = tuple(prompts) if prompts else TEMPLATES
    for template in templates:
        if "{}" not in template:
            raise LeadError(f"--prompt {template!r} must hold '{{}}' where the learned word goes")
    length = eval_length(int(np.median([len(e.features) for e in heldout])))
    count = settings.samples
    chosen = [templates[i % len(templates)] for i in range(count)]
    seeds = [settings.seed + i for i in range(count)]
    held_emb = embed_motions(evaluator, [e.features for e in heldout])
    centre = held_emb.mean(0)

    def scores(name: str, emb: np.ndarray, objective=None, projector=None) -> dict:
        """emb `[M, C]`: mean distance to the nearest held-out clip and to the held-out mean, and FID."""
        nearest = np.linalg.norm(emb[:, None] - held_emb[None], axis=-1).min(1)
        centroid = np.linalg.norm(emb - centre, axis=-1)
        fid = fid_or_nan(held_emb, emb) if len(emb) > 1 and len(held_emb) > 1 else None
        return dict(name=name, objective=objective, projector=projector, nearest_distance=float(nearest.mean()),
                    centroid_distance=float(centroid.mean()), fid=fid)

    rows = [scores("Style clips", embed_motions(evaluator, [e.features for e in style]))]
    renders = {"held-out": heldout[0].features}
    baseline = generate_both(pipeline, [t.format(settings.init_word) for t in chosen], [length] * count, seeds,
                             settings)
    for use_projector, motions in baseline.items():
        name = f"init word '{settings.init_word}'" + (" w/ project" if use_projector else "")
        rows.append(scores(name, embed_motions(evaluator, motions), None, use_projector))
    renders[name] = motions[0]  # what the model makes of the prompts without a learned word
    for objective in settings.objectives:
        concept = learn_token(pipeline, style, token, objective, settings, settings.seed)
        save_concept_to(out, concept, f"style_{objective}")
        decoded = generate_both(pipeline, [t.format(token) for t in chosen], [length] * count, seeds, settings,
                                {token: concept.embedding})
        for use_projector, motions in decoded.items():
            name = f"MTI_{objective}" + (" w/ project" if use_projector else "")
            rows.append(scores(name, embed_motions(evaluator, motions), objective, use_projector))
            if use_projector or objective == "mld":
                renders[name] = motions[0]
        if progress is not None:
            progress(f"style {objective}")
    video_path = None
    if video != "none":
        from lead.motion.features import features_to_joints
        from lead.render.plot import render_grid

        skeleton = pipeline.config.skeleton
        joints = [np.asarray(features_to_joints(f, skeleton)) for f in renders.values()]
        video_path = render_grid(joints, out / f"inversion_style.{video}", list(renders), skeleton=skeleton)
    report = dict(
        protocol="mti-style", token=token, prompts=list(chosen), length=length,
        style_clips=[e.name for e in style], heldout_clips=[e.name for e in heldout],
        settings=asdict(settings), model=dict(pipeline.identity), rows=rows,
        video=str(video_path) if video_path else None,
    )
    lines = [f"MTI style test: {len(style)} style clip(s), {len(heldout)} held-out clip(s), {count} generations "
             f"of {length} frames per row; evaluator-space distances (lower = closer to the held-out clips)\n",
             "| Method | Project | nearest held-out ↓ | to held-out mean ↓ | FID ↓ |", "|---|---|---|---|---|"]
    for row in rows:
        mark = "" if row["projector"] is None else ("✓" if row["projector"] else "✗")
        lines.append(f"| {row['name'].replace(' w/ project', '')} | {mark} | {fmt(row['nearest_distance'])} | "
                     f"{fmt(row['centroid_distance'])} | {fmt(row['fid'])} |")
    write_report(out, "inversion_style", report, "\n".join(lines) + "\n")
    return report
