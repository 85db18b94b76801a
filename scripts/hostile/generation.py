"""Cases for the commands that run a model: generate, render, invert, serve (numbers, paths, model folders,
concept files, prompts, BVH examples, interruptions)."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np

from hostile.cases import (
    BVH,
    DEFAULT_MODEL,
    REFERENCE,
    Case,
    array,
    bvh_text,
    chain,
    concept,
    copy,
    drop_field,
    edit_json,
    fifo,
    mkdir,
    remove,
    set_field,
    short_bvh,
    truncate,
    write,
)

BAD_INT = ["-1", "0", str(2**64), "1.5", "abc", "nan"]
BAD_FLOAT = ["nan", "inf", "-inf", "-1", "abc"]
FAST = ["--steps", "2", "--format", "none", "--no-bvh"]
# cases whose fix is known to be missing (label → why); empty since read_bundle_config checks latent_scale and
# text_encoder
KNOWN: dict[str, str] = {}


def generate_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []

    def gen(name, *argv, expect="fail", setup=None, length=True, **kw):
        extra = ["--seconds", "1"] if length else []
        cases.append(Case("generate", name, ["generate", *argv, *extra, *FAST, "--out", "out"], expect, setup,
                          **kw))

    # numbers
    for value in BAD_FLOAT + ["0", "0.01", "1e308", "4000"]:
        gen(f"--seconds {value}", "a person walks", "--seconds", value, length=False)
    for value in BAD_INT + ["100000"]:
        gen(f"--frames {value}", "a person walks", "--frames", value, length=False)
    for value in BAD_INT + ["1001"]:
        gen(f"--num-samples {value}", "a person walks", "--num-samples", value)
    for value in ["-1", str(2**64), str(2**63), str(2**63 - 1), "1.5", "abc"]:
        gen(f"--seed {value}", "a person walks", "--seed", value)
    for value in ["0", "-1", "1000", str(2**64), "1.5", "abc"]:
        cases.append(Case("generate", f"--steps {value}", ["generate", "a person walks", "--seconds", "1",
                                                            "--steps", value, "--format", "none", "--out", "out"],
                          "fail"))
    for value in BAD_FLOAT:
        gen(f"--guidance {value}", "a person walks", "--guidance", value)
    for value in ["nan", "-1", "2", "inf", "abc"]:
        gen(f"--foot-cleanup {value}", "a person walks", "--foot-cleanup", value)
    for value in ["-1", "2", str(2**64), "1.5", "abc", "1001"]:
        gen(f"--smoothing {value}", "a person walks", "--smoothing", value)
    cases.append(Case("generate", "--sampler lcm --steps 1000",
                      ["generate", "a person walks", "--seconds", "1", "--sampler", "lcm", "--steps", "1000",
                       "--out", "out"], "fail"))
    gen("--device cuda:99", "a person walks", "--device", "cuda:99")
    gen("--device bogus", "a person walks", "--device", "bogus")
    # prompts
    gen("empty text", "")
    gen("whitespace-only text", "   \t  ")
    gen("only a <token>, no concept", "<hx>")
    gen("text and --prompts both", "a person walks", "--prompts", "p.txt", setup=write("p.txt", "a person jumps\n"))
    gen("no text at all", length=True)
    gen("very long text (20,000 words)", "a person walks " * 6700, expect="any")
    gen("control characters", "a person\x07 walks\x1b[31m forward\x7f", expect="any")
    gen("unicode text", "une personne marche vers l'avant — 歩く", expect="any")
    prompt_files = {
        "missing": None,
        "empty": b"",
        "only comments": b"# nothing here\n\n",
        "binary": b"\x00\x01\x02\xff" * 100,
        "Latin-1": b"a person walks\ncaf\xe9 au lait#40\n",
        "frames abc": b"a person walks#abc\n",
        "frames -5": b"a person walks#-5\n",
        "frames 0": b"a person walks#0\n",
        "frames 1.5": b"a person walks#1.5\n",
        "frames 2**64": f"a person walks#{2**64}\n".encode(),
        "frames past the model's longest": b"a person walks#5000\n",
        "only '#'": b"#\n",
        "only '#40'": b" #40\n",
        "a huge line": b"a person walks " * 70000 + b"#40\n",
        "a folder": None,
    }
    for label, content in prompt_files.items():
        setup = mkdir("p.txt") if label == "a folder" else (write("p.txt", content) if content is not None else None)
        gen(f"--prompts {label}", "--prompts", "p.txt", setup=setup)
    gen("--prompts valid (text#frames, comments, BOM)", "--prompts", "p.txt", expect="ok",
        setup=write("p.txt", "\ufeff# two prompts\na person walks#24\n\nsomeone waves\n"))
    # output places
    gen("--out is a file", "a person walks", setup=write("out", "x"))
    cases.append(Case("generate", "--out under a file", ["generate", "a person walks", "--seconds", "1", *FAST,
                                                         "--out", "afile/run"], "fail", write("afile", "x")))
    cases.append(Case("generate", "--out under /sys", ["generate", "a person walks", "--seconds", "1", *FAST,
                                                       "--out", "/sys/lead-hostile/run"], "fail"))
    cases.append(Case("generate", "--out under /proc", ["generate", "a person walks", "--seconds", "1", *FAST,
                                                        "--out", "/proc/lead-hostile/run"], "fail"))
    cases.append(Case("generate", "--out in a read-only folder (non-root)",
                      ["generate", "a person walks", "--seconds", "1", *FAST, "--out", "ro/run"], "fail",
                      mkdir("ro"), as_nobody=True, after_chown=lambda f: (f / "ro").chmod(0o555)))
    gen("--out holds an earlier run", "a person walks", setup=chain(mkdir("out"), write("out/samples.json", "{}")))
    gen("--overwrite an earlier run", "a person walks", "--overwrite", expect="ok",
        setup=chain(mkdir("out"), write("out/samples.json", "{}"), write("out/000_old.npy", "x")))
    # issue 28: special files, --overwrite's reach, lines and text that is not UTF-8
    gen("--prompts a FIFO", "--prompts", "p.txt", setup=fifo("p.txt"), contains="FIFO")
    gen("--concept a FIFO", "a person <hx> walks", "--concept", "c.safetensors", setup=fifo("c.safetensors"),
        contains="FIFO")
    gen("--model's mean.npy a FIFO", "a person walks", "--model", "m",
        setup=chain(copy(DEFAULT_MODEL, "m"), fifo("m/mean.npy")), contains="FIFO")
    gen("a sample's own name is a FIFO", "a person walks", "--overwrite",
        setup=chain(mkdir("out"), fifo("out/000_a_person_walks.npy")), contains="not a regular file")
    gen("--overwrite keeps what the old manifest does not list", "a person walks", "--overwrite", expect="ok",
        setup=chain(mkdir("out"), write("out/samples.json", '{"samples": [{"files": {"features": "000_x.npy"}}]}'),
                    write("out/000_x.npy", "x"), write("out/007_notes.txt", "mine")))
    gen("--prompts CRLF, BOM, U+2028 and form feed inside lines", "--prompts", "p.txt", expect="ok",
        setup=write("p.txt", "\ufeffa person walks#24\r\na person\u2028waves\fhigh#24\r\n"))
    gen("text not UTF-8 (as the shell passes byte 0xff)", "a person \udcff walks", contains="not UTF-8")
    gen("text with a lone surrogate", "a person \ud800 walks", contains="lone surrogate")
    gen("--out held by a live run's lock", "a person walks",
        setup=chain(mkdir("out"), write("out/.lead-generate.lock", "1")))
    # model folders
    for label, breaking, contains in model_breakers(ws):
        gen(f"--model {label}", "a person walks", "--model", "m", setup=chain(copy(DEFAULT_MODEL, "m"), breaking),
            contains=contains, known=KNOWN.get(label, ""))
    gen("--model missing", "a person walks", "--model", "nowhere")
    gen("--model a file", "a person walks", "--model", "m", setup=write("m", "x"))
    gen("--model an empty folder", "a person walks", "--model", "m", setup=mkdir("m"))
    gen("--model without projector/ (MLD only)", "a person walks", "--model", "m", "--no-projector", expect="ok",
        setup=chain(copy(DEFAULT_MODEL, "m"), remove("m/projector")))
    gen("--model without projector/, projector wanted", "a person walks", "--model", "m", expect="any",
        setup=chain(copy(DEFAULT_MODEL, "m"), remove("m/projector")))
    gen("--sampler lcm on a model without lcm/", "a person walks", "--model", str(ws / "model"), "--sampler", "lcm")
    # concept files
    hx = "a person <hx> walks"
    for label, setup, contains in concept_breakers():
        gen(f"--concept {label}", hx, "--concept", "c.safetensors", setup=setup, contains=contains)
    gen("--concept missing", hx, "--concept", "nowhere.safetensors")
    gen("--concept a folder", hx, "--concept", "c.safetensors", setup=mkdir("c.safetensors"))
    gen("--concept twice, same token", hx, "--concept", str(ws / "concept.safetensors"), "--concept", "c.safetensors",
        setup=copy(ws / "concept.safetensors", "c.safetensors"))
    gen("--concept unused by the text", "a person walks", "--concept", str(ws / "concept.safetensors"), expect="any")
    gen("--concept of another model's text encoder", hx, "--concept", str(ws / "concept.safetensors"),
        "--model", "m", setup=chain(copy(DEFAULT_MODEL, "m"),
                                    set_field("m/config.json", "text_encoder_identity", "clip:other")), expect="any")
    gen("--concept valid", hx, "--concept", str(ws / "concept.safetensors"), expect="ok")
    gen("only the <token>, with its concept", "<hx>", "--concept", str(ws / "concept.safetensors"), expect="any")
    # valid runs
    gen("valid: default model, 1 s, 2 steps", "a person walks forward", expect="ok")
    cases.append(Case("generate", "valid: mp4 and BVH", ["generate", "a person waves", "--frames", "24", "--steps",
                                                         "2", "--out", "out"], "ok", weight=3))
    gen("valid: tiny model, dpm++", "a person jumps", "--model", str(ws / "model"), "--sampler", "dpm++",
        expect="ok")
    gen("valid: --no-projector, 2 samples, seed 7", "a person walks", "--no-projector", "--num-samples", "2",
        "--seed", "7", expect="ok")
    gen("valid: lcm sampler, 1 step", "a person walks", "--sampler", "lcm", "--steps", "1", expect="ok")
    gen("valid: --seed at its largest", "a person walks", "--seed", str(2**63 - 2), expect="ok")
    # interrupted: real processes stopped while they sample and write
    for sig, delay in ((signal.SIGINT, 12.0), (signal.SIGTERM, 15.0), (signal.SIGTERM, 4.0)):
        cases.append(Case("generate", f"interrupted: {sig.name} after {delay:.0f} s (40 samples, gif)",
                          ["generate", "a person walks", "--frames", "40", "--steps", "4", "--num-samples", "40",
                           "--format", "gif", "--out", "out"], "fail", interrupt=(sig, delay), weight=5))
    return cases


def model_breakers(ws: Path) -> list[tuple[str, object, str | None]]:
    """(label, how to break a copy of the shipped model at m/, text the error line must hold)."""
    tiny_vae = ws / "model" / "vae" / "model.safetensors"
    return [
        ("config.json a list", write("m/config.json", "[1, 2]"), "m/config.json"),
        ("config.json a string", write("m/config.json", '"lead"'), "m/config.json"),
        ("config.json empty", write("m/config.json", ""), "m/config.json"),
        ("config.json binary", write("m/config.json", b"\x00\xff\x10"), "m/config.json"),
        ("config.json missing", remove("m/config.json"), None),
        ("config 'config' a string", edit_json("m/config.json", lambda d: d.__setitem__("config", "x")), None),
        ("config kind wrong", edit_json("m/config.json", lambda d: d.__setitem__("kind", "vae")), None),
        ("fps a string", set_field("m/config.json", "fps", "20"), "fps"),
        ("fps 0", set_field("m/config.json", "fps", 0), "fps"),
        ("fps -20", set_field("m/config.json", "fps", -20), "fps"),
        ("max_frames -1", set_field("m/config.json", "max_frames", -1), "max_frames"),
        ("min_frames above max_frames", set_field("m/config.json", "min_frames", 500), None),
        ("latent_scale 0", set_field("m/config.json", "latent_scale", 0), "latent_scale"),
        ("latent_scale a list", set_field("m/config.json", "latent_scale", [1]), "latent_scale"),
        ("skeleton unknown", set_field("m/config.json", "skeleton", "dog"), "skeleton"),
        ("text_encoder unknown", set_field("m/config.json", "text_encoder", "bogus"), "text_encoder"),
        ("text_encoder_path missing folder", chain(set_field("m/config.json", "text_encoder", "clip"),
                                                   set_field("m/config.json", "text_encoder_path", "/nowhere")), None),
        ("smoothing even", set_field("m/config.json", "smoothing", 4), "smoothing"),
        ("vae config a list", write("m/vae/config.json", "[]"), "vae/config.json"),
        ("vae config missing", remove("m/vae/config.json"), "vae"),
        ("vae config a key missing", drop_field("m/vae/config.json", "latent_dim"), None),
        ("vae config an unknown key", set_field("m/vae/config.json", "colour", "red"), None),
        ("vae latent_dim a string", set_field("m/vae/config.json", "latent_dim", "128"), "latent_dim"),
        ("vae latent_dim a bool", set_field("m/vae/config.json", "latent_dim", True), "latent_dim"),
        ("vae num_heads 3 (does not divide 128)", set_field("m/vae/config.json", "num_heads", 3), "num_heads"),
        ("vae num_heads 0", set_field("m/vae/config.json", "num_heads", 0), "num_heads"),
        ("vae num_layers -2", set_field("m/vae/config.json", "num_layers", -2), "num_layers"),
        ("vae dropout 2", set_field("m/vae/config.json", "dropout", 2.0), "dropout"),
        ("vae feature_dim 100", set_field("m/vae/config.json", "feature_dim", 100), None),
        ("vae layout unknown", set_field("m/vae/config.json", "layout", "spiral"), "layout"),
        ("vae frames_per_token 0", set_field("m/vae/config.json", "frames_per_token", 0), "frames_per_token"),
        ("vae kind says denoiser", edit_json("m/vae/config.json", lambda d: d.__setitem__("kind", "denoiser")), None),
        ("denoiser num_layers 2.5", set_field("m/denoiser/config.json", "num_layers", 2.5), "num_layers"),
        ("denoiser ff_size -5", set_field("m/denoiser/config.json", "ff_size", -5), "ff_size"),
        ("denoiser latent_dim 64 (VAE's is 128)", set_field("m/denoiser/config.json", "latent_dim", 64), None),
        ("denoiser text_dim 512 (encoder's is 384)", set_field("m/denoiser/config.json", "text_dim", 512), None),
        ("denoiser prediction_type unknown", set_field("m/denoiser/config.json", "prediction_type", "x"), None),
        ("denoiser folder missing", remove("m/denoiser"), "denoiser"),
        ("projector num_heads 5", set_field("m/projector/config.json", "num_heads", 5), "num_heads"),
        ("projector architecture unknown", set_field("m/projector/config.json", "architecture", "x"), None),
        ("vae folder missing", remove("m/vae"), "vae"),
        ("vae weights missing", remove("m/vae/model.safetensors"), "vae"),
        ("vae weights truncated", truncate("m/vae/model.safetensors", 4000), "vae/model.safetensors"),
        ("vae weights garbage", write("m/vae/model.safetensors", b"\x93garbage" * 100), "vae/model.safetensors"),
        ("vae weights empty", write("m/vae/model.safetensors", b""), "vae/model.safetensors"),
        ("vae weights of another size (tiny model's)", copy(tiny_vae, "m/vae/model.safetensors"), "vae"),
        ("denoiser weights truncated", truncate("m/denoiser/model.safetensors", 100000), "denoiser"),
        ("projector weights garbage", write("m/projector/model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{bad"),
         "projector"),
        ("mean.npy text", write("m/mean.npy", "0.1 0.2\n"), "mean.npy"),
        ("mean.npy pickled", array("m/mean.npy", np.array([{"a": 1}], dtype=object)), "mean.npy"),
        ("mean.npy of another length", array("m/mean.npy", np.zeros(100, np.float32)), "mean.npy"),
        ("mean.npy 2-D", array("m/mean.npy", np.zeros((263, 2), np.float32)), "mean.npy"),
        ("mean.npy NaN", array("m/mean.npy", np.full(263, np.nan, np.float32)), "mean.npy"),
        ("mean.npy missing", remove("m/mean.npy"), "mean.npy"),
        ("std.npy zeros", array("m/std.npy", np.zeros(263, np.float32)), "std.npy"),
        ("std.npy truncated", truncate("m/std.npy", 90), "std.npy"),
    ]


def concept_breakers() -> list[tuple[str, object, str | None]]:
    return [
        ("of the wrong width (100)", concept("c.safetensors", width=100), "c.safetensors"),
        ("garbage bytes", write("c.safetensors", b"not a concept at all"), "c.safetensors"),
        ("empty", write("c.safetensors", b""), "c.safetensors"),
        ("NaN embedding", concept("c.safetensors", values=[np.nan] * 384), "c.safetensors"),
        ("2-D embedding", concept("c.safetensors", values=np.zeros((2, 192))), "c.safetensors"),
        ("no embedding tensor", concept("c.safetensors", tensor="weights"), "c.safetensors"),
        ("not a lead concept (format)", concept("c.safetensors", fmt="other"), "c.safetensors"),
        ("token a real word ('walks')", concept("c.safetensors", token="walks"), "walks"),
        ("token with a space", concept("c.safetensors", token="<h x>"), None),
        ("token empty", concept("c.safetensors", token=""), "c.safetensors"),
        ("token not in the text", concept("c.safetensors", token="<other>"), None),
        ("text encoder of another model", concept("c.safetensors", identity="clip:openai/clip-vit-large"), None),
    ]


def render_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    walk = str(ws / "walk.npy")

    def render(name, *argv, expect="fail", setup=None, **kw):
        cases.append(Case("render", name, ["render", *argv], expect, setup, **kw))

    for value in BAD_FLOAT + ["0", "1e9"]:
        render(f"--fps {value}", walk, "--fps", value, "--out", "x.mp4")
    for value in ["0", "-1", str(2**64), "1.5", "abc"]:
        render(f"--columns {value}", walk, walk, "--grid", "--columns", value, "--out", "x.mp4")
    render("--columns 99 for 2 files", walk, walk, "--grid", "--columns", "99", "--out", "x.gif", expect="any")
    inputs = {
        "missing file": None,
        "empty file": b"",
        "text file": b"1 2 3\n",
        "binary garbage": bytes(range(256)) * 10,
        "truncated .npy": None,
        "pickled .npy": "pickle",
        "strings .npy": np.full((40, 263), "a"),
        "ints .npy": np.zeros((40, 263), np.int64),
        "wrong width (100)": np.zeros((40, 100), np.float32),
        "1-D": np.zeros(263, np.float32),
        "zero frames": np.zeros((0, 263), np.float32),
        "one frame": np.zeros((1, 263), np.float32),
        "NaN features": np.full((40, 263), np.nan, np.float32),
        "inf joints": np.full((40, 22, 3), np.inf, np.float32),
        "a folder": "folder",
    }
    for label, content in inputs.items():
        if label == "truncated .npy":
            setup = chain(copy(ws / "walk.npy", "m.npy"), truncate("m.npy", 500))
        elif isinstance(content, np.ndarray):
            setup = array("m.npy", content)
        elif content == "pickle":
            setup = array("m.npy", np.array([{"a": 1}], dtype=object))
        elif content == "folder":
            setup = mkdir("m.npy")
        else:
            setup = write("m.npy", content) if content is not None else None
        render(f"input {label}", "m.npy", "--out", "x.mp4", setup=setup, expect="any" if label == "one frame"
               else "fail")
    render("--out .avi", walk, "--out", "x.avi")
    render("--out two files, one video", walk, walk, "--out", "x.mp4")
    render("--grid without --out", walk, walk, "--grid")
    render("--title count mismatch", walk, walk, "--title", "a", "--out", "v")
    render("--out under a file", walk, "--out", "afile/x.mp4", setup=write("afile", "x"))
    render("--out folder is a file", walk, walk, "--out", "afile", setup=write("afile", "x"))
    render("--out a folder named x.mp4", walk, "--out", "x.mp4", setup=mkdir("x.mp4"))
    render("--out under /sys", walk, "--out", "/sys/lead-hostile.mp4")
    render("--out under /proc", walk, "--out", "/proc/lead-hostile/x.mp4")
    render("--out in a read-only folder (non-root)", "m.npy", "--out", "ro/x.mp4",
           setup=chain(copy(ws / "walk.npy", "m.npy"), mkdir("ro")), as_nobody=True,
           after_chown=lambda f: (f / "ro").chmod(0o555))
    render("input unreadable (non-root)", "m.npy", "--out", "x.mp4", setup=copy(ws / "walk.npy", "m.npy"),
           as_nobody=True, after_chown=lambda f: (f / "m.npy").chmod(0))
    render("/proc/self/status as input", "/proc/self/status", "--out", "x.mp4")
    render("/sys/kernel as input", "/sys/kernel", "--out", "x.mp4")
    render("--skeleton kit for HumanML3D features", walk, "--skeleton", "kit", "--out", "x.gif", expect="any")
    render("damaged samples.json beside the input (title)", "m.npy", "--out", "x.gif", expect="ok",
           setup=chain(copy(ws / "walk.npy", "m.npy"), write("samples.json", b"\xff\xfe[")))
    render("Latin-1 caption beside the input (title)", "m.npy", "--out", "x.gif", expect="ok",
           setup=chain(copy(ws / "walk.npy", "m.npy"), mkdir("texts"), write("texts/m.txt", b"caf\xe9#x#0#0\n")))
    render("valid: features to mp4", walk, "--out", "walk.mp4", expect="ok", weight=2)
    render("valid: joints to gif", str(ws / "walk_joints.npy"), "--out", "j.gif", expect="ok", weight=2)
    render("valid: two files in a grid", walk, str(ws / "walk_joints.npy"), "--grid", "--out", "g.mp4", expect="ok",
           weight=2)
    render("valid: into a new folder", walk, "--out", "videos", "--format", "gif", expect="ok", weight=2)
    render("valid: --fps 240", walk, "--fps", "240", "--out", "fast.gif", expect="ok")
    long = np.concatenate([np.load(REFERENCE / "new_joint_vecs" / "012314.npy")] * 24)
    for sig, delay in ((signal.SIGINT, 14.0), (signal.SIGTERM, 16.0)):
        render(f"interrupted: {sig.name} after {delay:.0f} s (4,080 frames)", "long.npy", "--out", "long.mp4",
               setup=array("long.npy", long), interrupt=(sig, delay), weight=5)
    return cases


def invert_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    walk = str(ws / "walk.npy")
    base = ["--token", "<hx>", "--init-word", "walk", "--steps", "1", "--batch-size", "1", "--quiet"]

    def invert(name, motions, *argv, expect="fail", setup=None, out="c.safetensors", **kw):
        options = dict(zip(base[::2], base[1::2]))
        for key, value in zip(argv[::2], argv[1::2]):
            options[key] = value
        flat = [item for key, value in options.items() for item in (key, value) if value is not None]
        flat = [item for item in flat if item != "--quiet"] + ["--quiet"]
        cases.append(Case("invert", name, ["invert", *motions, *flat, "--out", out], expect, setup, **kw))

    for option, values in (("--steps", BAD_INT), ("--batch-size", BAD_INT), ("--lr", BAD_FLOAT + ["0"]),
                           ("--seed", ["-1", str(2**64), "1.5", "abc"])):
        for value in values:
            invert(f"{option} {value}", [walk], option, value)
    invert("--token empty", [walk], "--token", "")
    invert("--token with a space", [walk], "--token", "<h x>")
    invert("--token a real word", [walk], "--token", "walks")
    invert("--init-word unknown / several pieces", [walk], "--init-word", "zzqxv_unheard_of", expect="any")
    invert("--init-word empty", [walk], "--init-word", "")
    invert("--out a folder", [walk], out="d", setup=mkdir("d"))
    invert("--out under a file", [walk], out="afile/c.safetensors", setup=write("afile", "x"))
    invert("--out under /sys", [walk], out="/sys/lead-hostile.safetensors")
    invert("--out in a read-only folder (non-root)", ["m.npy"], out="ro/c.safetensors",
           setup=chain(copy(ws / "walk.npy", "m.npy"), mkdir("ro")), as_nobody=True,
           after_chown=lambda f: (f / "ro").chmod(0o555))
    examples = {
        "missing": None,
        "empty .npy": write("m.npy", b""),
        "text .npy": write("m.npy", "1 2 3"),
        "pickled .npy": array("m.npy", np.array([{"a": 1}], dtype=object)),
        "wrong width": array("m.npy", np.zeros((60, 100), np.float32)),
        "NaN features": array("m.npy", np.full((60, 263), np.nan, np.float32)),
        "too short (3 frames)": array("m.npy", np.load(REFERENCE / "new_joint_vecs" / "012314.npy")[:3]),
        "a folder": mkdir("m.npy"),
        "unknown suffix": write("m.txt", "a person walks"),
    }
    for label, setup in examples.items():
        name = "m.txt" if label == "unknown suffix" else "m.npy"
        invert(f"example {label}", [name], setup=setup)
    bvh_examples = {
        "empty .bvh": b"",
        "garbage .bvh": b"\x00\x01garbage" * 50,
        "truncated .bvh": BVH.read_bytes()[:3000],
        "no MOTION": bvh_text(keep_motion=False),
        "zero frames": bvh_text(0),
    }
    for label, content in bvh_examples.items():
        invert(f"example {label}", ["m.bvh"], setup=write("m.bvh", content))
    invert("--model broken (heads do not divide)", [walk], "--model", "m",
           setup=chain(copy(DEFAULT_MODEL, "m"), set_field("m/vae/config.json", "num_heads", 3)))
    invert("--model missing", [walk], "--model", "nowhere")
    invert("--objective lead without projector/", [walk], "--model", "m",
           setup=chain(copy(DEFAULT_MODEL, "m"), remove("m/projector")))
    invert("valid: features, 1 step", [walk], expect="ok")
    invert("valid: a short BVH take (cmu map), feat objective", ["take.bvh"], "--objective", "feat",
           "--map", "cmu", expect="ok", setup=write("take.bvh", short_bvh()))
    invert("valid: joints, mld objective, tiny model", [str(ws / "walk_joints.npy")], "--objective", "mld",
           "--model", str(ws / "model"), expect="ok")
    return cases


def serve_cases(ws: Path, busy_port: int) -> list[Case]:
    cases: list[Case] = []

    def serve(name, *argv, expect="fail", **kw):
        cases.append(Case("serve", name, ["serve", *argv], expect, timeout=60, **kw))

    for value in ["-1", "70000", "abc", "1.5", str(2**64)]:
        serve(f"--port {value}", "--port", value)
    for option in ("--max-batch", "--max-queue"):
        for value in ["0", "-1", "abc"]:
            serve(f"{option} {value}", option, value, "--port", "0")
    for value in ["0", "-1", "abc"]:
        serve(f"--threads {value}", "--threads", value, "--port", "0")
    serve("--host not an address", "--host", "no such host!", "--port", "0")
    serve("--host 999.1.1.1", "--host", "999.1.1.1", "--port", "0")
    serve("--port in use", "--port", str(busy_port))
    serve("--device bogus", "--device", "bogus", "--port", "0")
    serve("--model missing", "--model", "nowhere", "--port", "0")
    serve("--model broken (config a list)", "--model", "m", "--port", "0",
          setup=chain(copy(DEFAULT_MODEL, "m"), write("m/config.json", "[]")))
    serve("--out a file", "--out", "afile", "--port", "0", setup=write("afile", "x"))
    serve("--out under /sys", "--out", "/sys/lead-hostile", "--port", "0")
    serve("valid: starts, stopped by SIGINT after 8 s", "--port", "0", expect="ok",
          signal_after=(signal.SIGINT, 8.0))
    return cases
