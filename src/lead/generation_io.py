"""Write generated samples: features, joints, video, BVH and one samples.json manifest."""

from __future__ import annotations

import re
from pathlib import Path

from lead import __version__
from lead.io import save_json, save_npy


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "motion"


def write_samples(out: Path, output, pipeline, video: str = "mp4", bvh: bool = True) -> Path:
    """Write every sample of `output` (a `MotionOutput`) under `out`; return the manifest path.

    The manifest is written last, so a folder with a samples.json holds complete samples.
    """
    from tqdm import tqdm

    entries = []
    for index, (text, length, seed, features, joints) in enumerate(
        tqdm(list(zip(output.texts, output.lengths, output.seeds, output.features, output.joints)),
             desc="writing", unit="motion", leave=False)
    ):
        name = f"{index:03d}_{_slug(text)}"
        files = {"features": f"{name}.npy", "joints": f"{name}_joints.npy"}
        save_npy(out / files["features"], features)
        save_npy(out / files["joints"], joints)
        if video != "none":
            from lead.render.plot import render_motion

            files["video"] = f"{name}.{video}"
            title = f"{text}  [{'LEAD' if output.settings['use_projector'] else 'MLD'}, seed {seed}]"
            render_motion(joints, out / files["video"], title=title, skeleton=pipeline.config.skeleton)
        if bvh:
            from lead.render.export import write_humanml3d_bvh

            files["bvh"] = f"{name}.bvh"
            write_humanml3d_bvh(out / files["bvh"], features, skeleton=pipeline.config.skeleton)
        entries.append({"index": index, "text": text, "frames": length, "seconds": length / pipeline.config.fps,
                        "seed": seed, "files": files})
    manifest = out / "samples.json"
    save_json(manifest, {
        "lead_version": __version__,
        "model": {**pipeline.identity, "text_encoder": pipeline.text_encoder.identity},
        "settings": output.settings,
        "fps": pipeline.config.fps,
        "skeleton": pipeline.config.skeleton,
        "samples": entries,
    })
    return manifest
