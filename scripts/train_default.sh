#!/usr/bin/env bash
# Train the default model shipped in src/lead/assets/default: the three LEAD stages on the
# Bandai-Namco dataset (built by `lead data prepare bandai-namco`), then export it in fp16.
#
#   scripts/train_default.sh /path/to/bandai-hml [work-dir]
#
# The VAE recipe is the one the sweep in docs/vae_sweep.md found: 4 frames per token (4x cheaper
# steps), sinusoidal start of the positional tables, a frame-difference (velocity) loss, no dropout,
# a log-variance bias of -6 (the decoder can read the latent from the first step), lr 1e-3 with
# warm-up and cosine decay. Stage budgets are in optimiser steps (VAE_STEPS, ...) so the schedule
# ends where it should; on the project's 2-core CPU the whole script takes about 1.5 hours
# (set OMP_NUM_THREADS / OMP_WAIT_POLICY=PASSIVE when the cores are shared). On a GPU, add
# EXTRA_ARGS="--accelerator gpu" and raise the step counts.
set -euo pipefail
DATA=${1:?usage: scripts/train_default.sh DATA_DIR [WORK_DIR]}
WORK=${2:-runs/default}
VAE_STEPS=${VAE_STEPS:-8000}
VAE_LATENT=${VAE_LATENT:-4}
DENOISER_STEPS=${DENOISER_STEPS:-12000}
PROJECTOR_STEPS=${PROJECTOR_STEPS:-6000}
COMMON=(--data "$DATA" --out "$WORK" --preset small --min-length 20 --checkpoint-every 500 --log-every 20 ${EXTRA_ARGS:-})

lead train vae "${COMMON[@]}" --batch-size 32 --lr 1e-3 --lr-schedule cosine --warmup-steps 100 \
    --max-steps "$VAE_STEPS" --val-every 10 --latent-size "$VAE_LATENT" --frames-per-token 4 \
    --position-init sinusoidal --velocity-weight 1 --dropout 0 --logvar-bias -6
# Rare actions (kick: 2 of 2,472 training clips, bow: 11) are drawn ~10x more often than uniform.
lead train denoiser "${COMMON[@]}" --batch-size 64 --lr 2e-4 --max-steps "$DENOISER_STEPS" --val-every 20 \
    --balance content
lead train projector "${COMMON[@]}" --batch-size 64 --lr 1e-4 --max-steps "$PROJECTOR_STEPS" --val-every 20 \
    --balance content
python "$(dirname "$0")/export_model.py" "$WORK" "$(dirname "$0")/../src/lead/assets/default" --dtype float16
