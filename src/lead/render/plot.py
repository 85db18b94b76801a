"""Stick-figure videos of motions: one clip (`render_motion`) or several side by side (`render_grid`).

Everything static (floor, full root path, titles, legend) is drawn once; each frame restores that
background and redraws only the bones, the travelled path and the frame counter (blitting), which
keeps a 196-frame clip at a few seconds on one core. Rendering uses the Agg canvas directly, so no
display and no pyplot state are involved.
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox, TransformedBbox
from mpl_toolkits.mplot3d import proj3d
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from lead.errors import LeadError
from lead.io import atomic_path

FORMATS = (".mp4", ".gif")

# Pixel size of one panel; multiples of 16 so H.264 needs no rescaling.
_PANEL_WIDTH, _PANEL_HEIGHT, _DPI = 480, 512, 100

TRAIL_FRAMES = 400  # the drawn root path: the last 20 s at 20 fps (all of any generated motion)
LONG_RENDER = 400  # frames (20 s at 20 fps): longer renders show a progress bar with an estimate

_SIDE_COLOURS = {
    ("left", "leg"): "#1f5fbf",
    ("left", "arm"): "#4fa3e0",
    ("right", "leg"): "#c62828",
    ("right", "arm"): "#f0803c",
    ("centre", "spine"): "#303030",
}
_LEFT_COLOUR, _RIGHT_COLOUR = _SIDE_COLOURS[("left", "leg")], _SIDE_COLOURS[("right", "leg")]
_TRAIL_COLOUR = "#7a4fb0"
_ELEVATION, _AZIMUTH_OFFSET = 22.0, 35.0  # camera: slightly above, three-quarter view of the first pose


@dataclass(frozen=True)
class _Bones:
    """What the renderer needs of a skeleton: chains with their side and the face joints.

    `face_joints` = (right hip, left hip, right shoulder, left shoulder), as in HumanML3D.
    """

    name: str
    joint_count: int
    chains: tuple[tuple[int, ...], ...]
    kinds: tuple[tuple[str, str], ...]  # per chain: (side, limb) -> a colour of _SIDE_COLOURS
    face_joints: tuple[int, int, int, int]


# "auto": the joint count tells the skeleton
_SKELETON_BY_JOINT_COUNT = {22: "humanml3d", 21: "kit"}


@functools.cache
def _bones_of(name: str) -> _Bones:
    from lead.motion.skeleton import get_skeleton

    skeleton = get_skeleton(name)
    root = skeleton.parents.index(-1)
    kinds = []
    for chain in skeleton.kinematic_chain:
        names = [skeleton.joint_names[joint] for joint in chain[1:]]
        lefts = sum(joint.startswith("left") for joint in names)
        rights = sum(joint.startswith("right") for joint in names)
        side = "left" if lefts > rights else "right" if rights > lefts else "centre"
        # limbs hanging from the root are legs, the others arms
        limb = "spine" if side == "centre" else "leg" if chain[0] == root else "arm"
        kinds.append((side, limb))
    return _Bones(skeleton.name, skeleton.num_joints, tuple(map(tuple, skeleton.kinematic_chain)),
                  tuple(kinds), tuple(skeleton.face_joints))


def _bones_for(skeleton: str, joint_count: int) -> _Bones:
    if skeleton == "auto":
        if joint_count not in _SKELETON_BY_JOINT_COUNT:
            raise LeadError(
                f"cannot tell the skeleton of a motion with {joint_count} joints: "
                "expected 22 (humanml3d) or 21 (kit); pass skeleton='humanml3d' or 'kit'"
            )
        skeleton = _SKELETON_BY_JOINT_COUNT[joint_count]
    bones = _bones_of(skeleton)
    if bones.joint_count != joint_count:
        raise LeadError(
            f"a {bones.name} motion has {bones.joint_count} joints, this one has {joint_count}: "
            "pass the right skeleton (or 'auto')"
        )
    return bones


def _prepare(joints: Any, skeleton: str, index: int) -> tuple[np.ndarray, _Bones]:
    """Validate `[T, J, 3]` joints (Y up), convert millimetres to metres, map to plot axes.

    Returns `[T, J, 3]` float64 in plot coordinates (a, b, up) = (z, x, y): a cyclic permutation,
    so left stays left (a plain y/z swap would mirror the figure).
    """
    if hasattr(joints, "detach"):
        joints = joints.detach().cpu().numpy()
    array = np.asarray(joints, dtype=np.float64)
    if array.ndim != 3 or array.shape[-1] != 3 or array.shape[0] < 1:
        raise LeadError(f"motion {index}: expected joints of shape (T, J, 3) with T >= 1, got {array.shape}")
    if not np.isfinite(array).all():
        raise LeadError(f"motion {index}: joints contain NaN or infinite values")
    bones = _bones_for(skeleton, array.shape[1])
    body_height = float((array[..., 1].max(axis=1) - array[..., 1].min(axis=1)).max())
    if body_height > 100.0:  # KIT-ML reference joints are in millimetres
        array = array / 1000.0
    return array[..., [2, 0, 1]], bones


def _facing_azimuth(points: np.ndarray, bones: _Bones) -> float:
    """Azimuth (degrees, plot frame) the first pose faces, from the hips and shoulders."""
    right_hip, left_hip, right_shoulder, left_shoulder = bones.face_joints
    first = points[0]
    across = first[right_hip] - first[left_hip] + first[right_shoulder] - first[left_shoulder]
    # forward = up x across; in plot coordinates up is the third axis.
    forward = np.array([-across[1], across[0]])
    if np.linalg.norm(forward) < 1e-8:
        return 0.0
    return math.degrees(math.atan2(forward[1], forward[0]))


def _camera_azimuth(points: np.ndarray, bones: _Bones) -> float:
    """Camera azimuth (degrees): a three-quarter view of the first pose's front.

    When the root travels far, the travel is put on a screen diagonal instead (the 45-degree view
    nearest to that front view): a long walk straight across the picture would shrink the body.
    """
    front = _facing_azimuth(points, bones) + _AZIMUTH_OFFSET
    travel = points[:, 0, :2] - points[:, 0, :2].mean(axis=0)
    if np.abs(travel).max() < 0.5:
        return front
    direction = np.linalg.svd(travel, full_matrices=False)[2][0]
    along = math.degrees(math.atan2(direction[1], direction[0]))
    candidates = [along + offset for offset in (45.0, -45.0, 135.0, -135.0)]
    return min(candidates, key=lambda azimuth: abs((azimuth - front + 180.0) % 360.0 - 180.0))


class _Panel:
    """One 3D axes showing one motion; owns the animated artists of that motion."""

    def __init__(self, figure: Figure, cell: tuple[float, float, float, float], points: np.ndarray,
                 bones: _Bones, title: str, fps: float) -> None:
        self.points, self.bones, self.fps = points, bones, fps
        x0, y0, width, height = cell
        wrapped = textwrap.wrap(title, width=52, max_lines=3, placeholder=" …") if title else []
        title_height = (0.02 + 0.037 * len(wrapped)) * height
        region = (x0, y0 + 0.06 * height, width, 0.94 * height - title_height)
        # computed_zorder off: the floor must stay under the path and the body whatever the view
        self.ax = figure.add_axes(region, projection="3d", computed_zorder=False)
        self.ax.set_axis_off()
        self.ax.patch.set_visible(False)
        # The floor reaches past the picture; clip everything to this panel's picture area so that
        # panels of a grid never paint over each other, the titles or the counters.
        self.clip = TransformedBbox(Bbox.from_bounds(*region), figure.transFigure)
        self.trail = self.ax.plot([], [], [], color=_TRAIL_COLOUR, linewidth=2.0, animated=True, zorder=2)[0]
        self.lines = [
            self.ax.plot([], [], [], color=_SIDE_COLOURS[kind], linewidth=3.2 if kind[1] == "spine" else 2.6,
                         marker="o", markersize=3.0, solid_capstyle="round", animated=True, zorder=3)[0]
            for kind in bones.kinds
        ]
        self._build_floor_and_path()
        for artist in [*self.ax.lines, *self.ax.collections]:
            artist.set_clip_path(None)
            artist.set_clip_box(self.clip)
        self.azimuth = _camera_azimuth(points, bones)
        self.ax.view_init(elev=_ELEVATION, azim=self.azimuth)
        inset = 0.03 * width
        self.fit_region = (region[0] + inset, region[1] + inset, region[2] - 2 * inset, region[3] - 2 * inset)
        self.fit_camera()
        elevation, azimuth = math.radians(_ELEVATION), math.radians(self.azimuth)
        self.towards_viewer = np.array(
            [math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
             math.sin(elevation)]
        )
        figure.text(x0 + width / 2, y0 + 0.985 * height, "\n".join(wrapped), ha="center", va="top",
                    fontsize=11, linespacing=1.25)
        figure.text(x0 + width - 0.02 * width, y0 + 0.02 * height, "left", color=_LEFT_COLOUR,
                    ha="right", va="bottom", fontsize=10, fontweight="bold")
        figure.text(x0 + width - 0.13 * width, y0 + 0.02 * height, "right", color=_RIGHT_COLOUR,
                    ha="right", va="bottom", fontsize=10, fontweight="bold")
        self.counter = figure.text(x0 + 0.02 * width, y0 + 0.02 * height, "", ha="left", va="bottom",
                                   fontsize=10, family="monospace", animated=True)

    def _build_floor_and_path(self) -> None:
        """Checkered floor at the lowest joint, under everything the body covers, and the root path."""
        points, ax = self.points, self.ax
        self.floor = float(points[..., 2].min())
        low, high = points[..., :2].min(axis=(0, 1)), points[..., :2].max(axis=(0, 1))
        centre, half = (low + high) / 2, (high - low) / 2 + 1.5
        tile = 0.5 if 2 * half.max() <= 10.0 else math.ceil(2 * half.max() / 20 / 0.5) * 0.5
        # tiles on a fixed world grid, so the floor does not shift between renders of one motion
        a_edges, b_edges = (
            tile * np.arange(np.floor((middle - extent) / tile), np.ceil((middle + extent) / tile) + 1)
            for middle, extent in zip(centre, half)
        )
        tiles, colours = [], []
        for a0, a1 in zip(a_edges[:-1], a_edges[1:]):
            for b0, b1 in zip(b_edges[:-1], b_edges[1:]):
                tiles.append([(a0, b0, self.floor), (a1, b0, self.floor), (a1, b1, self.floor),
                              (a0, b1, self.floor)])
                colours.append("#dcdcdc" if (round(a0 / tile) + round(b0 / tile)) % 2 else "#f3f3f3")
        ax.add_collection3d(Poly3DCollection(tiles, facecolors=colours, edgecolors="#cfcfcf", linewidths=0.4,
                                             zorder=0), autolim=False)
        root = points[:, 0]
        ax.plot(root[:, 0], root[:, 1], np.full(len(root), self.floor), color=_TRAIL_COLOUR, linewidth=1.0,
                alpha=0.5, linestyle="--", zorder=1)
        top = max(float(points[..., 2].max()), self.floor + 1.0)
        # a body standing still gets the room of a 1.6 m square, not a close-up
        room = np.maximum(high - low, 1.6) / 2
        ax.set_xlim(centre[0] - room[0], centre[0] + room[0])
        ax.set_ylim(centre[1] - room[1], centre[1] + room[1])
        ax.set_zlim(self.floor, top)
        limits = (ax.get_xlim(), ax.get_ylim(), ax.get_zlim())
        self.spans = tuple(float(high - low) for low, high in limits)
        # what the camera must show: every joint at every (sampled) frame, and the path on the floor;
        # the floor itself may run off the picture
        every = max(1, len(points) // 100)
        on_floor = np.column_stack([root[::every, :2], np.full(len(root[::every]), self.floor)])
        self.framed = np.concatenate([points[::every].reshape(-1, 3), on_floor])

    def fit_camera(self, zoom: float | None = None) -> None:
        """Zoom (fitted unless given) and move the axes so the motion fills the picture area.

        Matplotlib frames the whole 3D box with much air around it; fitting the projected joints
        makes the figure about twice as large on screen.
        """
        ax, figure_box = self.ax, self.ax.figure.bbox
        size = np.array([figure_box.width, figure_box.height])
        target = np.array(self.fit_region[2:]) * size

        def projected_box() -> tuple[np.ndarray, np.ndarray]:
            ax.apply_aspect()
            projected = proj3d.proj_transform(*self.framed.T, ax.get_proj())
            pixels = ax.transData.transform(np.column_stack(projected[:2]))
            return pixels.min(axis=0), pixels.max(axis=0)

        if zoom is None:
            zoom = 1.0
            for _ in range(4):  # perspective makes the size not quite linear in the zoom
                ax.set_box_aspect(self.spans, zoom=zoom)  # box in metres: equal scale on every axis
                low, high = projected_box()
                zoom *= float(np.min(target / np.maximum(high - low, 1.0)))
        self.zoom = zoom
        ax.set_box_aspect(self.spans, zoom=zoom)
        low, high = projected_box()
        shift = ((np.array(self.fit_region[:2]) * size + target / 2) - (low + high) / 2) / size
        position = ax.get_position(original=True)
        ax.set_position((position.x0 + shift[0], position.y0 + shift[1], position.width, position.height))

    @property
    def pixels_per_metre(self) -> float:
        """Proportional to the on-screen scale: matplotlib scales the box to norm(spans) = const * zoom."""
        return self.zoom / float(np.linalg.norm(self.spans))

    def draw_frame(self, frame: int) -> None:
        """Draw frame `frame` of this motion (held at its last frame past its end)."""
        shown = min(frame, len(self.points) - 1)
        pose = self.points[shown]
        # the last TRAIL_FRAMES of the path (the whole path so far made each frame's cost grow with the
        # motion's length: a 20,000-frame render took 5.7 min)
        root = self.points[max(0, shown + 1 - TRAIL_FRAMES) : shown + 1, 0]
        self.trail.set_data_3d(root[:, 0], root[:, 1], np.full(len(root), self.floor))
        self.ax.draw_artist(self.trail)
        # painter's algorithm: far chains first, so a limb in front covers the one behind
        depths = [float(pose[list(chain)].mean(axis=0) @ self.towards_viewer) for chain in self.bones.chains]
        for index in np.argsort(depths):
            chain = list(self.bones.chains[index])
            self.lines[index].set_data_3d(pose[chain, 0], pose[chain, 1], pose[chain, 2])
            self.ax.draw_artist(self.lines[index])
        self.counter.set_text(f"{shown / self.fps:5.2f} s  frame {shown + 1}/{len(self.points)}")
        self.counter.draw(self.ax.figure.canvas.get_renderer())


def render_motion(joints: Any, path: str | os.PathLike, title: str = "", skeleton: str = "humanml3d",
                  fps: float = 20) -> Path:
    """Render one motion, joints `[T, J, 3]` (metres, Y up), to an .mp4 or .gif at `path`.

    `skeleton` is "humanml3d" (22 joints), "kit" (21) or "auto" (from the joint count).
    """
    return render_grid([joints], path, [title], skeleton=skeleton, fps=fps, columns=1)


def render_grid(motions: Sequence[Any], path: str | os.PathLike, titles: Sequence[str] | None = None,
                skeleton: str = "humanml3d", fps: float = 20, columns: int | None = None) -> Path:
    """Render several motions side by side (each `[T_i, J, 3]`) into one .mp4 or .gif.

    The video lasts as long as the longest motion; shorter ones hold their last frame.
    `columns` defaults to all in one row up to 4 motions, else a near-square grid.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise LeadError(f"{target}: unsupported video format {target.suffix!r}; use .mp4 or .gif")
    if len(motions) == 0:
        raise LeadError("render_grid: no motions to render")
    titles = [""] * len(motions) if titles is None else [str(title) for title in titles]
    if len(titles) != len(motions):
        raise LeadError(f"render_grid: {len(motions)} motions but {len(titles)} titles; give one title each")
    if not (math.isfinite(fps) and fps > 0):
        raise LeadError(f"fps must be a positive finite number, got {fps}")
    prepared = [_prepare(motion, skeleton, index) for index, motion in enumerate(motions)]
    columns = columns or (len(motions) if len(motions) <= 4 else math.ceil(math.sqrt(len(motions))))
    columns = max(1, min(int(columns), len(motions)))
    rows = math.ceil(len(motions) / columns)

    figure = Figure(figsize=(columns * _PANEL_WIDTH / _DPI, rows * _PANEL_HEIGHT / _DPI), dpi=_DPI)
    canvas = FigureCanvasAgg(figure)
    panels = []
    for index, ((points, bones), title) in enumerate(zip(prepared, titles)):
        row, column = divmod(index, columns)
        cell = (column / columns, 1 - (row + 1) / rows, 1 / columns, 1 / rows)
        panels.append(_Panel(figure, cell, points, bones, title, float(fps)))
    # one scale for all panels, so samples side by side compare in metres
    scale = min(panel.pixels_per_metre for panel in panels)
    for panel in panels:
        panel.fit_camera(zoom=scale * float(np.linalg.norm(panel.spans)))
    canvas.draw()  # everything not animated: floor, paths, titles, legend
    background = canvas.copy_from_bbox(figure.bbox)
    total = max(len(panel.points) for panel in panels)
    width, height = canvas.get_width_height()

    def draw(frame: int) -> np.ndarray:
        """The picture of video frame `frame`, `[H, W, 4]` RGBA (a view of the canvas buffer)."""
        canvas.restore_region(background)
        for panel in panels:
            panel.draw_frame(frame)
        return np.asarray(canvas.buffer_rgba())

    with atomic_path(target) as temporary:
        try:
            if suffix == ".mp4":
                _write_mp4(temporary, draw, total, (width, height), float(fps))
            else:
                _write_gif(temporary, draw, total, (width, height), float(fps))
        except _WriteFailed as error:
            raise LeadError(f"cannot write {target}: {error}; nothing was written there") from None
    return target


def _frames(total: int):
    """range(total), with a progress bar on stderr (rate and time left) for a long render."""
    from tqdm import tqdm

    return tqdm(range(total), desc="rendering", unit="frame", leave=False, disable=total < LONG_RENDER)


class _WriteFailed(Exception):
    """A video writer failed; the message says why (the caller names the file)."""


def _write_mp4(path: Path, draw: Callable[[int], np.ndarray], total: int, size: tuple[int, int],
               fps: float) -> None:
    """Pipe the frames into ffmpeg; its exit status and the written file are checked, so a failed write
    (disk full, file-size limit, ffmpeg error) raises instead of leaving an unplayable file."""
    import subprocess
    import tempfile
    from fractions import Fraction

    import imageio_ffmpeg

    rate = Fraction(fps).limit_denominator(1001)
    # H.264 + yuv420p is what browsers, QuickTime and phones all play.
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-vcodec", "rawvideo",
        "-s", f"{size[0]}x{size[1]}", "-pix_fmt", "rgba", "-r", str(rate), "-i", "-", "-an",
        "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-preset", "veryfast",
        "-movflags", "+faststart", "-f", "mp4", str(path),
    ]
    # stderr to a file, not a pipe: a pipe nobody reads can fill and stall ffmpeg
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        try:
            try:
                for frame in _frames(total):
                    process.stdin.write(draw(frame).tobytes())
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg quit early; its exit status and log say why
            status = process.wait()
        finally:
            if process.poll() is None:  # interrupted (Ctrl-C, SIGTERM): don't leave ffmpeg running
                process.kill()
                process.wait()
        if status != 0:
            log.seek(0)
            lines = [line for line in log.read().decode("utf-8", "replace").splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else _exit_reason(status)
            raise _WriteFailed(f"ffmpeg failed ({reason})")
    _check_mp4(path)


def _exit_reason(status: int) -> str:
    import signal

    if status < 0:
        name = signal.Signals(-status).name
        return f"killed by {name}" + (": the file-size limit (ulimit -f)" if name == "SIGXFSZ" else "")
    return f"exit status {status}"


def _check_mp4(path: Path) -> None:
    """Refuse an MP4 whose top-level boxes do not tile the file or that lacks its index (moov) or data."""
    boxes, position, end = set(), 0, path.stat().st_size
    with open(path, "rb") as handle:
        while position < end:
            handle.seek(position)
            header = handle.read(16)
            if len(header) < 8:
                break
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = end - position
            if size < 8:
                break
            boxes.add(kind)
            position += size
    if position != end or not {b"ftyp", b"moov", b"mdat"} <= boxes:
        raise _WriteFailed("ffmpeg wrote an incomplete MP4 (no index, or cut short)")


def _write_gif(path: Path, draw: Callable[[int], np.ndarray], total: int, size: tuple[int, int],
               fps: float) -> None:
    from PIL import Image

    def picture(frame: int) -> Image.Image:
        return Image.frombuffer("RGBA", size, draw(frame).tobytes(), "raw", "RGBA", 0, 1).convert("RGB")

    # One palette for the whole clip, taken from the last frame (it shows every colour: bones, full
    # path): no colour flicker between frames, and mapping onto a fixed palette is fast.
    palette = picture(total - 1).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    images = [picture(frame).quantize(palette=palette, dither=Image.Dither.NONE) for frame in _frames(total)]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0, disposal=1, optimize=False)
    with open(path, "rb") as handle:  # a GIF ends with its trailer byte; anything else was cut short
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\x3b":
            raise _WriteFailed("the GIF was cut short")
