"""`lead eval inversion`: the motion textual inversion protocols of the paper (§5.5).

1. Mini-subset (Table 3): `num_motions` clips of a HumanML3D-format split, one token each, learned with
   each objective (feat, mld, lead); every token generates `samples` motions from template prompts
   ("the man <*>", ...) at the clip's length, decoded with and without the projector (one DDIM run,
   two decodes). Metrics in the evaluator's embedding space: R-precision top-3 and MM-Dist against
   the clip's real caption (groups of min(32, N) pairs, one replication per sample index, mean ± 95%
   interval; top-1 too), FID of all generations against the N real clips, and diversity. Rows with the
   init word in place of a learned token show what inversion adds. Small N makes FID and
   R-precision coarse (FID's covariances are rank-deficient below the embedding width; top-3 of a
   group of N < 32 is easier than of 32): compare rows, not with published numbers.
2. Out-of-distribution style (Fig. 6): with a model trained without a style, a token is learned from a
   few clips of that style (`--style-clips`) per objective and compared with held-out clips of the same
   style (`--heldout-clips`): mean evaluator-space distance to the nearest held-out clip and to their
   mean, FID against them, plus side-by-side renders. A row with the init word instead of the token
   and a row of the style clips themselves bracket the numbers.

Both write JSON + a markdown table (atomically) into `--out`, and the learned concepts under
`--out/concepts/`. The style test lives in `lead.evaluation.inversion_style`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lead.errors import LeadError

OBJECTIVE_ORDER = ("feat", "mld", "lead")
MAX_EVAL_FRAMES = 196  # the evaluator's (and the reference loader's) longest motion


@dataclass
class InversionEvalSettings:
    """Everything that shapes a protocol run (recorded in the JSON)."""

    objectives: tuple[str, ...] = OBJECTIVE_ORDER
    steps: int = 200
    lr: float = 5e-3
    batch_size: int = 4
    init_word: str = "moves"
    samples: int = 4
    sampling_steps: int = 50
    guidance: float = 7.5
    seed: int = 0
    extra: dict = field(default_factory=dict)


# --- shared pieces -----------------------------------------------------------------------------------
def eval_length(length: int) -> int:
    return max(4, min(length, MAX_EVAL_FRAMES) // 4 * 4)


def learn_token(pipeline, example, token: str, objective: str, settings: InversionEvalSettings, seed: int):
    """One concept learned from `example` (an `ExampleMotion` or a list of them)."""
    from lead.inversion import invert

    examples = example if isinstance(example, list) else [example]
    return invert(pipeline, examples, token, settings.init_word, objective, settings.steps, settings.lr,
                  settings.batch_size, seed)


def generate_both(pipeline, prompts: list[str], lengths: list[int], seeds: list[int],
                  settings: InversionEvalSettings, concepts: dict | None = None) -> dict[bool, list[np.ndarray]]:
    """Raw features per prompt `[T_i, D]`, decoded without (False) and with (True) the projector from the
    same sampled latents. `concepts`: {token: embedding} for the placeholders in the prompts."""
    from lead.pipeline import DEFAULT

    projectors = {False: None} if pipeline.projector is None else {False: None, True: DEFAULT}
    decoded: dict[bool, list[np.ndarray]] = {key: [] for key in projectors}
    for rows, batch, _ in pipeline.generate_batches(
        prompts, lengths, seeds, projectors, batch_size=len(prompts), concepts=concepts,
        num_inference_steps=settings.sampling_steps, guidance_scale=settings.guidance,
    ):
        for key, normalised in batch.items():
            decoded[key] += pipeline.to_motion(normalised, lengths[rows])[0]
    return decoded


def embed_motions(evaluator, motions: list[np.ndarray]) -> np.ndarray:
    """Raw features `[T_i, D]` → evaluator embeddings `[N, C]` (batched, zero-padded)."""
    out = []
    for start in range(0, len(motions), 64):
        chunk = motions[start : start + 64]
        lengths = [eval_length(len(m)) for m in chunk]
        batch = np.zeros((len(chunk), max(lengths), chunk[0].shape[-1]), dtype=np.float32)
        for row, (motion, n) in enumerate(zip(chunk, lengths)):
            batch[row, :n] = motion[:n]
        out.append(evaluator.embed_motions(batch, lengths).cpu().numpy())
    return np.concatenate(out)


def _diversity(embeddings: np.ndarray, seed: int) -> float:
    from lead.evaluation.metrics import diversity

    return diversity(embeddings, min(300, len(embeddings) - 1), seed) if len(embeddings) > 2 else float("nan")


def fid_or_nan(a: np.ndarray, b: np.ndarray) -> float:
    import warnings

    from scipy.linalg import LinAlgWarning

    from lead.evaluation.metrics import fid

    try:
        with warnings.catch_warnings():
            # Fewer samples than embedding dimensions make the covariances singular; expected here.
            warnings.simplefilter("ignore", LinAlgWarning)
            return fid(a, b)
    except ValueError:  # a singular covariance whose square root came out complex: too few samples
        return float("nan")


def fmt(value, conf=None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:.{digits}f}"
    return f"{text} ± {conf:.{digits}f}" if conf is not None else text


def write_report(out: Path, stem: str, report: dict, markdown: str) -> None:
    from lead.io import save_json, save_text

    save_json(out / f"{stem}.json", report)
    save_text(out / f"{stem}.md", markdown)


def save_concept_to(out: Path, concept, name: str) -> None:
    from lead.inversion import save_concept

    save_concept(out / "concepts" / f"{name}.safetensors", concept)


def load_evaluator(folder: str, glove: str | None):
    from lead.evaluation.evaluator import T2MEvaluator

    return T2MEvaluator.load(folder, glove)


# --- 1. mini-subset (Table 3) ----------------------------------------------------------------------
def select_subset(root: str | Path, split: str, count: int, min_length: int, seed: int):
    """`count` records of `split` (one per clip, whole-clip items first), drawn with `seed`:
    list of (record, raw features `[T, D]`, caption)."""
    from lead.data.humanml3d import load_records

    records = [r for r in load_records(root, split, min_length=min_length) if r.start == 0]
    by_clip = {}
    for record in records:
        by_clip.setdefault(record.clip, record)
    records = list(by_clip.values())
    if len(records) < count:
        raise LeadError(f"{root} split {split!r} has {len(records)} usable clips (>= {min_length} frames); "
                        f"lower --num-motions or --min-length")
    rng = np.random.default_rng(seed)
    chosen = [records[i] for i in sorted(rng.choice(len(records), count, replace=False))]
    out = []
    for record in chosen:
        features = np.load(Path(root) / "new_joint_vecs" / f"{record.clip}.npy").astype(np.float32)
        out.append((record, features[record.start : record.end], record.captions[0]))
    return out


def run_subset(pipeline, evaluator, root: str | Path, out: str | Path, settings: InversionEvalSettings,
               split: str = "test", num_motions: int = 100, min_length: int = 40, progress=None) -> dict:
    """The Table 3 protocol; returns the report (also written to `out/inversion_subset.{json,md}`)."""
    from lead.evaluation.metrics import matching_metrics, mean_and_confidence
    from lead.inversion import TEMPLATES, ExampleMotion

    out = Path(out)
    subset = select_subset(root, split, num_motions, min_length, settings.seed)
    count = len(subset)
    group = min(32, count)
    if group < 4:
        raise LeadError(f"--num-motions {count} is too small for top-3 R-precision; use at least 4")
    lengths = [eval_length(len(features)) for _, features, _ in subset]
    captions = [list(c.tokens) if c.tokens else c.text for _, _, c in subset]
    text_emb = evaluator.embed_captions(captions).cpu().numpy()
    real_emb = embed_motions(evaluator, [features for _, features, _ in subset])
    real_r, real_mm = matching_metrics(text_emb, real_emb, 3, group, settings.seed)
    rows = [dict(name="Real", objective=None, projector=None, r_precision_top1=float(real_r[0]),
                 r_precision_top1_conf=None, r_precision_top3=float(real_r[2]), r_precision_top3_conf=None,
                 fid=None, mm_dist=real_mm, mm_dist_conf=None, diversity=_diversity(real_emb, settings.seed))]

    def add_rows(name: str, objective: str | None, generated: dict[bool, list[list[np.ndarray]]]) -> None:
        for use_projector, per_motion in generated.items():
            # [samples, N, C]: replication r holds sample r of every motion.
            emb = np.stack([embed_motions(evaluator, [m[r] for m in per_motion]) for r in range(settings.samples)])
            per_rep = [matching_metrics(text_emb, emb[r], 3, group, settings.seed + r) for r in range(len(emb))]
            r_prec, r_conf = mean_and_confidence(np.array([p[0] for p in per_rep]))
            mm, mm_conf = mean_and_confidence(np.array([p[1] for p in per_rep]))
            flat = emb.reshape(-1, emb.shape[-1])
            rows.append(dict(
                name=name + (" w/ project" if use_projector else ""), objective=objective, projector=use_projector,
                r_precision_top1=float(r_prec[0]), r_precision_top1_conf=float(r_conf[0]),
                r_precision_top3=float(r_prec[2]), r_precision_top3_conf=float(r_conf[2]),
                fid=fid_or_nan(real_emb, flat), mm_dist=float(mm), mm_dist_conf=float(mm_conf),
                diversity=_diversity(flat, settings.seed),
            ))

    def generate(index: int, word: str, concepts: dict | None, generated: dict) -> None:
        prompts = [TEMPLATES[(index + r) % len(TEMPLATES)].format(word) for r in range(settings.samples)]
        seeds = [settings.seed + index * settings.samples + r for r in range(settings.samples)]
        decoded = generate_both(pipeline, prompts, [lengths[index]] * settings.samples, seeds, settings, concepts)
        for use_projector, motions in decoded.items():
            generated.setdefault(use_projector, []).append(motions)

    # Reference rows: the same prompts with the init word in place of a learned token (no inversion).
    baseline: dict[bool, list[list[np.ndarray]]] = {}
    for index in range(count):
        generate(index, settings.init_word, None, baseline)
    add_rows(f"init word '{settings.init_word}'", None, baseline)
    token = "<mti>"
    objective_values: dict[str, dict[str, list]] = {}
    for objective in settings.objectives:
        generated: dict[bool, list[list[np.ndarray]]] = {}
        values = objective_values[objective] = {"before": [], "after": []}
        for index, (record, features, _) in enumerate(subset):
            concept = learn_token(pipeline, ExampleMotion(record.name, features), token, objective, settings,
                                  settings.seed + index)
            values["before"].append(concept.objective_before)
            values["after"].append(concept.objective_after)
            save_concept_to(out, concept, f"{objective}_{record.name}")
            generate(index, token, {token: concept.embedding}, generated)
            if progress is not None:
                progress(f"{objective} {index + 1}/{count}")
        add_rows(f"MTI_{objective}", objective, generated)
    report = dict(
        protocol="mti-subset", data=str(root), split=split, num_motions=count, group_size=group,
        clips=[r.name for r, _, _ in subset], settings=asdict(settings), model=dict(pipeline.identity),
        rows=rows, objective_before_after=objective_values,
    )
    header = (f"MTI mini-subset: {count} {split} motions of {root}, {settings.samples} samples each, "
              f"R-precision in groups of {group}, {settings.steps} steps at lr {settings.lr}\n\n")
    lines = ["| Method | Project | R-prec. (top3) ↑ | FID ↓ | MMdist ↓ | Div. → | R-prec. (top1) ↑ |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        mark = "" if row["projector"] is None else ("✓" if row["projector"] else "✗")
        lines.append(f"| {row['name'].replace(' w/ project', '')} | {mark} | "
                     f"{fmt(row['r_precision_top3'], row['r_precision_top3_conf'])} | {fmt(row['fid'])} | "
                     f"{fmt(row['mm_dist'], row['mm_dist_conf'])} | {fmt(row['diversity'])} | "
                     f"{fmt(row['r_precision_top1'], row['r_precision_top1_conf'])} |")
    notes = ["", "Objective on 64 fixed held-out draws, mean over the motions (init word → learned token):"]
    for objective, values in objective_values.items():
        before, after = float(np.mean(values["before"])), float(np.mean(values["after"]))
        notes.append(f"- {objective}: {before:.4f} → {after:.4f} ({100 * (after - before) / before:+.1f}%)")
    write_report(out, "inversion_subset", report, header + "\n".join(lines + notes) + "\n")
    return report
