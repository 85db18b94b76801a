"""The T2M evaluation protocol as the field runs it (Guo et al. 2022, MLD; LEAD paper §5.1–5.3, Tables 1,
2 and 6).

Replication r (seed s = seed + r):
- the split is drawn the way the reference test loader draws it: one random caption per item and a random
  crop (a multiple of 4 frames, one unit shorter a third of the time): `MotionDataset` epoch 2r;
- every generation path (MLD = projector off, LEAD = projector on, ablation projectors) generates one
  motion per item from its caption at the crop's length. The paths share the sampled latents (same noise,
  one denoiser run), so they differ only by the realignment: a paired comparison that costs one diffusion
  run instead of one per path;
- the evaluator embeds the generated motions, the real crops and the captions; FID (generated against the
  real crops of the same draw), R-precision top-1/2/3 and MM-Dist in groups of 32, Diversity of 300 pairs;
- the Real row scores the real crops against their own captions; its FID compares them with an
  independent draw (epoch 2r + 1), which is what the published ~0.002 measures;
- MultiModality (replications below `mm_replications`): `mm_texts` items of this draw, `mm_generations`
  motions each, mean distance of `mm_pairs` random pairs within each text.
Every replication is summarised by mean ± 1.96·std/√R. Generation noise for item i of stream k (0: the
split, 1: MultiModality) comes from seed (s·2 + k)·10⁶ + i.

Small splits (tests, tiny data sets) shrink the groups, pairs and MModality subset to what exists; the
sizes used are recorded under "sizes" and the report says when they differ from the published ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lead.errors import LeadError

PROTOCOL = "lead-t2m-eval"
VERSION = 1
REAL, MLD, LEAD = "Real", "MLD", "LEAD"
METRICS = ("fid", "r_precision", "mm_dist", "diversity", "multimodality")
REPORT_STEM = "t2m"
PARTIAL_NAME = "t2m.partial.json"
_STREAM = 1_000_000  # noise seeds per stream of one replication


@dataclass
class T2MEvalSettings:
    """Everything that shapes the numbers (recorded in the report; a resumed run must match it)."""

    replications: int = 20
    split: str = "test"
    guidance: float | None = None  # None: the model's (its config.json)
    steps: int | tuple[int, ...] = 50  # several: every row once per step count (paper Table 5)
    sampler: str = "ddim"
    batch_size: int = 32
    mm_texts: int = 100  # 0 skips MultiModality
    mm_generations: int = 30
    mm_pairs: int = 10
    mm_replications: int | None = None  # None: every replication
    diversity_pairs: int = 300
    group_size: int = 32
    min_length: int | None = None  # None: the evaluator's training minimum, else the skeleton's
    seed: int = 0
    # How generated motions are padded before the evaluator's convolutions: "t2m" to 196 frames, as the
    # text-to-motion loader pads real ones; "mld" to the batch's longest motion, as MLD's (and so LEAD's)
    # evaluation code does for generations. Real motions are padded to 196 in both.
    padding: str = "t2m"

    def identity(self) -> dict:
        """The settings a resumed run must share with the partial one (the counts may grow)."""
        data = dataclasses.asdict(self)
        for key in ("replications", "mm_replications", "batch_size"):  # don't change any number
            data.pop(key)
        return data


@dataclass
class GenerationPath:
    """One generated row: its label and the projector applied before VAE decoding (None = MLD)."""

    name: str
    projector: Any = None
    source: str | None = None
    steps: int | None = None  # None: the settings' steps (several step counts give one row set each)


class _Identity:
    """A 'normaliser' that leaves features raw: the evaluator applies its own statistics."""

    def normalize(self, x):
        return x


# --- inputs -------------------------------------------------------------------------------------------
def _weights_digest(module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def load_evaluator(path: str | Path, meta: str | Path | None = None, glove: str | Path | None = None,
                   dataset: str = "t2m"):
    """An evaluator folder (`lead train evaluator`) or the published finest.tar (file, or a checkpoints
    folder) → (T2MEvaluator, info dict with format, path, weights digest and training min_length)."""
    from lead.evaluation.evaluator import T2MEvaluator

    path = Path(path)
    if not path.exists():
        raise LeadError(f"evaluator {path} not found: pass an evaluator folder (lead train evaluator) or "
                        "the published text_mot_match/model/finest.tar")
    info: dict[str, Any] = {"path": str(path.resolve()), "min_length": None}
    if path.is_dir() and (path / "config.json").is_file():
        evaluator = T2MEvaluator.load(path, glove)
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        info.update(format="lead", min_length=(config.get("training") or {}).get("min_length"))
    else:
        evaluator = T2MEvaluator.from_official(path, meta, glove, dataset)
        info.update(format="official")
    if evaluator.vectorizer is None:
        raise LeadError(f"evaluator {path} has no word vectors: pass --glove DIR (the folder with "
                        "our_vab_data.npy) for an evaluator that uses GloVe")
    info.update(digest=_weights_digest(evaluator), dim_pose=evaluator.config.dim_pose,
                embedding_dim=evaluator.config.dim_coemb_hidden)
    return evaluator, info


def resolve_paths(pipeline, model_dir: str | Path, paths: list[str], ablations: list[str],
                  steps: list[int] | None = None, sampler: str = "ddim") -> list[GenerationPath]:
    """Rows to generate: `paths` ⊂ {mld, lead} plus ablation projectors (a folder, or a component name
    inside `model_dir` such as projector-mlp); with several `steps`, every row once per step count,
    named e.g. "LEAD · lcm 2 steps" (MotionLCM rows when the sampler is lcm)."""
    rows = _resolve_rows(pipeline, model_dir, paths, ablations)
    if not steps or len(steps) == 1:
        return rows
    if len(set(steps)) != len(steps):
        raise LeadError(f"steps {steps}: give each step count once")
    base = {MLD: "MotionLCM" if sampler == "lcm" else MLD}
    named = []
    for count in steps:
        for row in rows:
            label = base.get(row.name, row.name if sampler != "lcm" else f"{row.name} (MotionLCM)")
            unit = "step" if count == 1 else "steps"
            named.append(GenerationPath(f"{label} · {sampler} {count} {unit}", row.projector, row.source, count))
    return named


def _resolve_rows(pipeline, model_dir: str | Path, paths: list[str], ablations: list[str]) -> list[GenerationPath]:
    from lead.models.projector import LatentProjector

    rows: list[GenerationPath] = []
    for path in paths:
        if path == "mld":
            rows.append(GenerationPath(MLD))
        elif path == "lead":
            if pipeline.projector is None:
                raise LeadError(f"{model_dir} has no projector/ component, which the LEAD row needs: pass "
                                "--no-projector (MLD only) or train one with `lead train projector`")
            rows.append(GenerationPath(LEAD, pipeline.projector, str(Path(model_dir) / "projector")))
        else:
            raise LeadError(f"unknown generation path {path!r}: expected mld or lead")
    vae = pipeline.vae.config
    for item in ablations:
        folder = Path(item)
        if not (folder / "config.json").is_file():
            folder = Path(model_dir) / item
        if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
            raise LeadError(f"ablation {item!r}: neither {item} nor {folder} is a projector folder (config.json "
                            f"+ model.safetensors); train one with `lead train projector --name {Path(item).name}`")
        projector = LatentProjector.load(folder).eval().requires_grad_(False)
        if (projector.config.latent_size, projector.config.latent_dim) != (vae.latent_size, vae.latent_dim):
            raise LeadError(f"ablation {folder}: the projector works on [{projector.config.latent_size}, "
                            f"{projector.config.latent_dim}] latents but the model's VAE makes "
                            f"[{vae.latent_size}, {vae.latent_dim}]; it belongs to another model")
        rows.append(GenerationPath(f"LEAD ({folder.name})", projector, str(folder.resolve())))
    names = [row.name for row in rows]
    if not rows:
        raise LeadError("nothing to evaluate: choose --paths mld and/or lead, or --ablation")
    if len(set(names)) != len(names):
        raise LeadError(f"duplicate rows {names}: give each ablation once")
    return rows


def open_split(data: str | Path, settings: T2MEvalSettings, evaluator, evaluator_info: dict, pipeline):
    """The split as raw features (the evaluator normalises), with the dimension checks that matter."""
    from lead.data.humanml3d import DEFAULT_MIN_LENGTH, MotionDataset, feature_dim

    skeleton = pipeline.config.skeleton
    dims = {"evaluator": evaluator.config.dim_pose, "model": pipeline.vae.config.feature_dim,
            "data": feature_dim(skeleton)}
    if dims["evaluator"] != dims["model"]:
        raise LeadError(
            f"the evaluator {evaluator_info['path']} expects {dims['evaluator']}-d features but the model makes "
            f"{dims['model']}-d ({skeleton}) motions: 263 is HumanML3D, 251 KIT; use an evaluator trained on "
            "the same kind of data (lead train evaluator --skeleton ...)")
    min_length = settings.min_length or evaluator_info.get("min_length") or DEFAULT_MIN_LENGTH.get(skeleton, 40)
    max_length = min(196, pipeline.vae.config.max_length, evaluator.config.max_motion_length) // 4 * 4
    dataset = MotionDataset(data, settings.split, skeleton=skeleton, min_length=int(min_length),
                            max_length=max_length, normalizer=_Identity(), seed=settings.seed)
    if len(dataset) < 3:
        raise LeadError(f"{data} split {settings.split!r} has {len(dataset)} usable items; the metrics need "
                        "at least 3 (published numbers: the full test split)")
    return dataset


def effective_sizes(items: int, settings: T2MEvalSettings, embedding_dim: int) -> dict:
    """Group size, diversity pairs and MModality subset clipped to what `items` allows; whether FID is
    defined (more items than embedding dimensions, else the covariances are singular)."""
    if settings.mm_texts > 0 and settings.mm_generations < 2:
        raise LeadError("--mm-generations must be at least 2 (pairs of generations of one text)")
    return {"items": items, "group_size": min(settings.group_size, items),
            "diversity_pairs": min(settings.diversity_pairs, items - 1),
            "mm_texts": min(settings.mm_texts, items),
            "mm_pairs": min(settings.mm_pairs, max(settings.mm_generations - 1, 1)),
            "fid": items > embedding_dim}


# --- one replication ------------------------------------------------------------------------------------
def noise_seeds(seed: int, stream: int, count: int) -> list[int]:
    return [(seed * 2 + stream) * _STREAM + index for index in range(count)]


def draw_split(dataset, evaluator, epoch: int, batch_size: int) -> dict:
    """Epoch `epoch`'s crops and captions → captions, lengths [N], text [N, C] and motion [N, C] embeddings."""
    from lead.data.humanml3d import collate_motions
    from lead.evaluation.word_vectorizer import tokenize_caption

    dataset.set_epoch(epoch)
    items = [dataset[index] for index in range(len(dataset))]
    texts, motions = [], []
    for start in range(0, len(items), batch_size):
        batch = collate_motions(items[start : start + batch_size])
        motions.append(evaluator.embed_motions(batch["features"], batch["lengths"]).cpu().numpy())
        tokens = [t or tokenize_caption(c) for t, c in zip(batch["tokens"], batch["captions"])]
        texts.append(evaluator.embed_texts(*evaluator.text_inputs(tokens)).cpu().numpy())
    return {"captions": [item["caption"] for item in items],
            "lengths": [int(item["length"]) for item in items],
            "features": [item["features"][: int(item["length"])].numpy() for item in items],
            "text": np.concatenate(texts), "motion": np.concatenate(motions)}


def generate_embeddings(pipeline, evaluator, captions: list[str], lengths: list[int], seeds: list[int],
                        paths: list[GenerationPath], settings: T2MEvalSettings, desc: str = "generate",
                        joints: dict | None = None) -> dict:
    """One generation per caption at its length, decoded by every path from the same latents → {row: [N, C]}.
    With a `joints` dict, each row's joint positions `(T, J, 3)` are appended to `joints[row]` too."""
    import torch
    from tqdm import tqdm

    from lead.motion.features import features_to_joints

    out: dict[str, list[np.ndarray]] = {path.name: [] for path in paths}
    default_steps = settings.steps if isinstance(settings.steps, int) else settings.steps[0]
    groups: dict[int, dict] = {}
    for path in paths:  # one sampling per step count, decoded by each of its rows
        groups.setdefault(path.steps or default_steps, {})[path.name] = path.projector
    batches = lambda starts: tqdm(starts, desc=desc, unit="batch", leave=False)  # noqa: E731
    for steps, projectors in groups.items():
        for rows, decoded, _ in pipeline.generate_batches(
            captions, lengths, seeds, projectors, settings.batch_size, num_inference_steps=steps,
            guidance_scale=settings.guidance, sampler=settings.sampler, batches=batches,
        ):
            for name, normalised in decoded.items():
                raw = pipeline.normalizer.denormalize(normalised)
                out[name].append(evaluator.embed_motions(raw, torch.as_tensor(lengths[rows]),
                                                         pad_to_max=settings.padding == "t2m").cpu().numpy())
                if joints is not None:
                    for row, length in zip(raw, lengths[rows]):
                        joints.setdefault(name, []).append(
                            np.asarray(features_to_joints(row[:length].cpu().numpy(), pipeline.config.skeleton)))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _fid(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.linalg import LinAlgWarning

    from lead.evaluation.metrics import fid

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LinAlgWarning)  # fewer items than dimensions: singular
            value = fid(a, b)
    except ValueError:  # a complex square root: too few items for this embedding width
        return None
    return value if np.isfinite(value) else None


def score(text: np.ndarray, motion: np.ndarray, reference: np.ndarray, sizes: dict, seed: int) -> dict:
    """Pairs (text i, motion i) [N, C] against `reference` motions [M, C] → the row's metrics."""
    from lead.evaluation import metrics

    top, mm_dist = metrics.matching_metrics(text, motion, 3, sizes["group_size"], seed)
    fid = _fid(motion, reference) if sizes["fid"] else None
    return {"fid": fid, "r_precision": [float(v) for v in top], "mm_dist": float(mm_dist),
            "diversity": metrics.diversity(motion, sizes["diversity_pairs"], seed), "multimodality": None}


def run_replication(pipeline, evaluator, dataset, paths: list[GenerationPath], settings: T2MEvalSettings,
                    replication: int, sizes: dict) -> dict:
    """All rows of replication `replication` (raw values, JSON-ready)."""
    from lead.evaluation import metrics

    seed, began = settings.seed + replication, time.perf_counter()
    draw = draw_split(dataset, evaluator, 2 * replication, settings.batch_size)
    other = draw_split(dataset, evaluator, 2 * replication + 1, settings.batch_size)
    rows = {REAL: score(draw["text"], draw["motion"], other["motion"], sizes, seed)}
    joints: dict | None = None
    if replication == 0:  # motion quality (lead.evaluation.motion_quality) on the first replication
        from lead.motion.features import features_to_joints

        joints = {REAL: [np.asarray(features_to_joints(f, pipeline.config.skeleton)) for f in draw["features"]]}
    generated = generate_embeddings(pipeline, evaluator, draw["captions"], draw["lengths"],
                                    noise_seeds(seed, 0, len(draw["captions"])), paths, settings,
                                    f"replication {replication}", joints)
    for path in paths:
        rows[path.name] = score(draw["text"], generated[path.name], draw["motion"], sizes, seed)
    mm_limit = settings.replications if settings.mm_replications is None else settings.mm_replications
    if sizes["mm_texts"] > 0 and replication < mm_limit:
        chosen = np.random.default_rng(seed).choice(len(draw["captions"]), sizes["mm_texts"], replace=False)
        count = settings.mm_generations
        captions = [draw["captions"][i] for i in chosen for _ in range(count)]
        lengths = [draw["lengths"][i] for i in chosen for _ in range(count)]
        multi = generate_embeddings(pipeline, evaluator, captions, lengths, noise_seeds(seed, 1, len(captions)),
                                    paths, settings, f"multimodality {replication}")
        for name, embeddings in multi.items():
            embeddings = embeddings.reshape(len(chosen), count, -1)
            rows[name]["multimodality"] = metrics.multimodality(embeddings, sizes["mm_pairs"], seed)
    result = {"replication": replication, "seed": seed, "rows": rows,
              "wall_s": round(time.perf_counter() - began, 2)}
    if joints is not None:
        from lead.evaluation.motion_quality import summarize as motion_summary

        result["motion"] = {name: {key: vars(value) for key, value in motion_summary(rows_, draw["captions"]).items()}
                            for name, rows_ in joints.items()}
    return result


# --- the whole protocol -------------------------------------------------------------------------------------
def summarize(replications: list[dict], rows: list[str]) -> dict:
    """{row: {metric: {"mean", "conf95", "n"} or None}} over the replications that have the metric."""
    from lead.evaluation.metrics import mean_and_confidence

    summary: dict[str, dict] = {}
    for row in rows:
        summary[row] = {}
        for metric in METRICS:
            values = [rep["rows"][row][metric] for rep in replications if rep["rows"][row][metric] is not None]
            if not values:
                summary[row][metric] = None
                continue
            mean, conf = mean_and_confidence(np.asarray(values, dtype=np.float64))
            summary[row][metric] = {"mean": mean.tolist(), "conf95": conf.tolist(), "n": len(values)}
    return summary


def _previous_run(out: Path, header: dict, resume: bool) -> list[dict]:
    partial, final = out / PARTIAL_NAME, out / f"{REPORT_STEM}.json"
    if not resume:
        if partial.is_file():
            raise LeadError(f"{partial} holds an unfinished run: pass --resume to continue it, or delete it "
                            "to start over")
        return []
    source = partial if partial.is_file() else final if final.is_file() else None
    if source is None:
        print(f"--resume: nothing to resume in {out}; starting from replication 0")
        return []
    try:
        previous = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LeadError(f"{source} is not valid JSON ({error}); delete it to start over") from error
    if previous.get("protocol") != PROTOCOL:
        raise LeadError(f"{source} is not a {PROTOCOL} file")
    old, new = previous.get("identity", {}), header["identity"]
    differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    if differing:
        raise LeadError(f"--resume: {source} was run with other {', '.join(differing)}; use the same "
                        "options (only --replications/--mm-replications may change) or another --out")
    print(f"--resume: {len(previous.get('replications', []))} replications read from {source}")
    return list(previous.get("replications", []))


def run_t2m(pipeline, evaluator, evaluator_info: dict, data: str | Path, out: str | Path,
            paths: list[GenerationPath], settings: T2MEvalSettings, resume: bool = False) -> dict:
    """Run (or continue) the protocol; writes OUT/t2m.partial.json after every replication and finally
    OUT/t2m.json + OUT/t2m.md (atomically, the partial file removed). Returns the report."""
    from tqdm import tqdm

    from lead.evaluation.report import t2m_markdown, write_report
    from lead.io import save_json

    if settings.replications < 1:
        raise LeadError(f"--replications must be at least 1, got {settings.replications}")
    out = Path(out)
    dataset = open_split(data, settings, evaluator, evaluator_info, pipeline)
    sizes = effective_sizes(len(dataset), settings, evaluator.config.dim_coemb_hidden)
    rows = [REAL, *(path.name for path in paths)]
    decoding = {"smoothing": pipeline.config.smoothing, "foot_cleanup": pipeline.config.foot_cleanup}
    header = {
        "protocol": PROTOCOL, "version": VERSION, "settings": dataclasses.asdict(settings),
        "resolved": {"min_length": dataset.min_length, "max_length": dataset.max_length},
        "sizes": sizes, "rows": rows,
        "model": {**pipeline.identity, "latent_scale": pipeline.config.latent_scale},
        "decoding": decoding,
        "evaluator": evaluator_info, "data": {"path": str(Path(data).resolve()), "split": settings.split},
        "paths": {path.name: path.source for path in paths},
        "identity": {"settings": settings.identity(), "rows": rows, "model": pipeline.identity.get("sha256"),
                     "decoding": decoding,
                     "evaluator": evaluator_info["digest"], "data": str(Path(data).resolve()),
                     "min_length": dataset.min_length, "items": len(dataset)},
    }
    done = {rep["replication"]: rep for rep in _previous_run(out, header, resume)}
    if len(done) > settings.replications:
        raise LeadError(f"--resume: {out} already holds {len(done)} replications; ask for at least that many "
                        "(--replications) or use another --out")
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with tqdm(total=settings.replications, initial=len(done), desc="replications", unit="rep") as bar:
        for replication in range(settings.replications):
            if replication in done:
                continue
            done[replication] = run_replication(pipeline, evaluator, dataset, paths, settings, replication, sizes)
            save_json(out / PARTIAL_NAME, {**header, "replications": [done[r] for r in sorted(done)]})
            bar.update(1)
    replications = [done[r] for r in sorted(done)]
    report = {**header, "replications": replications, "summary": summarize(replications, rows),
              "wall_s_this_run": round(time.perf_counter() - began, 1)}
    write_report(out, REPORT_STEM, report, t2m_markdown(report))
    (out / PARTIAL_NAME).unlink(missing_ok=True)
    return report
