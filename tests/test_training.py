"""The three stages train through `lead train`, export loadable components, and resume."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from lead.cli import main
from lead.models.denoiser import LatentDenoiser
from lead.models.projector import LatentProjector
from lead.models.vae import MotionVAE


def test_stages_export_loadable_components(tiny_model):
    vae = MotionVAE.load(tiny_model / "vae")
    denoiser = LatentDenoiser.load(tiny_model / "denoiser")
    projector = LatentProjector.load(tiny_model / "projector")
    assert vae.config.latent_dim == denoiser.config.latent_dim == projector.config.latent_dim
    assert denoiser.config.text_dim == projector.config.text_dim == 384
    bundle = json.loads((tiny_model / "config.json").read_text())["config"]
    assert bundle["latent_scale"] > 0 and bundle["latent_scale"] != 1.0
    assert bundle["text_encoder_identity"].startswith("minilm")
    for stage in ("vae", "denoiser", "projector"):
        metrics = (tiny_model / "runs" / stage / "logs" / "version_0" / "metrics.csv").read_text()
        assert "train/loss" in metrics
        assert (tiny_model / "runs" / stage / "checkpoints" / "last.ckpt").is_file()


def test_resume_continues_from_last_checkpoint(tiny_dataset, tmp_path):
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4"]
    assert main(["train", "vae", *common, "--max-steps", "3"]) == 0
    first = torch.load(tmp_path / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    assert main(["train", "vae", *common, "--max-steps", "5", "--resume"]) == 0
    second = torch.load(tmp_path / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    assert (first, second) == (3, 5)


def test_vae_loss_falls_on_real_motion(tiny_dataset, tmp_path):
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "8",
              "--lr", "2e-3", "--log-every", "1"]
    assert main(["train", "vae", *common, "--max-steps", "40"]) == 0
    rows = (tmp_path / "runs/vae/logs/version_0/metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    column = header.index("train/mse")
    values = [float(r.split(",")[column]) for r in rows[1:] if r.split(",")[column]]
    assert sum(values[-5:]) / 5 < 0.8 * sum(values[:5]) / 5


def test_missing_vae_is_a_clear_error(tiny_dataset, tmp_path, capsys):
    code = main(["train", "denoiser", "--data", str(tiny_dataset), "--out", str(tmp_path / "nothing")])
    assert code == 2
    assert "train the VAE first" in capsys.readouterr().err


def test_vae_options_cosine_schedule_and_validation_motion_metrics(tiny_dataset, tmp_path):
    """--position-init/--velocity-weight/--latent-size reach the saved config; the cosine schedule
    warms up and decays; validation logs the round trip's motion-quality ratios."""
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4",
              "--lr", "1e-3", "--log-every", "1", "--lr-schedule", "cosine", "--warmup-steps", "2"]
    options = ["--position-init", "sinusoidal", "--velocity-weight", "1", "--latent-size", "2", "--dropout", "0",
               "--logvar-bias", "-6"]  # the global layout's options
    assert main(["train", "vae", *common, *options, "--max-steps", "6"]) == 0
    vae = MotionVAE.load(tmp_path / "vae")
    config = vae.config
    assert (config.position_init, config.velocity_weight, config.latent_size, config.logvar_bias) == (
        "sinusoidal", 1.0, 2, -6.0)
    rows = (tmp_path / "runs/vae/logs/version_0/metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert "train/velocity" in header and "val/stride_ratio" in header and "val/joint_speed_ratio" in header
    column = header.index("val/joint_speed_ratio")
    assert any(r.split(",")[column] for r in rows[1:])


def test_sinusoidal_start_gives_distinct_smooth_positions():
    from lead.models.layers import LearnedPositionalEncoding, sinusoidal_table

    table = LearnedPositionalEncoding(16, 50, init="sinusoidal").pe.detach()[:, 0]
    assert torch.allclose(table, sinusoidal_table(50, 16))
    near = (table[1:] - table[:-1]).norm(dim=-1).mean()
    far = (table[25:] - table[:-25]).norm(dim=-1).mean()
    assert near < far  # neighbouring frames start close, distant ones apart


def test_cosine_schedule_needs_max_steps(tiny_dataset, tmp_path, capsys):
    common = ["--data", str(tiny_dataset), "--out", str(tmp_path), "--preset", "tiny", "--batch-size", "4"]
    assert main(["train", "vae", *common, "--lr-schedule", "cosine", "--max-time", "00:00:00:05"]) == 2
    assert "--max-steps" in capsys.readouterr().err
    assert not (tmp_path / "vae").exists()


def test_balanced_sampler_draws_rare_labels_more_often(tiny_dataset, tmp_path):
    import shutil
    from collections import Counter

    from lead.data.humanml3d import MotionDataset
    from lead.errors import LeadError
    from lead.train.common import TrainSettings, balanced_sampler

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    train = MotionDataset(data, "train", min_length=40)
    clips = sorted({r.clip for r in train.records})
    labels = {clip: {"content": "rare" if i == 0 else "common"} for i, clip in enumerate(clips)}
    (data / "labels.json").write_text(json.dumps(labels))
    settings = TrainSettings(data=data, out=tmp_path / "out", balance="content", balance_power=1.0)
    drawn = Counter()
    sampler = balanced_sampler(train, settings)
    for _ in range(200):
        drawn.update(labels[train.records[i].clip]["content"] for i in sampler)
    rare_items = sum(labels[r.clip]["content"] == "rare" for r in train.records)
    assert rare_items / len(train) < 0.3
    assert abs(drawn["rare"] / sum(drawn.values()) - 0.5) < 0.05  # power 1: each label drawn equally
    # --balance-boost rare=3 on top: the rare label is drawn 3 times as often as the common one.
    boosted = TrainSettings(data=data, out=tmp_path / "out", balance="content", balance_power=1.0,
                            balance_boost=("rare=3",))
    drawn = Counter()
    sampler = balanced_sampler(train, boosted)
    for _ in range(200):
        drawn.update(labels[train.records[i].clip]["content"] for i in sampler)
    assert abs(drawn["rare"] / sum(drawn.values()) - 0.75) < 0.05
    with pytest.raises(LeadError, match="no train clip has content 'kick'"):
        balanced_sampler(train, TrainSettings(data=data, out=tmp_path / "out", balance="content",
                                              balance_boost=("kick=2",)))
    # A FIELD:VALUE key boosts one style of one content: the common clips of style "slow", 3 times.
    for index, clip in enumerate(clips):
        labels[clip]["style"] = "slow" if index % 2 else "fast"
    (data / "labels.json").write_text(json.dumps(labels))
    styled = TrainSettings(data=data, out=tmp_path / "out", balance="content", balance_power=1.0,
                           balance_boost=("content:common,style:slow=3",))
    weights = {key: 0.0 for key in ("rare", "common fast", "common slow")}
    for record in train.records:  # count(content)^-1, times 3 for common+slow: the expected shares
        label = labels[record.clip]
        key = "rare" if label["content"] == "rare" else f"common {label['style']}"
        weights[key] += (3.0 if key == "common slow" else 1.0) / (1 if key == "rare" else len(train) - rare_items)
    drawn = Counter()
    sampler = balanced_sampler(train, styled)
    for _ in range(200):
        for i in sampler:
            label = labels[train.records[i].clip]
            drawn["rare" if label["content"] == "rare" else f"common {label['style']}"] += 1
    for key, weight in weights.items():
        assert abs(drawn[key] / sum(drawn.values()) - weight / sum(weights.values())) < 0.05, (key, drawn)
    assert weights["common slow"] > 0 and weights["common fast"] > 0
    with pytest.raises(LeadError, match="no train clip has style 'sad'"):
        balanced_sampler(train, TrainSettings(data=data, out=tmp_path / "out", balance="content",
                                              balance_boost=("content:common,style:sad=2",)))
    with pytest.raises(LeadError, match="no train clip has a 'mood' label"):
        balanced_sampler(train, TrainSettings(data=data, out=tmp_path / "out", balance="content",
                                              balance_boost=("mood:sad=2",)))
    with pytest.raises(LeadError, match="content 'rare' and style 'slow' together"):
        balanced_sampler(train, TrainSettings(data=data, out=tmp_path / "out", balance="content",
                                              balance_boost=("content:rare,style:slow=2",)))


def test_logvar_bias_starts_the_posterior_narrow():
    from lead.models.vae import VAEConfig

    torch.manual_seed(0)
    features, lengths = torch.randn(3, 30, 263), torch.tensor([30, 20, 10])
    for bias, expected in ((0.0, 0.0), (-6.0, -6.0)):
        vae = MotionVAE(VAEConfig.preset("tiny", logvar_bias=bias)).eval()
        _, logvar = vae.encode_distribution(features, lengths)
        assert abs(float(logvar.mean()) - expected) < 0.5


def test_frames_per_token_keeps_the_latent_and_every_length():
    """With 4 frames per token the latent keeps its shape, any length decodes to exactly that length
    (zero past it), and a clip's encoding does not depend on the padding beside it in a batch."""
    from lead.models.vae import VAEConfig

    torch.manual_seed(0)
    vae = MotionVAE(VAEConfig.preset("tiny", frames_per_token=4, dropout=0.0)).eval()
    lengths = torch.tensor([37, 20, 9])
    features = torch.randn(3, 37, 263) * (torch.arange(37)[None, :, None] < lengths[:, None, None])
    with torch.no_grad():
        mu, _ = vae.encode_distribution(features, lengths)
        alone, _ = vae.encode_distribution(features[1:2, :20], lengths[1:2])
        decoded = vae.decode(mu, lengths)
    assert mu.shape == (3, vae.config.latent_size, vae.config.latent_dim)
    assert torch.allclose(mu[1:2], alone, atol=1e-5)
    assert decoded.shape == (3, 37, 263)
    assert decoded[1, 20:].abs().max() == 0 and decoded[1, :20].abs().max() > 0
    assert vae.query_pos_decoder.pe.shape[0] == 50  # ceil(200 / 4) tokens


def test_overlap_window_blends_tokens_without_steps():
    """Overlap-add output: equal token outputs give that value everywhere (the weights sum to 1), and
    a jump between two tokens' outputs is spread over frames instead of one step."""
    from lead.models.vae import VAEConfig

    vae = MotionVAE(VAEConfig.preset("tiny", frames_per_token=4, output_window="overlap", dropout=0.0))
    same = vae._overlap_add(torch.full((1, 5, 8 * 263), 3.0), 5)
    assert same.shape == (1, 20, 263) and torch.allclose(same, torch.full_like(same, 3.0))
    windows = torch.zeros(1, 4, 8, 263)
    windows[:, 2:] = 1.0  # tokens 0-1 say 0, tokens 2-3 say 1
    blended = vae._overlap_add(windows.reshape(1, 4, -1), 4)[0, :, 0]
    steps = (blended[1:] - blended[:-1]).abs()
    assert blended[0] == 0 and blended[-1] == 1
    assert steps.max() <= 0.25 + 1e-6  # spread over 4 frames, not a single jump of 1


def test_temporal_layout_is_local_and_holds_the_last_pose():
    """Temporal layout: latent token k encodes the motion near frames [k·p, (k+1)·p); a clip is encoded
    as if its last pose were held to max_length; decoding gives exactly the asked length."""
    from lead.models.vae import VAEConfig

    torch.manual_seed(0)
    config = VAEConfig.preset("tiny", frames_per_token=8, layout="temporal", latent_size=25, dropout=0.0)
    vae = MotionVAE(config).eval()
    lengths = torch.tensor([196, 60])
    features = torch.randn(2, 196, 263)
    with torch.no_grad():
        mu, _ = vae.encode_distribution(features, lengths)
        held = features.clone()
        held[1, 60:] = features[1, 59]
        mu_held, _ = vae.encode_distribution(held, lengths)
        assert torch.allclose(mu[1], mu_held[1], atol=1e-5)  # what lies past the length does not matter
        late = mu.clone()
        late[:, 24] += 1.0
        effect = (vae.decode(late, lengths) - vae.decode(mu, lengths)).abs().amax(-1)[0]
        decoded = vae.decode(mu, lengths)
    assert mu.shape == (2, 25, 32)
    assert effect[:100].abs().max() < effect[184:].abs().max()
    assert decoded.shape == (2, 196, 263) and decoded[1, 60:].abs().max() == 0
    with pytest.raises(ValueError):
        MotionVAE(VAEConfig.preset("tiny", frames_per_token=8, layout="temporal", latent_size=1))


def test_binomial_smoothing_of_decoded_frames():
    """The smoothing generation applies: it low-passes decoded frames, reads nothing past each length,
    passes a constant motion unchanged, and refuses an even number of taps."""
    from lead.models.layers import binomial_smooth
    from lead.models.vae import VAEConfig

    torch.manual_seed(0)
    vae = MotionVAE(VAEConfig.preset("tiny", frames_per_token=8, layout="temporal", latent_size=25)).eval()
    latent, lengths = torch.randn(2, 25, 32), torch.tensor([50, 31])
    with torch.no_grad():
        a = vae.decode(latent, lengths)
        b = binomial_smooth(a, lengths, 3)
        padded = a.clone()
        padded[1, 31:] = 100.0
        assert torch.allclose(binomial_smooth(padded, lengths, 3)[1, :31], b[1, :31])
    rough = lambda x: (x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]).abs().mean()  # noqa: E731
    assert rough(b[:, :31]) < rough(a[:, :31])
    constant = torch.ones(1, 12, 3)
    assert torch.allclose(binomial_smooth(constant, torch.tensor([12]), 5), constant)
    with pytest.raises(ValueError):
        binomial_smooth(constant, torch.tensor([12]), 4)


def test_same_seed_same_weights(tiny_dataset, tmp_path):
    common = ["--data", str(tiny_dataset), "--preset", "tiny", "--batch-size", "4", "--max-steps", "2", "--seed", "5"]
    assert main(["train", "vae", *common, "--out", str(tmp_path / "a")]) == 0
    assert main(["train", "vae", *common, "--out", str(tmp_path / "b")]) == 0
    a, b = MotionVAE.load(tmp_path / "a" / "vae"), MotionVAE.load(tmp_path / "b" / "vae")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


@pytest.mark.parametrize("prediction", ["v_prediction", "sample"])
def test_denoiser_prediction_types_train_and_generate(tiny_model, tmp_path, tiny_dataset, prediction):
    """--prediction-type reaches the saved config, and the pipeline samples such a denoiser (a scheduler
    built for its type; the conversions themselves are tested in test_pipeline)."""
    import shutil

    import numpy as np

    from lead.pipeline import TextToMotionPipeline

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs", "denoiser"))
    common = ["--data", str(tiny_dataset), "--out", str(model), "--preset", "tiny", "--batch-size", "4",
              "--lr", "1e-3", "--log-every", "1"]
    assert main(["train", "denoiser", *common, "--max-steps", "3", "--prediction-type", prediction]) == 0
    assert LatentDenoiser.load(model / "denoiser").config.prediction_type == prediction
    pipe = TextToMotionPipeline.from_pretrained(model)
    seen = []
    out = pipe("a person walks forward", 40, num_inference_steps=3, callback=seen.append)
    assert np.isfinite(out.features[0]).all() and len(seen) == 3
    # The sampler's x0 at the last step is the network's own z0 estimate, converted by its type.
    assert torch.isfinite(seen[-1].x0).all()


def test_lcm_distillation_trains_and_samples_in_few_steps(tiny_model, tmp_path, tiny_dataset):
    """`lead train lcm` writes an lcm/ component: the teacher's weights plus a guidance-embedding input
    (zero at the start, so the first student is the teacher); `--sampler lcm` samples with it in 1-4
    steps, with and without the projector, and a row's motion does not depend on its batch."""
    import shutil

    import numpy as np

    from lead.pipeline import TextToMotionPipeline
    from lead.train.lcm import boundary_scalings

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs"))
    common = ["--data", str(tiny_dataset), "--out", str(model), "--preset", "tiny", "--batch-size", "4",
              "--log-every", "1"]
    assert main(["train", "lcm", *common, "--max-steps", "4", "--lr", "1e-3"]) == 0
    student = LatentDenoiser.load(model / "lcm")
    teacher = LatentDenoiser.load(model / "denoiser")
    assert student.config.guidance_embedding_dim == 256
    assert student.time_embedding.cond_proj.weight.abs().sum() > 0  # trained away from its zero start
    moved = [k for k, v in teacher.state_dict().items() if not torch.equal(v, student.state_dict()[k])]
    assert moved  # the student's shared weights were trained too
    metrics = (model / "runs/lcm/logs/version_0/metrics.csv").read_text()
    assert "train/loss" in metrics
    pipe = TextToMotionPipeline.from_pretrained(model)
    for steps in (1, 2, 4):
        lead = pipe("a person walks forward", 40, seed=3, sampler="lcm", num_inference_steps=steps)
        mld = pipe("a person walks forward", 40, seed=3, sampler="lcm", num_inference_steps=steps,
                   use_projector=False)
        assert np.isfinite(lead.features[0]).all() and not np.allclose(lead.features[0], mld.features[0])
    alone = pipe("a person walks forward", 40, seed=5, sampler="lcm", num_inference_steps=4).features[0]
    batched = pipe(["someone waves", "a person walks forward"], [40, 40], seed=4, sampler="lcm",
                   num_inference_steps=4).features[1]
    np.testing.assert_allclose(alone, batched, atol=1e-4)
    c_skip, c_out = boundary_scalings(torch.tensor([0, 999]))
    assert c_skip[0] == 1 and c_out[0] == 0 and c_skip[1] < 1e-6  # f(z, 0) = z; far from 0: x0


def test_lcm_sampler_without_the_component_is_a_clear_error(tiny_model):
    from lead.errors import LeadError
    from lead.pipeline import TextToMotionPipeline

    pipe = TextToMotionPipeline.from_pretrained(tiny_model)
    with pytest.raises(LeadError, match="lead train lcm"):
        pipe("a person walks forward", 40, sampler="lcm", num_inference_steps=2)
    with pytest.raises(LeadError, match="1..50 for the lcm"):
        pipe("a person walks forward", 40, sampler="lcm", num_inference_steps=51)


@pytest.mark.parametrize(("option", "message"), [
    (["--max-steps", "-5"], "--max-steps must be"), (["--max-steps", "0"], "--max-steps must be"),
    (["--batch-size", "0"], "--batch-size must be"), (["--lr", "nan"], "--lr must be"),
    (["--lr", "-1"], "--lr must be"),
    (["--max-time", "tomorrow"], "--max-time must be DD:HH:MM:SS"), (["--precision", "bogus"], "--precision 'bogus'"),
    (["--workers", "-1"], "--workers must be"), (["--devices", "99"], "--devices 99"),
    (["--devices", "many"], "--devices must be"),
])
def test_bad_training_options_are_one_line_errors(tiny_dataset, tmp_path, capsys, option, message):
    code = main(["train", "vae", "--data", str(tiny_dataset), "--out", str(tmp_path / "m"), "--preset", "tiny",
                 *option])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m" / "vae").exists()


def test_gpu_accelerator_without_a_gpu_is_refused(tiny_dataset, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["train", "vae", "--data", str(tiny_dataset), "--out", str(tmp_path), "--accelerator", "gpu"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_training_into_a_finished_stage_is_refused_without_overwrite(tiny_model, tiny_dataset, tmp_path, capsys):
    import hashlib
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    digest = hashlib.sha256((model / "vae" / "model.safetensors").read_bytes()).hexdigest()
    common = ["--data", str(tiny_dataset), "--out", str(model), "--preset", "tiny", "--batch-size", "4"]
    assert main(["train", "vae", *common, "--max-steps", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert hashlib.sha256((model / "vae" / "model.safetensors").read_bytes()).hexdigest() == digest
    assert main(["train", "vae", *common, "--max-steps", "2", "--overwrite"]) == 0
    assert hashlib.sha256((model / "vae" / "model.safetensors").read_bytes()).hexdigest() != digest


def test_a_non_finite_loss_stops_training_and_exports_nothing(tiny_dataset, tmp_path, capsys):
    """Finite but absurd values (NaN itself is refused when the dataset loads): the loss overflows to inf
    and training stops with one line, exporting nothing."""
    import shutil

    import numpy as np

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    for path in sorted((data / "new_joint_vecs").glob("*.npy")):
        clip = np.load(path)
        clip[5, 10] = 1e30
        np.save(path, clip)
    code = main(["train", "vae", "--data", str(data), "--out", str(tmp_path / "m"), "--preset", "tiny",
                 "--batch-size", "4", "--max-steps", "3"])
    err = capsys.readouterr().err
    assert code == 2 and "training loss became" in err and "nothing was exported" in err, err
    assert not (tmp_path / "m" / "vae").exists()


def test_two_process_cpu_ddp_trains_saves_once_and_resumes(tiny_dataset, tmp_path):
    """`--devices 2 --strategy ddp --accelerator cpu` (gloo): both ranks train, the component and the
    checkpoint are written once (rank 0), and --resume continues. (It hung before: a validation metric
    that only some ranks logged with sync_dist, and gloo's interface choice.)"""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "lead.cli", "train", "vae", "--data", str(tiny_dataset), "--out", str(out),
               "--preset", "tiny", "--batch-size", "4", "--devices", "2", "--strategy", "ddp",
               "--accelerator", "cpu", "--log-every", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run([*command, "--max-steps", "4"], env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("saved ") == 1 and (out / "vae" / "model.safetensors").is_file()
    assert run.stdout.count("weights identical on 2 ranks") == 1, run.stdout[-2000:]

    # One process with the same global batch (2 x 4 = 8): the validation loss (averaged over ranks)
    # follows the same curve. The items per step and the per-rank noise differ, so within a tolerance.
    single = tmp_path / "single"
    one = subprocess.run([sys.executable, "-m", "lead.cli", "train", "vae", "--data", str(tiny_dataset), "--out",
                          str(single), "--preset", "tiny", "--batch-size", "8", "--accelerator", "cpu",
                          "--log-every", "1", "--max-steps", "4"], env=env, capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-2000:]

    def val_curve(folder):
        rows = csv.DictReader(open(folder / "runs/vae/logs/version_0/metrics.csv"))
        return [float(r["val/loss"]) for r in rows if r.get("val/loss")]

    ddp_curve, single_curve = val_curve(out), val_curve(single)
    assert len(ddp_curve) == len(single_curve) == 4, (ddp_curve, single_curve)
    assert ddp_curve[-1] < ddp_curve[0] and single_curve[-1] < single_curve[0]
    np.testing.assert_allclose(ddp_curve, single_curve, rtol=0.15)
    first = torch.load(out / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    resumed = subprocess.run([*command, "--max-steps", "6", "--resume"], env=env, capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    second = torch.load(out / "runs/vae/checkpoints/last.ckpt", weights_only=False)["global_step"]
    assert (first, second) == (4, 6)
    assert "train/loss" in (out / "runs/vae/logs/version_0/metrics.csv").read_text()


def test_denoiser_init_from_fine_tunes_an_existing_denoiser(tiny_model, tmp_path, tiny_dataset, capsys):
    """`--init-from MODEL` starts the denoiser from MODEL's weights (a run at lr
    1e-12 ends where it started), takes its architecture and keeps OUT's latent scale; a mismatched denoiser is
    refused."""
    import shutil

    from lead.models.bundle import read_bundle_config

    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("runs"))
    scale = read_bundle_config(model).latent_scale
    common = ["--data", str(tiny_dataset), "--out", str(model), "--batch-size", "4", "--log-every", "1",
              "--init-from", str(tiny_model), "--overwrite"]
    # --preset small is ignored in favour of the initial denoiser's (tiny) architecture
    assert main(["train", "denoiser", *common, "--preset", "small", "--max-steps", "2", "--lr", "1e-12"]) == 0
    start, tuned = LatentDenoiser.load(tiny_model / "denoiser"), LatentDenoiser.load(model / "denoiser")
    assert tuned.config == start.config
    for (name, x), (_, y) in zip(start.state_dict().items(), tuned.state_dict().items()):
        assert torch.allclose(x, y, rtol=0, atol=1e-8), name
    assert read_bundle_config(model).latent_scale == scale
    # a real fine-tune moves the weights
    assert main(["train", "denoiser", *common, "--max-steps", "3", "--lr", "1e-2"]) == 0
    moved = LatentDenoiser.load(model / "denoiser")
    assert max((x - y).abs().max() for x, y in zip(start.state_dict().values(), moved.state_dict().values())) > 1e-4
    # a denoiser for other latents is refused with a message naming the fix
    import dataclasses

    other = tmp_path / "other"
    LatentDenoiser(dataclasses.replace(start.config, latent_size=start.config.latent_size + 1)).save(other / "denoiser")
    assert main(["train", "denoiser", *common[:-3], "--init-from", str(other), "--overwrite", "--max-steps", "1"]) != 0
    assert "copy the whole model folder" in capsys.readouterr().err
