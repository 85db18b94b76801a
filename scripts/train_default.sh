#!/usr/bin/env bash
# Train the default model shipped in src/lead/assets/default: the three LEAD stages on the
# Bandai-Namco dataset (built by `lead data prepare bandai-namco`), then export it in fp16.
#
#   scripts/train_default.sh /path/to/bandai-hml /path/to/bandai-rev [work-dir]
#
# bandai-hml is `lead data prepare bandai-namco ...`; bandai-rev the same with --reversed-walks (every
# train walk also played backwards in time as a walk-back clip; same val/test and Mean/Std), which the
# denoiser's last stage trains on.
#
# The VAE recipe is the one the sweep in docs/vae_sweep.md found: the temporal layout (latent token k
# holds frames [8k, 8k+8): a fixed 25x128 latent), sinusoidal positions, velocity (and acceleration)
# losses, no dropout, a log-variance bias of -6, lr 1e-3 with warm-up and cosine decay. Generated
# motion is low-passed by a 3-tap binomial filter (the exported model's `smoothing`), its feet are pinned by
# the foot-contact cleanup at strength 1 and it is sampled with guidance 4 by default (both chosen on the
# val split: docs/foot_cleanup.md). Stage budgets
# are optimiser steps and minutes; on the project's 2-core CPU the script takes about 4 hours (set OMP_WAIT_POLICY=PASSIVE
# when the cores are shared). On a GPU, add EXTRA_ARGS="--accelerator gpu" and raise the step counts.
set -euo pipefail
DATA=${1:?usage: scripts/train_default.sh DATA_DIR REVERSED_DATA_DIR [WORK_DIR]}
DATA_REVERSED=${2:?usage: scripts/train_default.sh DATA_DIR REVERSED_DATA_DIR [WORK_DIR] (lead data prepare bandai-namco ... --reversed-walks)}
WORK=${3:-runs/default}
VAE_STEPS=${VAE_STEPS:-5000}
VAE_ACCELERATION=${VAE_ACCELERATION:-1}
DENOISER_STEPS=${DENOISER_STEPS:-10000}
DENOISER_TIME=${DENOISER_TIME:-00:01:15:00}
DENOISER_STEPS2=${DENOISER_STEPS2:-14000}
DENOISER_TIME2=${DENOISER_TIME2:-00:02:25:00}
DENOISER_STEPS3=${DENOISER_STEPS3:-3000}
PROJECTOR_STEPS=${PROJECTOR_STEPS:-6000}
PROJECTOR_TIME=${PROJECTOR_TIME:-00:00:50:00}
LCM_STEPS=${LCM_STEPS:-3500}
LCM_TIME=${LCM_TIME:-00:00:45:00}
COMMON=(--data "$DATA" --out "$WORK" --preset small --min-length 20 --checkpoint-every 500 --log-every 20 ${EXTRA_ARGS:-})

lead train vae "${COMMON[@]}" --batch-size 32 --lr 1e-3 --lr-schedule cosine --warmup-steps 100 \
    --max-steps "$VAE_STEPS" --val-every 10 --layout temporal --frames-per-token 8 \
    --position-init sinusoidal --velocity-weight 1 --acceleration-weight "$VAE_ACCELERATION" --dropout 0 \
    --logvar-bias -6
# Rare actions (kick: 2 of 2,472 training clips, bow: 11) are drawn ~10x more often than uniform.
# v-prediction (docs/denoiser_sweep.md): an epsilon-denoiser of this size leaves its 25x128 latents noisy
# (sample std 2.2, neighbour-token correlation 0.29 vs the data's 0.97 / 0.86); v fixes it.
lead train denoiser "${COMMON[@]}" --batch-size 64 --lr 8e-4 --lr-schedule cosine --warmup-steps 300 \
    --max-steps "$DENOISER_STEPS" --max-time "$DENOISER_TIME" --val-every 20 --dropout 0 --balance content \
    --prediction-type v_prediction
# Continued to 14,000 steps with rare contents drawn still more often (balance power 0.75: kick 1.9% of
# draws instead of 0.7%): --resume keeps the optimiser and restarts the cosine at step 10,000 of 14,000
# (lr 1.6e-4 decaying to 0). --max-time counts the first run's time too (Lightning restores its timer).
lead train denoiser "${COMMON[@]}" --batch-size 64 --lr 8e-4 --lr-schedule cosine --warmup-steps 300 \
    --max-steps "$DENOISER_STEPS2" --max-time "$DENOISER_TIME2" --val-every 20 --dropout 0 --balance content \
    --balance-power 0.75 --prediction-type v_prediction --resume
# Stage 3, a fine-tune on the --reversed-walks data: with 12 real backwards takes the model walked most styled
# backwards captions forwards (test 10 of 24 generations). Two runs of 3,000 steps from the 14,000-step
# denoiser: walk-back ~6% of draws at lr 2e-4 (test 20/24), then from there 20% of draws (--balance-boost
# walk-back=4) at lr 3e-4 (test 24/24; FID 0.646 -> 0.589). The LCM student below was distilled before this
# stage (from the 14,000-step denoiser), as shipped: run it before stage 3 to reproduce lcm/.
lead train lcm "${COMMON[@]}" --batch-size 64 --lr 2e-4 --lr-schedule cosine --warmup-steps 100 \
    --max-steps "$LCM_STEPS" --max-time "$LCM_TIME" --val-every 20 --balance content
FINETUNE=(--data "$DATA_REVERSED" --out "$WORK" --init-from "$WORK" --overwrite --preset small --min-length 20
          --checkpoint-every 500 --log-every 20 --batch-size 64 --lr-schedule cosine --warmup-steps 100
          --max-steps "$DENOISER_STEPS3" --val-every 20 --dropout 0 --balance content --balance-power 0.75
          --prediction-type v_prediction ${EXTRA_ARGS:-})
# Each fine-tune starts a fresh run folder (a new optimiser and schedule); the earlier ones are kept.
mv "$WORK/runs/denoiser" "$WORK/runs/denoiser-14000"
lead train denoiser "${FINETUNE[@]}" --lr 2e-4
mv "$WORK/runs/denoiser" "$WORK/runs/denoiser-reversed-1"
lead train denoiser "${FINETUNE[@]}" --lr 3e-4 --balance-boost walk-back=4
# The projector ran 4,830 steps in its 50 minutes on shared cores (val loss 0.296, 0.607 at step 760); the one
# shipped before was the same recipe stopped at 7 minutes (1,289 steps): T2M FID 0.765 against 0.691 (README).
lead train projector "${COMMON[@]}" --batch-size 64 --lr 1e-4 --max-steps "$PROJECTOR_STEPS" \
    --max-time "$PROJECTOR_TIME" --val-every 20 --balance content
python "$(dirname "$0")/export_model.py" "$WORK" "$(dirname "$0")/../src/lead/assets/default" --dtype float16 \
    --smoothing 3 --foot-cleanup 1 --guidance 4
