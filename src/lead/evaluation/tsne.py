"""Fig. 2 (right) of the paper: t-SNE of the VAE latent space beside LEAD's realigned (projected) space.

Each clip of a split is encoded by the VAE (the posterior mean mu, `[S, D]`, flattened) and projected by
E_proj in the scaled space z (`LatentSpace.to_z`), exactly as `TextToMotionPipeline.decode` feeds the
projector. Points are coloured by action label: `labels.json` (Bandai-Namco: content or style) when the
data folder has it, else the first verb of the clip's first caption. Besides the picture, three numbers
say how well the labels cluster in each space: the silhouette score in the full space and in the 2-D
embedding (−1..1, higher = tighter, better separated clusters), and leave-one-out k-NN label accuracy in the
full space (next to the majority-class rate, its chance level). For the realigned space, caption retrieval
says whether it is structured by the text: each clip's projected summary (what L_align compares) is matched
by cosine against the text embeddings of every distinct caption of the split; top-k counts a clip when one of
its own captions is among the k nearest (chance: about k over the number of distinct captions).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from lead.errors import LeadError

MAX_LEGEND = 12  # more labels than this share one grey "other" colour


def clip_labels(root: str | Path, records: list, label: str = "content") -> tuple[list[str], str]:
    """One label per record, and where the labels came from ('labels.json:<field>' or 'first verb')."""
    labels_path = Path(root) / "labels.json"
    if labels_path.is_file():
        from lead.io import read_json

        table = read_json(labels_path, "label table")
        if not isinstance(table, dict) or not all(isinstance(entry, dict) for entry in table.values()):
            raise LeadError(f"{labels_path}: expected a JSON object of clip id -> {{\"{label}\": ...}}")
        missing = [r.clip for r in records if r.clip not in table or label not in table[r.clip]]
        if missing:
            raise LeadError(f"{labels_path} has no {label!r} for clips such as {missing[0]}; "
                            "use --label content or style")
        return [str(table[r.clip][label]) for r in records], f"labels.json:{label}"
    from lead.evaluation.word_vectorizer import tokenize_caption

    out = []
    for record in records:
        caption = record.captions[0]
        tokens = list(caption.tokens) or tokenize_caption(caption.text)
        verbs = [t.rsplit("/", 1)[0] for t in tokens if t.endswith("/VERB")]
        out.append(verbs[0] if verbs else "other")
    return out, "first verb of the caption"


def latent_codes(pipeline, root: str | Path, records: list, batch_size: int = 64,
                 projector=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Records → (VAE mu [N, S·D], projected E_proj(z) [N, S·D_text], the projector's summary for L_align
    [N, D_text]; z = mu in the scaled space). `projector` defaults to the model's."""
    import torch

    from lead.data.humanml3d import normalised_batch

    projector = projector if projector is not None else pipeline.projector
    if projector is None:
        raise LeadError("this model has no projector/ component: the realigned space needs one "
                        "(train it with `lead train projector`)")
    max_length = pipeline.vae.config.max_length
    mus, projected, summaries = [], [], []
    for start in range(0, len(records), batch_size):
        motions = [np.load(Path(root) / "new_joint_vecs" / f"{record.clip}.npy")[record.start : record.end]
                   for record in records[start : start + batch_size]]
        batch, lengths = normalised_batch(pipeline.normalizer, motions, max_length)
        with torch.no_grad():
            mu, _ = pipeline.latent_space.posterior(batch, lengths)
            z_proj = projector.encode(pipeline.latent_space.to_z(mu))
            summary = projector.summary(z_proj)
        mus.append(mu.flatten(1).numpy())
        projected.append(z_proj.flatten(1).numpy())
        summaries.append((summary.mean(1) if summary.dim() == 3 else summary).numpy())
    return np.concatenate(mus), np.concatenate(projected), np.concatenate(summaries)


def caption_retrieval(pipeline, records: list, summaries: np.ndarray, ks: tuple[int, ...] = (1, 3)) -> dict:
    """Top-k caption retrieval from the projected summaries [N, D_text] among the split's distinct captions."""
    captions = sorted({caption.text for record in records for caption in record.captions})
    text = pipeline.text_encoder.encode_pooled(captions).detach().cpu().numpy()
    text = text / np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-8)
    points = summaries / np.maximum(np.linalg.norm(summaries, axis=1, keepdims=True), 1e-8)
    ranking = np.argsort(-(points @ text.T), axis=1)
    index = {caption: i for i, caption in enumerate(captions)}
    own = [{index[c.text] for c in record.captions} for record in records]
    scores = {f"top{k}": float(np.mean([bool(own[row] & set(ranking[row, :k].tolist()))
                                         for row in range(len(records))])) for k in ks}
    return {**scores, "captions": len(captions)}


def label_scores(points: np.ndarray, labels: list[str], k: int = 5) -> dict:
    """Silhouette (euclidean) and leave-one-out k-NN accuracy of `labels` among `points` [N, D]."""
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import NearestNeighbors

    labels_array = np.asarray(labels)
    classes = len(set(labels))
    silhouette = float(silhouette_score(points, labels_array)) if 2 <= classes < len(labels) else None
    k = min(k, len(labels) - 1)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)
    hits = 0
    for row, index in enumerate(neighbours):
        others = [i for i in index if i != row][:k]
        votes = Counter(labels_array[others]).most_common()
        best = max(count for _, count in votes)
        # ties go to the label of the nearest neighbour among the tied ones
        winner = next(labels_array[i] for i in others if dict(votes)[labels_array[i]] == best)
        hits += winner == labels_array[row]
    return {"silhouette": silhouette, "knn_accuracy": hits / len(labels), "k": k}


def _embed_2d(points: np.ndarray, seed: int, perplexity: float) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, max(1.0, (len(points) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)


def plot_panels(panels: list[tuple[str, np.ndarray]], labels: list[str], path: str | os.PathLike,
                title: str = "") -> None:
    """Side-by-side scatter plots [N, 2] coloured by label with one legend; PNG written atomically."""
    from matplotlib.figure import Figure

    from lead.io import atomic_path

    ranked = [name for name, _ in Counter(labels).most_common()]
    shown = ranked if len(ranked) <= MAX_LEGEND else ranked[: MAX_LEGEND - 1]
    extra = ("#000000", "#e6ab02")  # beyond the ten default colours; grey stays for "other"
    colours = {name: f"C{i}" if i < 10 else extra[i - 10] for i, name in enumerate(shown)}
    grouped = [name if name in colours else "other" for name in labels]
    figure = Figure(figsize=(6 * len(panels) + 2.5, 6), layout="constrained")
    axes = figure.subplots(1, len(panels))
    for axis, (name, points) in zip(np.atleast_1d(axes), panels):
        for label in [*shown, "other"]:
            mask = np.array([g == label for g in grouped])
            if mask.any():
                axis.scatter(points[mask, 0], points[mask, 1], s=10, alpha=0.8, label=label,
                             color=colours.get(label, "#bbbbbb"))
        axis.set_title(name, fontsize=11)
        axis.set_xticks([])
        axis.set_yticks([])
    handles, names = np.atleast_1d(axes)[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside right center", fontsize=9, markerscale=2)
    if title:
        figure.suptitle(title)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=130)


def run_tsne(pipeline, data: str | Path, out_png: str | Path, split: str = "test", max_clips: int = 500,
             label: str = "content", min_length: int = 16, seed: int = 0, perplexity: float = 30.0,
             projector=None) -> dict:
    """Encode up to `max_clips` clips of `split`, write the two-panel t-SNE PNG and OUT.json beside it with
    the label-clustering scores; return that summary."""
    from lead.data.humanml3d import load_records
    from lead.io import save_json

    out_png = Path(out_png)
    if out_png.suffix.lower() != ".png":
        raise LeadError(f"--out {out_png}: give a .png path")
    records = load_records(data, split, min_length=min_length, max_length=pipeline.vae.config.max_length)
    if len(records) < 5:
        raise LeadError(f"{data} split {split!r} has {len(records)} clips of at least {min_length} frames; "
                        "t-SNE needs at least 5")
    if len(records) > max_clips:
        chosen = np.sort(np.random.default_rng(seed).choice(len(records), max_clips, replace=False))
        records = [records[i] for i in chosen]
    labels, source = clip_labels(data, records, label)
    vae_codes, projected_codes, summaries = latent_codes(pipeline, data, records, projector=projector)
    spaces = {"vae": vae_codes, "projected": projected_codes}
    summary = {"data": str(Path(data).resolve()), "split": split, "clips": len(records), "labels": source,
               "label_counts": dict(Counter(labels).most_common()), "seed": seed, "model": pipeline.identity,
               "latent_scale": pipeline.config.latent_scale, "png": str(out_png.resolve()), "spaces": {}}
    retrieval = summary["caption_retrieval"] = caption_retrieval(pipeline, records, summaries)
    panels = []
    titles = {"vae": "VAE latent space (mu)", "projected": "realigned space E_proj(z)"}
    for name, codes in spaces.items():
        points = _embed_2d(codes, seed, perplexity)
        full, flat = label_scores(codes, labels), label_scores(points, labels)
        summary["spaces"][name] = {"dim": int(codes.shape[1]), "silhouette": full["silhouette"],
                                   "silhouette_tsne": flat["silhouette"], "knn_accuracy": full["knn_accuracy"],
                                   "knn_k": full["k"]}
        sil = full["silhouette"]
        title = (f"{titles[name]}\nsilhouette {sil:.3f}, {full['k']}-NN acc {full['knn_accuracy']:.2f}"
                 if sil is not None else titles[name])
        if name == "projected":
            title += f", caption top-1/3 {retrieval['top1']:.2f}/{retrieval['top3']:.2f}"
        panels.append((title, points))
    summary["majority_rate"] = max(Counter(labels).values()) / len(labels)
    plot_panels(panels, labels, out_png, f"t-SNE of {len(records)} {split} clips, coloured by {source}")
    save_json(out_png.with_suffix(".json"), summary)
    return summary
