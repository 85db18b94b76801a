#!/usr/bin/env bash
# The LEAD paper's own regime, end to end: MLD's architecture (`--preset mld`: a 1-token 256-d latent, MLD's
# 9-layer VAE and denoiser, epsilon prediction, guidance 7.5) trained in the three stages, the projector at
# MLD size (9+9 layers) with a batch of 256 for the batch-distribution KL, then the paired realignment study
# (benchmarks/realignment_study.py) of that model's LEAD against its MLD on the test split.
#
#   scripts/train_paper_regime.sh DATA_DIR EVALUATOR_DIR [WORK_DIR]
#
# DATA_DIR: a HumanML3D-format folder (HumanML3D itself, or `lead data prepare bandai-namco ...`);
# EVALUATOR_DIR: `lead train evaluator --data DATA_DIR --out EVALUATOR_DIR` (or the published T2M one).
# Meant for a GPU (EXTRA_ARGS="--accelerator gpu --devices 1" is the default when nvidia-smi answers);
# every budget is an environment variable so that the tests run it at tiny size on a CPU:
#   PRESET=tiny VAE_STEPS=4 DENOISER_STEPS=4 PROJECTOR_STEPS=4 BATCH=4 PROJECTOR_BATCH=4 STUDY_LIMIT=6 ...
set -euo pipefail
DATA=${1:?usage: scripts/train_paper_regime.sh DATA_DIR EVALUATOR_DIR [WORK_DIR]}
EVALUATOR=${2:?usage: scripts/train_paper_regime.sh DATA_DIR EVALUATOR_DIR [WORK_DIR]}
WORK=${3:-runs/paper-regime}
PRESET=${PRESET:-mld}
VAE_STEPS=${VAE_STEPS:-40000}
DENOISER_STEPS=${DENOISER_STEPS:-60000}
PROJECTOR_STEPS=${PROJECTOR_STEPS:-10000}
BATCH=${BATCH:-64}
PROJECTOR_BATCH=${PROJECTOR_BATCH:-256}
MIN_LENGTH=${MIN_LENGTH:-20}
STUDY_SPLIT=${STUDY_SPLIT:-test}
STUDY_LIMIT=${STUDY_LIMIT:-0}
STUDY_REPLICATIONS=${STUDY_REPLICATIONS:-3}
if [ -z "${EXTRA_ARGS+x}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    EXTRA_ARGS="--accelerator gpu --devices 1 --workers 4"
  else
    EXTRA_ARGS=""
  fi
fi
COMMON=(--data "$DATA" --out "$WORK" --preset "$PRESET" --min-length "$MIN_LENGTH" --checkpoint-every 1000
        --log-every 50 ${EXTRA_ARGS})
HERE="$(cd "$(dirname "$0")" && pwd)"

# Stage 1: MLD's VAE (global layout, 1 latent token at the mld preset).
lead train vae "${COMMON[@]}" --batch-size "$BATCH" --lr 1e-4 --max-steps "$VAE_STEPS" --val-every 10
# Stage 2: MLD's denoiser, epsilon prediction (the paper's), condition dropout 0.1.
lead train denoiser "${COMMON[@]}" --batch-size "$BATCH" --lr 1e-4 --max-steps "$DENOISER_STEPS" --val-every 10 \
    --prediction-type epsilon
# Stage 3: the projector as the paper trains it (paper losses with the squared-norm L_rec, batch >= 256).
lead train projector "${COMMON[@]}" --batch-size "$PROJECTOR_BATCH" --lr 1e-4 --max-steps "$PROJECTOR_STEPS" \
    --val-every 10 --rec-reduction sum
# The same model's projector as the paper's mean-reduced variant, for the study.
lead train projector "${COMMON[@]}" --batch-size "$PROJECTOR_BATCH" --lr 1e-4 --max-steps "$PROJECTOR_STEPS" \
    --val-every 10 --name projector-mean
# The paired study: MLD vs LEAD on the same latents, DDIM 50 at the paper's guidance 7.5 and a sweep.
python "$HERE/../benchmarks/realignment_study.py" --data "$DATA" --evaluator "$EVALUATOR" --model "$WORK" \
    --projectors projector projector-mean --split "$STUDY_SPLIT" --replications "$STUDY_REPLICATIONS" \
    --limit "$STUDY_LIMIT" --regimes ddim:50:g7.5 ddim:50:g2.5 ddim:50:g5 ddim:10:g7.5 noise:0.3 \
    --out "$WORK/study"
echo "paper regime done: $WORK/study/study.md"
