#!/usr/bin/env bash
# Train the default model shipped in src/lead/assets/default: the three LEAD stages on the
# Bandai-Namco dataset (built by `lead data prepare bandai-namco`), then export it in fp16.
#
#   scripts/train_default.sh /path/to/bandai-hml [work-dir]
#
# Wall-time budgets per stage come from the environment (Lightning --max-time, DD:HH:MM:SS);
# the defaults fit a 2-core CPU in about 1.5 hours. On a GPU, raise them and add --accelerator gpu.
set -euo pipefail
DATA=${1:?usage: scripts/train_default.sh DATA_DIR [WORK_DIR]}
WORK=${2:-runs/default}
VAE_TIME=${VAE_TIME:-00:00:45:00}
DENOISER_TIME=${DENOISER_TIME:-00:00:30:00}
PROJECTOR_TIME=${PROJECTOR_TIME:-00:00:12:00}
COMMON=(--data "$DATA" --out "$WORK" --preset small --min-length 20 --checkpoint-every 200 --log-every 10 ${EXTRA_ARGS:-})

lead train vae "${COMMON[@]}" --batch-size 32 --lr 3e-4 --max-time "$VAE_TIME"
lead train denoiser "${COMMON[@]}" --batch-size 64 --lr 2e-4 --max-time "$DENOISER_TIME"
lead train projector "${COMMON[@]}" --batch-size 64 --lr 1e-4 --max-time "$PROJECTOR_TIME"
python "$(dirname "$0")/export_model.py" "$WORK" "$(dirname "$0")/../src/lead/assets/default" --dtype float16
