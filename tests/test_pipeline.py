"""Generation: determinism, projector switch, lengths, concepts, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lead.diffusion import SAMPLERS, classifier_free_guidance, make_scheduler, sample
from lead.errors import LeadError
from lead.pipeline import DEFAULT, TextToMotionPipeline


@pytest.fixture(scope="module")
def pipeline(tiny_model):
    return TextToMotionPipeline.from_pretrained(tiny_model)


def test_same_seed_same_motion_and_lengths(pipeline):
    a = pipeline(["a person walks forward", "someone waves"], [40, 61], num_samples=2, seed=3,
                 num_inference_steps=5)
    b = pipeline(["a person walks forward", "someone waves"], [40, 61], num_samples=2, seed=3,
                 num_inference_steps=5)
    assert [f.shape for f in a.features] == [(40, 263), (40, 263), (61, 263), (61, 263)]
    assert [j.shape for j in a.joints] == [(40, 22, 3), (40, 22, 3), (61, 22, 3), (61, 22, 3)]
    assert a.seeds == [3, 4, 5, 6]
    for x, y in zip(a.features, b.features):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a.features[0], a.features[1])  # different seeds differ


def test_sample_does_not_depend_on_batch_composition(pipeline):
    alone = pipeline("a person walks forward", 48, seed=11, num_inference_steps=5)
    batched = pipeline(["someone waves", "a person walks forward"], [48, 48], seed=10, num_inference_steps=5)
    np.testing.assert_allclose(alone.features[0], batched.features[1], atol=1e-4)


def test_projector_switch_changes_only_the_realignment(pipeline):
    lead = pipeline("a person walks forward", 40, seed=1, num_inference_steps=5, use_projector=True)
    mld = pipeline("a person walks forward", 40, seed=1, num_inference_steps=5, use_projector=False)
    assert not np.allclose(lead.features[0], mld.features[0])
    # The MLD path is exactly: sample → VAE decode.
    z = pipeline.sample(pipeline.encode_prompt(["a person walks forward"]), [1], num_inference_steps=5)
    decoded = pipeline.vae.decode(z / pipeline.config.latent_scale, torch.tensor([40]))[0].numpy()
    np.testing.assert_allclose(pipeline.normalizer.denormalize(decoded), mld.features[0], atol=1e-5)
    # ... and LEAD's: the projector on z, then the same decode; another projector object plugs in the same way.
    realigned = pipeline.decode(z, [40], pipeline.projector, smoothing=0)
    np.testing.assert_allclose(pipeline.decode(z, [40], DEFAULT, smoothing=0), realigned)
    with torch.no_grad():
        np.testing.assert_allclose(pipeline.decode(z, [40], None, smoothing=0),
                                   pipeline.latent_space.decode(z, [40]))


@pytest.mark.parametrize(
    ("texts", "lengths", "message"),
    [([""], [40], "empty text"), (["walk"], [0], "out of range"), (["walk"], [-5], "out of range"),
     (["walk"], [10_000], "out of range"), (["x" * 600], [40], "characters long")],
)
def test_bad_requests_are_clear_errors(pipeline, texts, lengths, message):
    with pytest.raises(LeadError, match=message):
        pipeline(texts, lengths, num_inference_steps=2)


def test_guidance_formula():
    c, u = torch.tensor([2.0]), torch.tensor([1.0])
    assert classifier_free_guidance(c, u, 7.5).item() == pytest.approx(7.5 * 2 - 6.5 * 1)


def test_ddim_with_perfect_denoiser_recovers_the_target():
    """If the network predicts the exact noise of a known x0, DDIM lands on x0."""
    target = torch.randn(2, 1, 8, generator=torch.Generator().manual_seed(0))
    from lead.diffusion import make_sampling_scheduler

    scheduler = make_sampling_scheduler()
    alphas = scheduler.alphas_cumprod

    def denoise(latent, t, condition):
        a = alphas[int(t)]
        return (latent - a.sqrt() * target) / (1 - a).sqrt()

    noise = torch.randn(2, 1, 8, generator=torch.Generator().manual_seed(1))
    out = sample(lambda latent, t: denoise(latent, t, None), noise, scheduler, 20, {"eta": 0.0})
    # MLD's DDIM (set_alpha_to_one=False) stops at ᾱ_0 = 1 − 0.00085, not at 1, so the result keeps
    # √(1−ᾱ_0) ≈ 0.03 of the implied noise.
    assert (out - target).abs().max() < 0.1
    assert (out - target).norm() < 0.05 * (noise - target).norm()


def test_step_range_matches_the_scheduler(pipeline):
    """1000 DDIM steps would start past MLD's schedule (steps_offset 1): refused with the valid range."""
    from lead.diffusion import make_sampling_scheduler
    from lead.pipeline import MAX_STEPS

    scheduler = make_sampling_scheduler()
    scheduler.set_timesteps(MAX_STEPS)
    assert int(scheduler.timesteps.max()) < scheduler.config.num_train_timesteps
    with pytest.raises(LeadError, match=f"1..{MAX_STEPS}"):
        pipeline("a person walks forward", 40, seed=0, num_inference_steps=MAX_STEPS + 1)
    for name, spec in SAMPLERS.items():  # every registered sampler accepts its whole advertised range
        scheduler = spec.build()
        scheduler.set_timesteps(spec.max_steps)
        assert int(scheduler.timesteps.max()) < scheduler.config.num_train_timesteps, name


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_recovers_x0_from_a_perfect_denoiser(name, prediction):
    """The shared loop drives each diffusers scheduler correctly (input scaling, init sigma) for each
    prediction type: with the exact output for a known z0, 10 steps land near z0, and the callback's
    x0 is z0 at every step."""
    from lead.diffusion.noise import alpha_bar, training_target

    target = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(0))

    def denoise(model_input, t):
        a = alpha_bar(t, model_input)
        eps = (model_input - a.sqrt() * target) / (1 - a).sqrt()
        return training_target(target, eps, t.expand(2), prediction)

    seen = []
    noise = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(1))
    spec = SAMPLERS[name]
    out = sample(denoise, noise, make_scheduler(name, prediction), 10, spec.step_kwargs, callback=seen.append,
                 prediction_type=prediction)
    assert len(seen) == 10 and [s.index for s in seen] == list(range(10))
    for state in seen:
        np.testing.assert_allclose(state.x0, target, atol=1e-3)
    assert (out - target).abs().max() < 0.1


def test_callback_can_edit_the_latent(pipeline):
    """A callback that returns a tensor replaces the latent: pinning z to zero at every step gives the
    decode of zeros; one that returns None changes nothing."""
    prompt = pipeline.encode_prompt(["a person walks forward"])
    plain = pipeline.sample(prompt, [4], num_inference_steps=4)
    watched = pipeline.sample(prompt, [4], num_inference_steps=4, callback=lambda state: None)
    torch.testing.assert_close(plain, watched, rtol=0, atol=0)
    pinned = pipeline.sample(prompt, [4], num_inference_steps=4, callback=lambda state: torch.zeros_like(state.latent))
    assert torch.count_nonzero(pinned) == 0


@pytest.mark.parametrize("name", sorted(set(SAMPLERS) - {"lcm"}))  # lcm: test_training (needs an lcm/ component)
def test_generate_with_each_sampler(pipeline, name):
    out = pipeline("a person walks forward", 40, seed=0, num_inference_steps=4, sampler=name)
    assert out.settings["sampler"] == name and np.isfinite(out.features[0]).all()


def test_unknown_sampler_and_step_range_name_the_parameter(pipeline):
    with pytest.raises(LeadError, match="unknown sampler 'heun'.*ddim"):
        pipeline("a person walks forward", 40, sampler="heun")
    with pytest.raises(LeadError, match="num_inference_steps must be an integer in 1..1000 for the dpm"):
        pipeline("a person walks forward", 40, sampler="dpm++", num_inference_steps=0)


def test_initial_latents_and_generator(pipeline):
    prompt = pipeline.encode_prompt(["a person walks forward", "someone waves"])
    by_seed = pipeline.sample(prompt, [5, 6], num_inference_steps=3)
    given = pipeline.sample(prompt, latents=pipeline.initial_noise([5, 6]), num_inference_steps=3)
    torch.testing.assert_close(by_seed, given, rtol=0, atol=0)
    a = pipeline.sample(prompt, generator=torch.Generator().manual_seed(9), num_inference_steps=3)
    b = pipeline.sample(prompt, generator=torch.Generator().manual_seed(9), num_inference_steps=3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(LeadError, match="latents has shape"):
        pipeline.sample(prompt, latents=torch.zeros(1, 1, 1), num_inference_steps=3)


def test_pipeline_to_dtype_keeps_the_motion(pipeline, tiny_model):
    """.to(dtype) casts every network; float64 reproduces float32 within float32 rounding."""
    wide = TextToMotionPipeline.from_pretrained(tiny_model).to("cpu", torch.float64)
    assert next(wide.denoiser.parameters()).dtype == torch.float64
    a = pipeline("a person walks forward", 40, seed=2, num_inference_steps=4).features[0]
    b = wide("a person walks forward", 40, seed=2, num_inference_steps=4).features[0]
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_smoothing_low_passes_generated_frames(pipeline):
    raw = pipeline("a person walks forward", 40, seed=2, num_inference_steps=3, smoothing=0)
    smooth = pipeline("a person walks forward", 40, seed=2, num_inference_steps=3, smoothing=5)
    rough = lambda f: np.abs(np.diff(f, 2, axis=0)).mean()  # noqa: E731
    assert rough(smooth.features[0]) < rough(raw.features[0])
    assert smooth.settings["smoothing"] == 5 and raw.settings["smoothing"] == 0
    with pytest.raises(LeadError, match="odd"):
        pipeline("a person walks forward", 40, seed=2, num_inference_steps=3, smoothing=4)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_prediction_type_conversions_invert_the_training_target(prediction):
    from lead.diffusion import add_noise, predict_epsilon, predict_x0, training_target

    g = torch.Generator().manual_seed(0)
    clean, noise = torch.randn(4, 3, 8, generator=g), torch.randn(4, 3, 8, generator=g)
    t = torch.tensor([1, 250, 600, 999])
    noisy = add_noise(clean, noise, t)
    target = training_target(clean, noise, t, prediction)
    torch.testing.assert_close(predict_x0(noisy, target, t, prediction), clean, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(predict_epsilon(noisy, target, t, prediction), noise, atol=2e-3, rtol=1e-3)


def test_guidance_defaults_to_the_models_own(pipeline):
    """No guidance given: the model's config.json `guidance` (the lcm sampler keeps 7.5, inside the w range
    its student was distilled on); the value used is what the settings record, and sampling follows it."""
    from dataclasses import replace

    from lead import defaults

    tuned = TextToMotionPipeline(pipeline.text_encoder, pipeline.vae, pipeline.denoiser, pipeline.normalizer,
                                 replace(pipeline.config, guidance=3.0), pipeline.projector)
    assert tuned.resolve_guidance(None) == 3.0 and tuned.resolve_guidance(None, "lcm") == defaults.GUIDANCE
    assert tuned.resolve_guidance(6.0) == 6.0
    implicit = tuned("a person walks", 40, seed=2, num_inference_steps=3)
    explicit = tuned("a person walks", 40, seed=2, num_inference_steps=3, guidance_scale=3.0)
    other = tuned("a person walks", 40, seed=2, num_inference_steps=3, guidance_scale=9.0)
    assert implicit.settings["guidance_scale"] == 3.0
    np.testing.assert_array_equal(implicit.features[0], explicit.features[0])
    assert not np.allclose(implicit.features[0], other.features[0])
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(LeadError, match="guidance must be a finite number"):
            tuned.resolve_guidance(bad)


def test_a_model_config_with_a_bad_guidance_is_refused_at_load(tmp_path):
    import json
    import shutil

    from lead.models.bundle import default_model_path, read_bundle_config

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    assert read_bundle_config(model).guidance == 4.0  # the shipped model's, chosen on the val split
    data = json.loads((model / "config.json").read_text())
    data["config"]["guidance"] = -2
    (model / "config.json").write_text(json.dumps(data))
    with pytest.raises(LeadError, match="config.json: guidance must be a finite number"):
        read_bundle_config(model)
