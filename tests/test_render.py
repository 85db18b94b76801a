"""Stick-figure videos of the real HumanML3D sample: mp4/gif output, grids, errors, `lead render`."""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image, ImageSequence

from lead.cli import main
from lead.commands.render import default_title, load_motion
from lead.errors import LeadError
from lead.render.plot import render_grid, render_motion

FIXTURES = Path(__file__).parent / "fixtures" / "humanml3d-reference"
JOINTS = FIXTURES / "new_joints" / "012314.npy"
FEATURES = FIXTURES / "new_joint_vecs" / "012314.npy"


@pytest.fixture(scope="module")
def joints() -> np.ndarray:
    return np.load(JOINTS)


def mp4_frames(path: Path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return meta, [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]


def gif_frames(path: Path) -> tuple[Image.Image, list[np.ndarray]]:
    image = Image.open(path)
    return image, [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]


def test_mp4_of_the_real_sample_has_every_frame_and_moves(tmp_path, joints):
    out = render_motion(joints, tmp_path / "sample.mp4", title="HumanML3D 012314")
    assert out == tmp_path / "sample.mp4"
    assert out.stat().st_size > 20_000
    meta, frames = mp4_frames(out)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == pytest.approx(20.0)
    assert len(frames) == len(joints) == 170
    assert frames[0].shape == (512, 480, 3)
    # the body walks away and back: first, middle and last pictures all differ clearly
    assert np.abs(frames[0].astype(int) - frames[85]).mean() > 1.0
    assert np.abs(frames[85].astype(int) - frames[-1]).mean() > 1.0
    # a mostly light picture (floor, background) with dark strokes: not blank, not garbage
    assert 150 < frames[0].mean() < 250 and frames[0].min() < 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.mp4"]  # no temp file left behind


def test_gif_frame_count_timing_and_motion(tmp_path, joints):
    out = render_motion(joints[:30], tmp_path / "sample.gif", title="a person walks", fps=20)
    image, frames = gif_frames(out)
    assert image.n_frames == 30 and len(frames) == 30
    assert image.info["duration"] == 50 and image.info["loop"] == 0
    assert frames[0].shape == (512, 480, 3)
    differences = [np.abs(frames[t].astype(int) - frames[t + 10]).mean() for t in (0, 10, 19)]
    assert min(differences) > 0.3


def test_grid_holds_the_shorter_motion_at_its_last_frame(tmp_path, joints):
    out = render_grid([joints[:30], joints[60:75]], tmp_path / "grid.gif", titles=["thirty", "fifteen"])
    image, frames = gif_frames(out)
    assert image.n_frames == 30
    assert frames[0].shape == (512, 960, 3)
    left, right = (slice(None), slice(0, 480)), (slice(None), slice(480, 960))
    # after frame 15 the right panel (motion of 15 frames) is frozen, the left one still moves
    assert np.array_equal(frames[20][right], frames[29][right])
    assert np.abs(frames[20][left].astype(int) - frames[29][left]).mean() > 0.3
    assert not np.array_equal(frames[5][right], frames[14][right])


def test_millimetre_joints_render_like_metres(tmp_path, joints):
    kit_like = joints[:8, :21]  # 21 joints: the KIT layout; only the scale matters here
    render_motion(kit_like, tmp_path / "metres.gif", skeleton="kit")
    render_motion(kit_like * 1000.0, tmp_path / "millimetres.gif", skeleton="auto")
    _, metres = gif_frames(tmp_path / "metres.gif")
    _, millimetres = gif_frames(tmp_path / "millimetres.gif")
    assert len(metres) == len(millimetres) == 8
    assert np.abs(metres[4].astype(int) - millimetres[4]).mean() < 0.5


@pytest.mark.parametrize(
    ("motion", "path", "skeleton", "message"),
    [
        (np.zeros((10, 22, 3)), "x.avi", "humanml3d", "use .mp4 or .gif"),
        (np.zeros((10, 5, 3)), "x.mp4", "auto", "22 (humanml3d) or 21 (kit)"),
        (np.zeros((10, 21, 3)), "x.mp4", "humanml3d", "has 22 joints, this one has 21"),
        (np.zeros((10, 66)), "x.gif", "humanml3d", "(T, J, 3)"),
        (np.full((10, 22, 3), np.nan), "x.gif", "humanml3d", "NaN"),
        (np.zeros((10, 22, 3)), "x.gif", "smplx", "unknown skeleton"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(tmp_path, motion, path, skeleton, message):
    with pytest.raises(LeadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_motion(motion, tmp_path / path, skeleton=skeleton)
    assert list(tmp_path.iterdir()) == []


def test_grid_needs_one_title_per_motion(tmp_path, joints):
    with pytest.raises(LeadError, match="2 motions but 1 titles"):
        render_grid([joints[:5], joints[:5]], tmp_path / "g.mp4", titles=["only one"])


def test_load_motion_recovers_joints_from_features():
    from_features, name = load_motion(FEATURES)
    from_joints, joints_name = load_motion(JOINTS)
    assert name == joints_name == "humanml3d"
    assert from_features.shape == from_joints.shape == (170, 22, 3)
    assert np.abs(from_features - from_joints).max() < 1e-4


def test_default_title_from_texts_folder_and_manifest(tmp_path):
    (tmp_path / "new_joints").mkdir()
    (tmp_path / "texts").mkdir()
    motion = tmp_path / "new_joints" / "012314.npy"
    np.save(motion, np.load(JOINTS)[:5])
    (tmp_path / "texts" / "012314.txt").write_text("a man walks in a circle#a/DET man/NOUN#0.0#0.0\nother\n")
    assert default_title(motion) == "a man walks in a circle"
    generated = tmp_path / "out"
    generated.mkdir()
    np.save(generated / "000_walk.npy", np.load(FEATURES)[:5])
    manifest = {"settings": {"use_projector": True},
                "samples": [{"text": "a person walks", "seed": 3, "files": {"features": "000_walk.npy"}}]}
    (generated / "samples.json").write_text(json.dumps(manifest))
    assert default_title(generated / "000_walk.npy") == "a person walks  [LEAD, seed 3]"
    assert default_title(tmp_path / "elsewhere.npy") == "elsewhere.npy"


def test_cli_renders_a_grid_of_features_and_joints(tmp_path, capsys):
    np.save(tmp_path / "features.npy", np.load(FEATURES)[:24])
    np.save(tmp_path / "joints.npy", np.load(JOINTS)[:12])
    out = tmp_path / "both.mp4"
    code = main(["render", str(tmp_path / "features.npy"), str(tmp_path / "joints.npy"), "--grid",
                 "--out", str(out), "--title", "from features", "--title", "from joints"])
    assert code == 0 and "both.mp4" in capsys.readouterr().out
    meta, frames = mp4_frames(out)
    assert len(frames) == 24 and meta["size"] == (960, 512)


def test_cli_one_video_per_file_beside_the_input(tmp_path):
    np.save(tmp_path / "a.npy", np.load(JOINTS)[:6])
    np.save(tmp_path / "b.npy", np.load(JOINTS)[6:16])
    assert main(["render", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--format", "gif"]) == 0
    assert Image.open(tmp_path / "a.gif").n_frames == 6
    assert Image.open(tmp_path / "b.gif").n_frames == 10


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (np.zeros((10, 7)), [], "accepted shapes: (T, 263)"),
        (None, [], "not a .npy file"),
        (np.zeros((10, 22, 3)), ["--out", "x.avi"], "unsupported video format '.avi'"),
        (np.zeros((10, 22, 3)), ["--grid"], "--grid needs --out"),
        (np.zeros((10, 22, 3)), ["--title", "a", "--title", "b"], "1 file(s) but 2 --title"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, content, extra, message):
    path = tmp_path / "motion.npy"
    if content is None:
        path.write_bytes(b"not numpy at all")
    else:
        np.save(path, content)
    assert main(["render", str(path), *extra]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not list(tmp_path.glob("*.mp4"))


def test_a_long_render_shows_progress_and_a_short_one_does_not(tmp_path, joints, capsys):
    from lead.render.plot import LONG_RENDER

    long = np.concatenate([joints] * (LONG_RENDER // len(joints) + 1))
    render_motion(long, tmp_path / "long.mp4")
    assert "rendering" in capsys.readouterr().err  # a tqdm bar with rate and time left, on stderr
    render_motion(joints[:40], tmp_path / "short.mp4")
    assert "rendering" not in capsys.readouterr().err
