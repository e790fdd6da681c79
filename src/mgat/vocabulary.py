"""The names and defaults of what the project computes, shared by the package, the command
line, the workflow and the schema: each list and each default has its home here. Importable with
the standard library only, so the workflow reads them without torch (tests check the schema's
enums and defaults, the command line's choices and the README's configuration table against
them).
"""

from __future__ import annotations

#: Stage 1 (the ResNet-bn baseline).
BASELINE = "baseline"
#: The control: stage 2 exactly as MGAT's (sampler, seed, schedule, BatchNorm, loss reduction,
#: epochs) but without the graph, X' = X, and without the OF loss.
CONTROL = "finetune"
#: Stage 2 with the masked graph attention (the paper's method).
MGAT = "mgat"
#: Stage 2 with the conventional, unmasked graph attention (the paper's ablation).
GAT = "gat"
#: The stage-2 variants, each started from the stage-1 model: the control, MGAT, and the
#: conventional GAT of the paper's ablation.
GRAPH_STAGES = (CONTROL, MGAT, GAT)
#: The stage-2 variants a sweep can vary (the control reads no graph setting).
SWEEP_STAGES = (MGAT, GAT)
#: Every training stage, in the order the tables list them.
STAGES = (BASELINE, *GRAPH_STAGES)

#: Where MGAT reads its input X: the pooled trunk feature before the head BN, or after it.
GRAPH_FEATURES = ("pooled", "bn")
#: What the BatchNorm layers do in stage 2: re-estimate their running statistics on the stage-2
#: batches (``train``, as a network in training mode does), or keep stage 1's (``frozen``).
BN_MODES = ("train", "frozen")
#: How stage 2's identity and OF losses reduce over a batch's images (eq. 11 sums over nodes).
LOSS_REDUCTIONS = ("mean", "sum")
#: The OF loss's per-image term: the squared error averaged over the feature's dimensions (the
#: text's "mean squared error"), or the L2 norm of eq. (11) as printed.
OF_LOSS_FORMS = ("mse", "l2")
#: The test features one extraction stores: the pooled trunk feature and the post-BN feature.
TEST_FEATURES = ("pooled", "bn")

#: A model's k-reciprocal re-ranked evaluation (Zhong et al., CVPR 2017) is aggregated and
#: tabled as a model of its own, named by this suffix: ``baseline+rerank``.
RERANK_SUFFIX = "+rerank"


def reranked(model: str) -> str:
    """The name of ``model``'s re-ranked evaluation."""
    return model + RERANK_SUFFIX


#: Every model an aggregate can hold, in table order: the stages, then their re-ranked
#: evaluations.
MODELS = (*STAGES, *(reranked(stage) for stage in STAGES))

#: The model pairs whose differences carry a confidence interval: (model, reference). The last
#: two measure the paper's claim that MGAT makes re-ranking unnecessary (Sections 1, 3.1): MGAT
#: against the baseline with re-ranking, and what re-ranking still adds to MGAT.
DIFFERENCES = (
    (MGAT, CONTROL),
    (MGAT, BASELINE),
    (MGAT, GAT),
    (MGAT, reranked(BASELINE)),
    (reranked(MGAT), reranked(BASELINE)),
)

#: Gallery protocols: torchreid's (a query's own tracklet left out of the gallery) or the
#: official kits' (MARS: every test tracklet in the gallery).
PROTOCOLS = ("torchreid", "official")
#: Forms of average precision: torchreid's mean precision at each hit, or the kits' trapezoid.
AP_FORMS = ("noninterpolated", "trapezoid")
#: Frames that represent a tracklet at test time: ``seq_len`` evenly spaced, or all.
SAMPLINGS = ("evenly", "all")

#: Defaults of the evaluation (the schema's, the command line's and the functions' own).
DEFAULT_PROTOCOL = PROTOCOLS[0]
DEFAULT_AP = AP_FORMS[0]
DEFAULT_SAMPLING = SAMPLINGS[0]
DEFAULT_SEQ_LEN = 15  # torchreid's test default
DEFAULT_BATCH_SIZE = 256  # images per forward pass during extraction
DEFAULT_MAX_RANK = 50  # the longest CMC curve kept
DEFAULT_FEATURE = TEST_FEATURES[0]
#: k-reciprocal re-ranking's parameters (Zhong et al. 2017, Section 4.2 and their Market-1501
#: setting): k1 neighbours, k2 for the local query expansion, lambda the original distance's
#: weight in the final one.
DEFAULT_RERANK_K1 = 20
DEFAULT_RERANK_K2 = 6
DEFAULT_RERANK_LAMBDA = 0.3

#: The parameters a sweep varies, in the order of its folders (M and K: persons x images).
SWEEP_PARAMETERS = ("gamma", "features", "of_loss", "of_weight", "M", "K", "bn", "loss_reduction")
#: Those the control reads (it has no graph and no OF loss): one control serves every sweep
#: setting that shares them.
CONTROL_PARAMETERS = ("M", "K", "bn", "loss_reduction")

#: How far a stage moved the network, per epoch in ``train_log.csv`` (mgat.engine.diagnostics).
MOVEMENT_COLUMNS = (
    "move_trunk",  # ||W - W0|| / ||W0|| over the trunk's trainable weights
    "move_head",  # the same over the head (BN weight, classifier)
    "bn_mean_shift_trunk",  # RMS over BN channels of |mu - mu0| / sigma0, the trunk's BN layers
    "bn_std_change_trunk",  # RMS over BN channels of |sigma / sigma0 - 1|
    "bn_mean_shift_head",  # the same for the head's BN
    "bn_std_change_head",
)
