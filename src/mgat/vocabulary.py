"""The names of what the project computes, shared by the package, the command line, the workflow
and the schema; importable with the standard library only, so the workflow reads them without
torch (a test checks the schema's enums against them).
"""

from __future__ import annotations

#: Stage 1 (the ResNet-bn baseline).
BASELINE = "baseline"
#: The control: stage 2 exactly as MGAT's (sampler, seed, schedule, BatchNorm, loss reduction,
#: epochs) but without the graph, X' = X, and without the OF loss.
CONTROL = "finetune"
#: The stage-2 variants, each started from the stage-1 model: the control, MGAT, and the
#: conventional GAT of the paper's ablation.
GRAPH_STAGES = (CONTROL, "mgat", "gat")
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

#: The model pairs whose differences carry a confidence interval: (model, reference).
DIFFERENCES = (("mgat", CONTROL), ("mgat", BASELINE), ("mgat", "gat"))

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
