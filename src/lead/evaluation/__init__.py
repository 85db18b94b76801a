"""Evaluation: the Guo et al. (CVPR 2022) text–motion evaluator and the T2M metrics.

- `evaluator`: `T2MEvaluator` (published architecture; loads text_mot_match/model/finest.tar, saves and
  loads our own evaluator folders) and `EvaluatorConfig`.
- `word_vectorizer`: `word/POS` tokens → word vectors (GloVe `our_vab_*` or frozen MiniLM token
  embeddings) + the reference 15-class POS one-hots.
- `metrics`: FID, R-precision, MM-Dist, diversity, multimodality, confidence intervals (numpy).
- `train`: training an evaluator on a HumanML3D-format folder (`lead train evaluator`).

Submodules are imported explicitly (`from lead.evaluation.metrics import fid`) so that importing this
package stays free of torch.
"""
