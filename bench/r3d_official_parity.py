"""Parity: R3D's official code (olivesgatech/R3D) and mmfuse's R3D configuration on the same data and split.

Both sides train on the real UTKinect-Action3D skeletons (``../shared/data/utkinect``), converted once by
this script into R3D's UTKinect feature layout (``datasets/darai.md``, ``layout: utkinect_r3d``), which
R3D's ``main_utkinects.py`` and mmfuse's ``darai`` adapter (``dataset.layout=utkinect_r3d``) both read:

    WORK/data/utkinect_r3d/mapping_l2_changed.txt        0 walk ... 9 clapHands, 10 UNDEFINED
    WORK/data/utkinect_r3d/splits/train_split.txt        sSS_eEE.txt, odd subjects (1, 3, 5, 7, 9)
    WORK/data/utkinect_r3d/splits/val_split.txt          sSS_eEE.txt, even subjects (R3D's test = its val)
    WORK/data/utkinect_r3d/groundTruth/sSS_eEE.txt       'joints/sSS_eEE/frame<index>, <label>, UNDEFINED'
    WORK/data/utkinect_r3d/features_img/sSS_eEE.npy      (T, 60) joint positions: the "rgb" stream
    WORK/data/utkinect_r3d/features_depth/sSS_eEE.npy    (T, 60) bone vectors: the "depth" stream

One step per skeleton line, read by mmfuse's own ``utkinect`` adapter (``mmfuse/data/utkinect.py``): a
frame index repeated on consecutive lines keeps its first line; a line's label is the first interval
of ``actionLabel.txt`` (file order) that holds its frame index, ``UNDEFINED`` elsewhere (``carry: NaN NaN``
in s10_e02 is an absent interval); bones are child joint minus parent joint along the Kinect tree
(``mmfuse.data.skeleton``; the hip centre's bone is zero, so 60 columns, 3 of them zero).
``mmfuse validate`` must accept the folder before anything trains.

**Official side** (needs ``--r3d DIR``, a checkout of olivesgatech/R3D at commit ``PINNED_COMMIT``; this
script fetches nothing). Get it with::

    git clone https://github.com/olivesgatech/R3D DIR && git -C DIR checkout 5afedfb91245701d505551d6a37f9ee48a7ab62a

Per seed, ``DIR`` is copied (without ``.git``) to ``WORK/official/e<epochs>_seed<s>/r3d``; only that copy is
patched, by the string replacements in ``PATCHES`` (each asserts that its target text occurs exactly as
often as expected, so a changed upstream fails loudly), ``datasets/utkinect`` in it links to the converted
data, and it runs with ``PYTHONPATH=<copy>:<copy>/train:<copy>/evaluation`` (``main_utkinects.py`` imports
``train_proposed_depth`` and ``predict_utkinects`` from those sub-folders by bare name). Training:
``python main_utkinects.py --cpu --seed S --epochs E --input_dim 60 --depth_dim 60 --workers 0
--threads 1``; everything else is ``opts.py``'s default (batch 8, AdamW lr 1e-3, weight decay 5e-3, 10
warm-up epochs of pl_bolts' linear-warmup cosine schedule stepped per epoch, hidden 128, 8 queries, 8
heads, 1 decoder layer) and the code's own α list, loss and checkpoint rule. Then the official
``predict`` (``evaluation/predict_utkinects.py``, via ``main_utkinects.py --predict``) scores two
checkpoints at α ∈ {0.2, 0.3}, β ∈ {0.1, 0.2, 0.3, 0.5}: the one the code keeps
(``seed_<s>_best.ckpt``, chosen every epoch on its validation split, which for UTKinect is the test
split) and the last epoch's model (saved by a patch). The official Python needs ``einops`` (the model
uses it); ``--pydeps DIR`` is put on its ``PYTHONPATH``, e.g. after
``.venv/bin/pip install --target WORK/pydeps einops``.

**mmfuse side**: per seed, as a subprocess, ``python -m mmfuse.cli run MMFUSE_OVERRIDES
dataset.root=<converted> seed=S paths.runs=WORK/runs device=cpu`` (plus ``dataset.train.epochs=E`` when
``--epochs`` is not 60); metrics and training seconds come from the run's ``result.json``.

Both sides run one at a time with ``OMP_NUM_THREADS=MKL_NUM_THREADS=1`` (and ``torch.set_num_threads(1)``
in the official copy), ``CUDA_VISIBLE_DEVICES`` empty. Measured per (side, seed): the eight MoC values and
their mean; seconds per epoch (official: from its "Training Start" line to its last epoch's validation
line, over epochs, so each epoch includes the code's own per-epoch validation; mmfuse: the record's
``train_seconds`` over epochs); CPU seconds per training sample (user + system CPU time of the whole
training process, from ``os.wait4``, over epochs × samples trained per epoch: official 96, its 10 train
videos × 10 α values less the last batch of 4 that the loop skips; mmfuse train videos × its
``task.train_observe``); peak RSS of that process (``ru_maxrss``); and the share of (test video, α)
predictions that are one class over the whole predicted window (official: from per-video dumps a patch
adds to ``predict``; mmfuse: the record's ``diagnostics.constant_windows``, "n/a" where it has none).
Also the always-``UNDEFINED`` prediction, scored with the official MoC formula (``utils.eval_file`` plus
``predict``'s class mean), as the floor.

Each finished (side, seed) lands in ``WORK/cache/<side>_e<epochs>_seed<s>.json``: a rerun skips it, so an
interrupted run resumes and ``--only mmfuse`` reuses the official results. The table goes to
``bench/results/r3d_official_parity.md`` when ``--epochs`` is 60 (else to ``WORK/r3d_official_parity_e<E>.md``).

    .venv/bin/python bench/r3d_official_parity.py --r3d DIR [--work DIR] [--seeds 1 10 13452]
        [--only official|mmfuse|both] [--epochs 60] [--utkinect ../shared/data/utkinect] [--pydeps DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PINNED_COMMIT = "5afedfb91245701d505551d6a37f9ee48a7ab62a"

# mmfuse's R3D configuration, the one place to change it. `dataset.root`, `seed`, `paths.runs`, `device`
# (and `dataset.train.epochs` for quick checks) are added per run. `dataset=utkinect_r3d` is
# `dataset=darai dataset.layout=utkinect_r3d` plus the `r3d` block the experiment reads (D, α list).
# (Before `experiment=r3d` existed: dataset=darai dataset.layout=utkinect_r3d task=anticipation fusion=rtf
# fusion.preset=official temporal=transformer.)
MMFUSE_OVERRIDES = [
    "experiment=r3d",
    "dataset=utkinect_r3d",
    "task=anticipation",
]

# What the two sides do differently, each a documented choice of mmfuse's `r3d` (README table).
DIFFERENCES = [
    "Temporal Fuser: mmfuse runs the paper's (App. C: 2 layers of full self-attention over the observed "
    "part, Eq. 53-55); the official code's encoder call is commented out, so it has none. mmfuse's CPU "
    "time per sample includes it.",
    "Width: mmfuse D = 64, the configuration Table 1's UTKinect numbers come from (App. D.3); the official "
    "entry point runs 128.",
    "RTF: mmfuse the paper's (SVD informativeness, stack + Linear); the official code BatchNorm-γ scores "
    "and a cross-modal attention block (`fusion.preset=official`).",
    "Training α: mmfuse the paper's eight, 0.2 … 0.55 (80 samples per epoch); the official code ten, "
    "0.2 … 0.65 (96 trained per epoch).",
    "Batches: mmfuse cuts them from pools of four batches' worth of shuffled samples sorted by length "
    "(`task.length_pool=4`, less padding); the official code batches at random.",
    "Class loss: mmfuse plain cross-entropy; the official code ×10 where the first future class differs "
    "from the last observed label (`transition_weight=10` in mmfuse).",
    "Model scored: mmfuse the last epoch; the official code also the checkpoint it selects on the test "
    "split (both shown).",
    "Weight decay: both AdamW at 5e-3; mmfuse decays weight matrices only (not biases, norms, RTF's α or its "
    "BatchNorm), the official code every parameter.",
]

OBSERVE = (0.2, 0.3)
PREDICT = (0.1, 0.2, 0.3, 0.5)
FUTURE = 0.5  # predict's pred_p
FULL_EPOCHS = 60
THREADS = 1
ACTIONS = ("walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands")
UNDEFINED = "UNDEFINED"
TRAIN_SUBJECTS = (1, 3, 5, 7, 9)
# main_utkinects.py's run name; its save path is ./save_dir/utkinects/long/model/transformer/1/i3d_transcript/runs0/_<this>
DATASET_OPS = "20_30_50_safuser_tokenfusion_BN_yesalpha_10_augmentaugment"
VAL_LINE = re.compile(r"Validation Loss: ([0-9.]+), Class Accuracy: ([0-9.]+), Segmentation Accuracy: [0-9.]+, "
                      r"Weighted Accuracy: ([0-9.]+)")
MOC_LINE = re.compile(r"obs\. (\d+)% pred\. (\d+)% --> MoC: ([0-9.]+)")


# --------------------------------------------------------------------------------------------------
# Patches of the temporary copy of the official code
# --------------------------------------------------------------------------------------------------

LR_SCHEDULER_MODULE = '''"""Stand-in for pl_bolts.optimizers.lr_scheduler.LinearWarmupCosineAnnealingLR (written by the parity
benchmark; pl_bolts does not install with current torch). Same arguments and defaults (warmup_start_lr=0,
eta_min=0) and the same values: after the k-th step(), lr = warmup_start_lr + k (base - warmup_start_lr) /
(warmup_epochs - 1) while k < warmup_epochs, then eta_min + (base - eta_min) (1 + cos(pi (k - warmup_epochs) /
(max_epochs - warmup_epochs))) / 2 (pl_bolts' closed form; its chainable form gives the same values for
k <= max_epochs, and the official loop steps it once per epoch)."""
import math

from torch.optim.lr_scheduler import LRScheduler


class LinearWarmupCosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer, warmup_epochs, max_epochs, warmup_start_lr=0.0, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.max_epochs = max_epochs
        self.warmup_start_lr = warmup_start_lr
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        k = self.last_epoch
        if k < self.warmup_epochs:
            return [self.warmup_start_lr + k * (base - self.warmup_start_lr) / (self.warmup_epochs - 1)
                    for base in self.base_lrs]
        progress = (k - self.warmup_epochs) / (self.max_epochs - self.warmup_epochs)
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2 for base in self.base_lrs]
'''

NEW_OPTIONS = '''parser.add_argument("--runs", default=0, help="save runs")
# parity patch: options the parity benchmark passes
parser.add_argument("--seed", type=int, default=1, help="parity: the seed main() runs (official: seed[0] = 1)")
parser.add_argument("--depth_dim", type=int, default=160 * 120, help="parity: width of a depth feature row")
parser.add_argument("--ckpt", default=None, help="parity: checkpoint --predict scores")
parser.add_argument("--pred_obs", type=float, nargs="+", default=[0.2, 0.3], help="parity: observed fractions --predict scores")
parser.add_argument("--pred_dump", default=None, help="parity: JSON-lines file of per-video predictions")
parser.add_argument("--pred_log_dir", default="./save_dir/utkinects/visualization", help="parity: predict's gt/pred log folder")
parser.add_argument("--threads", type=int, default=0, help="parity: torch.set_num_threads (0: leave)")'''

PREDICT_DUMP = '''                if args.pred_dump:  # parity patch: per-video predictions, for the constant-prediction share
                    import json as _json
                    with open(args.pred_dump, 'a') as _dump:
                        _dump.write(_json.dumps({'video': base_name, 'obs': obs_p, 'vid_len': vid_len,
                                                 'future_len': future_len, 'first_none': none_idx,
                                                 'queries': output_label.squeeze(0).tolist(),
                                                 'predicted': predicted.long().tolist(),
                                                 'gt': [c.replace(' ', '') for c in future_content]}) + '\\n')
                # Combine past sequence and predicted sequence'''

# (file, old text, new text, expected occurrences of old text, why)
PATCHES: list[tuple[str, str, str, int, str]] = [
    ("main_utkinects.py",
     "from pl_bolts.optimizers.lr_scheduler import LinearWarmupCosineAnnealingLR",
     "from parity_lr_scheduler import LinearWarmupCosineAnnealingLR  # parity patch",
     1, "pl_bolts does not install with current torch; parity_lr_scheduler.py (written into the copy) has "
        "the same schedule: linear warm-up from 0 over warmup_epochs, then cosine to 0, stepped per epoch"),
    ("main_utkinects.py",
     "val_loader = DataLoader(valset, batch_size=1, shuffle=False, num_workers=1,",
     "val_loader = DataLoader(valset, batch_size=1, shuffle=False, num_workers=args.workers,",
     1, "the validation loader hard-codes a worker process; with --workers 0 both loaders load in the "
        "training process (no shuffling in validation, items are deterministic: results unchanged), so "
        "one process, one thread"),
    ("main_utkinects.py",
     "        obs_perc = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]",
     "        obs_perc = args.pred_obs  # parity patch",
     1, "--predict scores α ∈ {0.2, 0.3} (the benchmark's α) instead of 0.1 … 0.9"),
    ("main_utkinects.py",
     "        seed_list =  [1, 10, 13452]",
     "        seed_list = [seed]  # parity patch",
     1, "--predict scores one checkpoint (--ckpt) instead of the three seeds' files under /home/seulgi"),
    ("main_utkinects.py",
     "                model_path = f'/home/seulgi/work/T3D/save_dir/utkinects/long/model/transformer/1/"
     "i3d_transcript/runs0/_{dataset_ops}/seed_{seed}_best.ckpt'\n"
     "                model.load_state_dict(torch.load(model_path))",
     "                model_path = args.ckpt  # parity patch\n"
     "                model.load_state_dict(torch.load(model_path, map_location=device))",
     1, "hard-coded /home/seulgi checkpoint path; the benchmark passes the checkpoint to score"),
    ("main_utkinects.py",
     "    main(seed[0], dataset_ops)",
     "    _args = parser.parse_args()  # parity patch: seed and threads from the command line\n"
     "    if _args.threads:\n"
     "        torch.set_num_threads(_args.threads)\n"
     "    print('torch threads : ', torch.get_num_threads())\n"
     "    main(_args.seed, dataset_ops)",
     1, "main() only ever runs seed[0] = 1; the seed (one of 1, 10, 13452) is a CLI argument, and "
        "torch.set_num_threads(1) for the CPU-time comparison"),
    ("opts.py",
     "parser.add_argument('--predict', \"-p\", action='store_true', help=\"predict for whole videos mode\", "
     "default='predict')",
     "parser.add_argument('--predict', \"-p\", action='store_true', help=\"predict for whole videos mode\", "
     "default=False)  # parity patch",
     1, "default='predict' is always truthy, so training was unreachable"),
    ("opts.py",
     'parser.add_argument("--runs", default=0, help="save runs")',
     NEW_OPTIONS,
     1, "new options: --seed, --depth_dim, --ckpt, --pred_obs, --pred_dump, --pred_log_dir, --threads"),
    ("model/futr_safuser_batchnormalization.py",
     "attn_mask = self.generate_cross_attention_mask(2).to('cuda')",
     "attn_mask = self.generate_cross_attention_mask(2).to(next(iter(modal_feats.values())).device)  # parity patch",
     1, "the fuser's cross-modal attention mask is hard-coded to CUDA; --cpu needs it on the features' device"),
    ("model/futr_safuser_batchnormalization.py",
     "self.depth_projection = nn.Linear(160 * 120, hidden_dim)",
     "self.depth_projection = nn.Linear(args.depth_dim, hidden_dim)  # parity patch (default 160 * 120)",
     1, "the depth projection hard-codes R3D's 160×120 depth maps; the bone stream has 60 values per step "
        "(the rgb projection already reads --input_dim, passed as 60)"),
    ("model/extras/transformer.py",
     "import matplotlib.pyplot as plt\n",
     "# import matplotlib.pyplot as plt  # parity patch: unused (commented-out plotting only)\n",
     1, "unused import of a package not installed"),
    ("train/train_proposed_depth.py",
     "outputs = model((features, past_label), depth_features, mode='val')",
     "outputs = model(features, depth_features, mode='val')  # parity patch",
     1, "validate() crashes: in any mode but 'train' the model takes the features tensor itself "
        "(src = inputs) and calls src.size() on the (features, labels) tuple: AttributeError 'tuple' object "
        "has no attribute 'size' after the first epoch; pass the features as predict() does (batch 1, "
        "no padding, so no mask is lost)"),
    ("train/train_proposed_depth.py",
     "\n    return model\n",
     "\n    torch.save(model.state_dict(), os.path.join(model_save_path, 'seed_'+str(seed)+'_last.ckpt'))"
     "  # parity patch\n    return model\n",
     1, "also keep the last epoch's model, to score it beside the kept checkpoint"),
    ("data/basedataset_utkinects.py",
     "import cv2\n",
     "# import cv2  # parity patch: only xmltodepth() uses it, never called\n",
     1, "unused import of a package not installed"),
    ("utils.py",
     "from sklearn.manifold import TSNE\nimport pandas as pd\n",
     "# from sklearn.manifold import TSNE  # parity patch: unused\n# import pandas as pd  # parity patch: unused\n",
     1, "unused imports (sklearn not installed; pandas adds memory to the RSS compared)"),
    ("evaluation/predict_utkinects.py",
     "import matplotlib.pyplot as plt\nimport matplotlib.gridspec as gridspec\n",
     "# matplotlib: parity patch, only the GIF/t-SNE helpers use it, never called\n",
     1, "unused imports of a package not installed"),
    ("evaluation/predict_utkinects.py",
     "import imageio\nfrom sklearn.manifold import TSNE\n",
     "# imageio, sklearn: parity patch, only the GIF/t-SNE helpers use them, never called\n",
     1, "unused imports of packages not installed"),
    ("evaluation/predict_utkinects.py",
     'with open("/home/seulgi/work/T3D/save_dir/utkinects/visualization/file_depth203050/gt_pred_log_{}.txt"'
     '.format(obs_p), "w") as log:',
     'with open(os.path.join(args.pred_log_dir, "gt_pred_log_{}.txt".format(obs_p)), "w") as log:  # parity patch',
     1, "hard-coded /home/seulgi log path (rewritten per video with 'w', so only the last video's log stays)"),
    ("evaluation/predict_utkinects.py",
     "                # Combine past sequence and predicted sequence",
     PREDICT_DUMP,
     1, "dump each (video, α) prediction over the predicted window, for the constant-prediction share"),
]


OFFICIAL_NOTES = [
    "No temporal encoder: `model/extras/transformer.py` sets `memory = src` (the encoder call is commented "
    "out), so its 2 encoder layers (396,544 of 1,291,341 parameters) never get a gradient; the observed "
    "frames reach the decoder's cross-attention and the segmentation head straight from the per-frame "
    "fuser, with no self-attention over time. Also unused: `fc_l3`, `l3_attention`, `query_attention` and "
    "the fuser's `modality_token`, `projection`, `fusion_conv`.",
    "Hidden width 128 (`opts.py`; `main_utkinects.py` does not override it), 8 heads, 8 queries, 1 decoder "
    "layer; the two encoders differ: rgb is Linear + ReLU, depth Linear + LayerNorm + ReLU.",
    "Training α: every train video at 10 observed fractions, 0.2, 0.25, …, 0.65 "
    "(`data/basedataset_utkinects.py`), each with a future window of 0.5 of the video (the run name "
    "`20_30_50_…` notwithstanding); 100 samples, the last batch of 4 skipped, so 96 trained per epoch. The "
    "validation set is built the same way from the test videos (10 α each).",
    "The class targets are the future transcript plus NONE, cut to 8 queries, so NONE is rarely a target on "
    "UTKinect (16 of the 100 training samples of this split keep it); the class loss is cross-entropy ×10 for samples whose first future class differs from the "
    "last observed label, averaged over all 8 query slots of the batch, padding included; plus the "
    "segmentation loss on observed frames and the duration MSE.",
    "The warm-up starts at lr 0 and is stepped per epoch: epoch 1 trains at lr 0 (only BatchNorm running "
    "statistics move), epoch 2 at lr/9, epoch 10 reaches 1e-3.",
    "Kept checkpoint: after every epoch `validate()` runs on `val_split.txt` (the test videos) and "
    "`seed_<s>_best.ckpt` is overwritten whenever the class accuracy *or* the weighted accuracy (of the "
    "decoded transcript, not MoC; `exclude_class_idx=47` names no UTKinect class) beats the last saved "
    "epoch's value; both are then reset to this epoch's values, so neither is monotone.",
    "`predict`: where the first query predicts NONE, every duration is masked to 0 and the whole window "
    "gets the class of the 8th (last) query; after a NONE at a later query, the rounding remainder also "
    "goes to the 8th query's class (NONE frames count as wrong). In these runs no first query predicted "
    "NONE, and NONE was predicted at all only by the 8th query. `predict` returns its accuracies but "
    "`main` discards them (prints 0); its weighted accuracy hard-codes `exclude_class_idx=16`.",
]


def git_head(path: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def prepare_official_copy(r3d: Path, dest: Path, data_root: Path) -> None:
    """Copy ``r3d`` to ``dest`` (no .git, caches or outputs), patch the copy, link its dataset folder."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(r3d, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "save_dir", "datasets"))
    for relpath, old, new, count, why in PATCHES:
        path = dest / relpath
        text = path.read_text(encoding="utf-8")
        found = text.count(old)
        if found != count:
            raise SystemExit(
                f"patch target changed upstream: {relpath} holds {found} (expected {count}) of\n{old}\n"
                f"(patch: {why}); check --r3d is olivesgatech/R3D at {PINNED_COMMIT}"
            )
        path.write_text(text.replace(old, new), encoding="utf-8")
    (dest / "parity_lr_scheduler.py").write_text(LR_SCHEDULER_MODULE, encoding="utf-8")
    (dest / "datasets").mkdir()
    (dest / "datasets" / "utkinect").symlink_to(data_root.resolve(), target_is_directory=True)


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------

def convert_utkinect(source: Path, out: Path) -> dict:
    """Write R3D's UTKinect feature layout from the distributed skeletons; return the data's facts."""
    facts_file = out / "facts.json"
    if facts_file.is_file():
        return json.loads(facts_file.read_text())
    sys.path.insert(0, str(REPO))
    from mmfuse.data.utkinect import ACTIONS as MM_ACTIONS, BACKGROUND, UTKinectDataset

    assert tuple(MM_ACTIONS) == ACTIONS, MM_ACTIONS
    dataset = UTKinectDataset(root=str(source), modalities=("joint", "bone"), train_subjects=TRAIN_SUBJECTS)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    for sub in ("splits", "groundTruth", "features_img", "features_depth"):
        (tmp / sub).mkdir(parents=True)
    classes = [*ACTIONS, UNDEFINED]
    (tmp / "mapping_l2_changed.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(classes)))
    names = {i: (UNDEFINED if name == BACKGROUND else name) for i, name in enumerate(dataset.classes)}
    facts: dict = {"classes": classes, "videos": {}, "splits": {}}
    for split, file in (("train", "train_split.txt"), ("test", "val_split.txt")):
        videos = dataset.videos(split)
        facts["splits"][split] = [v.name for v in videos]
        # R3D reads split files with read().split('\n')[:-1]: every line, the last included, ends in '\n'
        (tmp / "splits" / file).write_text("".join(f"{v.name}.txt\n" for v in videos))
        for video in videos:
            frames = video.meta["frames"]
            labels = [names[int(i)] for i in video.labels]
            (tmp / "groundTruth" / f"{video.name}.txt").write_text(
                "".join(f"joints/{video.name}/frame{int(f)}, {label}, {UNDEFINED}\n" for f, label in zip(frames, labels))
            )
            np.save(tmp / "features_img" / f"{video.name}.npy", video.features["joint"].astype(np.float32))
            np.save(tmp / "features_depth" / f"{video.name}.npy", video.features["bone"].astype(np.float32))
            counts = {c: labels.count(c) for c in classes if labels.count(c)}
            facts["videos"][video.name] = {"split": split, "lines": len(labels), "labels": counts}
    facts["dims"] = {"rgb": int(video.features["joint"].shape[1]), "depth": int(video.features["bone"].shape[1])}
    (tmp / "facts.json").write_text(json.dumps(facts, indent=1))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return facts


def validate_with_mmfuse(data_root: Path) -> str:
    """``mmfuse validate`` on the converted folder; its output is kept beside the data (a rerun on the same
    folder reuses it, so a resumed run does not depend on the state of a working tree being edited)."""
    done = data_root / "validated.txt"
    if done.is_file():
        return done.read_text()
    cmd = [sys.executable, "-m", "mmfuse.cli", "validate", "dataset=darai", "dataset.layout=utkinect_r3d",
           f"dataset.root={data_root}"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=child_env())
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise SystemExit(f"mmfuse validate rejected the converted data ({data_root}):\n{output}")
    done.write_text(output)
    return output


def ground_truth(data_root: Path, video: str) -> list[str]:
    """A video's labels as R3D's predict reads them (the 2nd comma field of each 3-field line)."""
    lines = (data_root / "groundTruth" / f"{video}.txt").read_text().splitlines()
    return [line.strip().split(",")[1] for line in lines if len(line.strip().split(",")) == 3]


def official_moc(gts: list[list[str]], predictions: dict[float, list[list[str]]], classes: list[str]) -> dict:
    """MoC (%) as R3D's predict_utkinects.predict computes it: utils.eval_file per video and β, T/F summed
    per ground-truth class over videos, then the mean of T/(T+F) over the classes with support.
    ``predictions[α][v]`` is the label of each frame of the predicted window, ``int(0.5 T)`` frames from
    ``int(α T)``."""
    index = {c: i for i, c in enumerate(classes)}
    out = {}
    for alpha in OBSERVE:
        correct = np.zeros((len(PREDICT), len(classes)))
        wrong = np.zeros((len(PREDICT), len(classes)))
        for gt, window in zip(gts, predictions[alpha]):
            vid_len = len(gt)
            prediction = gt[: int(alpha * vid_len)] + list(window)
            for b, beta in enumerate(PREDICT):
                recog = prediction[: int((alpha + beta) * vid_len)]
                last = min(len(recog), len(gt))
                for i in range(int(alpha * len(gt)), last):  # eval_file
                    truth = gt[i].replace(" ", "")
                    if truth == recog[i]:
                        correct[b, index[truth]] += 1
                    else:
                        wrong[b, index[truth]] += 1
        for b, beta in enumerate(PREDICT):
            total = correct[b] + wrong[b]
            seen = total > 0
            out[key(alpha, beta)] = 100.0 * float(np.mean(correct[b][seen] / total[seen]))
    return out


def floor_scores(data_root: Path, facts: dict) -> dict:
    gts = [ground_truth(data_root, v) for v in facts["splits"]["test"]]
    windows = {a: [[UNDEFINED] * int(FUTURE * len(gt)) for gt in gts] for a in OBSERVE}
    return official_moc(gts, windows, facts["classes"])


def key(alpha: float, beta: float) -> str:
    return f"obs{round(alpha * 100)}_pred{round(beta * 100)}"


KEYS = [key(a, b) for a in OBSERVE for b in PREDICT]


# --------------------------------------------------------------------------------------------------
# Measured subprocesses
# --------------------------------------------------------------------------------------------------

def child_env(extra_path: list[str] | None = None) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS),
               CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(extra_path)
    return env


def run_measured(cmd: list[str], cwd: Path, env: dict, log_path: Path, echo: re.Pattern | None = None,
                 marks: dict[str, re.Pattern] | None = None) -> dict:
    """Run ``cmd``, stream its output to ``log_path``; wall time, rusage of the child (and its reaped
    children) from ``os.wait4``, and the arrival times of lines matching each of ``marks``."""
    marks = marks or {}
    seen: dict[str, list[float]] = {name: [] for name in marks}
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.time()
            log.write(line)
            log.flush()
            for name, pattern in marks.items():
                if pattern.search(line):
                    seen[name].append(now - started)
            if echo is not None and echo.search(line):
                print(f"    {line.rstrip()}", flush=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "wall_s": time.time() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "marks": seen,
    }


def constant_share(dump: Path) -> dict:
    rows = [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]
    constant = [r for r in rows if len(set(r["predicted"])) == 1]
    same_everywhere = [
        alpha for alpha in OBSERVE
        if len({r["predicted"][0] for r in constant if r["obs"] == alpha}) == 1
        and sum(r["obs"] == alpha for r in constant) == sum(r["obs"] == alpha for r in rows)
    ]
    return {
        "predictions": len(rows),
        "constant": len(constant),
        "share": len(constant) / len(rows) if rows else float("nan"),
        "same_class_for_every_video_at": same_everywhere,
        "first_query_none": sum(r["first_none"] == 0 for r in rows),
        "constant_classes": sorted({int(r["predicted"][0]) for r in constant}),
    }


# --------------------------------------------------------------------------------------------------
# The two sides
# --------------------------------------------------------------------------------------------------

def run_official(args, seed: int, data_root: Path, facts: dict) -> dict:
    base = args.work / "official" / f"e{args.epochs}_seed{seed}"
    copy = base / "r3d"
    base.mkdir(parents=True, exist_ok=True)
    prepare_official_copy(args.r3d, copy, data_root)
    path = [str(copy), str(copy / "train"), str(copy / "evaluation")]
    if args.pydeps:
        path.append(str(args.pydeps))
    env = child_env(path)
    common = ["--cpu", "--seed", str(seed), "--epochs", str(args.epochs), "--input_dim", str(facts["dims"]["rgb"]),
              "--depth_dim", str(facts["dims"]["depth"]), "--workers", "0", "--threads", str(THREADS)]
    train_cmd = [args.python, "main_utkinects.py", *common]
    print(f"  official seed {seed}: training {args.epochs} epochs (log {base / 'train.log'})", flush=True)
    train = run_measured(train_cmd, copy, env, base / "train.log", echo=re.compile(r"^Epoch \["),
                         marks={"start": re.compile(r"^Training Start"), "epoch_end": re.compile(r"^Validation Loss"),
                                "saved": re.compile(r"^Best model saved")})
    if train["rc"] != 0:
        raise SystemExit(f"official training failed (exit {train['rc']}); see {base / 'train.log'}")
    log = (base / "train.log").read_text()
    if "torch threads :  1" not in log:
        raise SystemExit(f"official training did not run on one thread; see {base / 'train.log'}")
    ends = train["marks"]["epoch_end"]
    if len(ends) != args.epochs:
        raise SystemExit(f"expected {args.epochs} epochs in {base / 'train.log'}, found {len(ends)}")
    save_dir = copy / "save_dir" / "utkinects" / "long" / "model" / "transformer" / "1" / "i3d_transcript" / "runs0" / f"_{DATASET_OPS}"
    kept_epochs = sorted(int(m.group(1)) for p in save_dir.glob(f"seed_{seed}_checkpoint*.ckpt")
                         if (m := re.fullmatch(rf"seed_{seed}_checkpoint(\d+)\.ckpt", p.name)))
    samples_per_epoch = official_samples_per_epoch(len(facts["splits"]["train"]))
    result = {
        "side": "official", "seed": seed, "epochs": args.epochs,
        "train": {k: v for k, v in train.items() if k != "marks"},
        "s_per_epoch": (ends[-1] - train["marks"]["start"][0]) / args.epochs,
        "samples_per_epoch": samples_per_epoch,
        "cpu_s_per_sample": train["cpu_s"] / (args.epochs * samples_per_epoch),
        "kept_epoch": kept_epochs[-1] + 1 if kept_epochs else None,  # 1-based
        "improvements": [e + 1 for e in kept_epochs],
        # per epoch: validation loss, class accuracy, weighted accuracy (on the test videos, as the code validates)
        "validation": [[float(x) for x in m] for m in VAL_LINE.findall(log)],
        "models": {},
        "commands": {"train": " ".join(train_cmd)},
    }
    for model, ckpt in (("kept", save_dir / f"seed_{seed}_best.ckpt"), ("last", save_dir / f"seed_{seed}_last.ckpt")):
        if not ckpt.is_file():
            raise SystemExit(f"official training wrote no {ckpt.name}; see {base / 'train.log'}")
        dump = base / f"predictions_{model}.jsonl"
        dump.unlink(missing_ok=True)
        logdir = base / f"predict_logs_{model}"
        logdir.mkdir(exist_ok=True)
        cmd = [args.python, "main_utkinects.py", *common, "--predict", "--ckpt", str(ckpt), "--pred_obs",
               *map(str, OBSERVE), "--pred_dump", str(dump), "--pred_log_dir", str(logdir)]
        pred = run_measured(cmd, copy, env, base / f"predict_{model}.log")
        if pred["rc"] != 0:
            raise SystemExit(f"official predict failed (exit {pred['rc']}); see {base / f'predict_{model}.log'}")
        moc = {key(int(a) / 100, int(b) / 100): 100.0 * float(v)
               for a, b, v in MOC_LINE.findall((base / f"predict_{model}.log").read_text())}
        if sorted(moc) != sorted(KEYS):
            raise SystemExit(f"could not read the eight MoC lines from {base / f'predict_{model}.log'}")
        result["models"][model] = {"moc": moc, "mean": float(np.mean([moc[k] for k in KEYS])),
                                   "constant": constant_share(dump), "checkpoint": str(ckpt)}
        result["commands"][f"predict_{model}"] = " ".join(cmd)
    return result


def official_samples_per_epoch(train_videos: int, alphas: int = 10, batch: int = 8) -> int:
    """Samples the official loop trains on per epoch: full batches only (``if len(inputs[0]) < 8: continue``)."""
    return (train_videos * alphas // batch) * batch


def effective_task(config: dict) -> dict:
    """The task options a run used: ``task`` plus ``choice_options.task.<name>`` (the experiment sets
    R3D's α list there)."""
    sys.path.insert(0, str(REPO))
    from mmfuse.config import chosen_config

    return chosen_config(config, "task")


def mmfuse_constant(record: dict, test_videos: int) -> dict | None:
    """The record's share of constant decoded windows (``diagnostics``, when this mmfuse writes it)."""
    diagnostics = record.get("diagnostics") or {}
    if "constant_windows" not in diagnostics:
        return None
    windows = test_videos * len(effective_task(record["config"])["observe"])
    share = float(diagnostics["constant_windows"])
    return {"predictions": windows, "constant": round(share * windows), "share": share,
            "same_class_for_every_video_at": diagnostics.get("same_class_for_every_video_at")}


def run_mmfuse(args, seed: int, data_root: Path, facts: dict) -> dict:
    base = args.work / "mmfuse" / f"e{args.epochs}_seed{seed}"
    base.mkdir(parents=True, exist_ok=True)
    runs = args.work / "runs"
    cmd = [sys.executable, "-m", "mmfuse.cli", "run", *MMFUSE_OVERRIDES, f"dataset.root={data_root}", f"seed={seed}",
           f"paths.runs={runs}", "device=cpu"]
    if args.epochs != FULL_EPOCHS:
        cmd.append(f"dataset.train.epochs={args.epochs}")
    print(f"  mmfuse seed {seed}: {args.epochs} epochs (log {base / 'run.log'})", flush=True)
    env = child_env()
    env["COLUMNS"] = "100000"  # rich wraps at 80 columns without a terminal, splitting the "run record:" line
    started = time.time()
    run = run_measured(cmd, REPO, env, base / "run.log")
    text = (base / "run.log").read_text()
    if run["rc"] != 0:
        raise SystemExit(f"mmfuse run failed (exit {run['rc']}); see {base / 'run.log'}")
    if "finished before, skipped" in text:
        raise SystemExit(f"mmfuse skipped an already finished run, so nothing was measured; move its run "
                         f"folder under {runs} away (see {base / 'run.log'}) and rerun")
    match = re.search(r"run record: (\S.*)", text)
    run_dir = Path(match.group(1).strip()) if match else None
    if run_dir is None or not (run_dir / "result.json").is_file():  # the line wrapped after all: newest record
        fresh = [p for p in runs.rglob(f"seed{seed}-*/result.json") if p.stat().st_mtime >= started]
        if len(fresh) != 1:
            raise SystemExit(f"cannot tell which run record {base / 'run.log'} wrote")
        run_dir = fresh[0].parent
    record = json.loads((run_dir / "result.json").read_text())
    config = record["config"]
    epochs = int(config["dataset"]["train"]["epochs"])
    task = effective_task(config)
    samples = len(facts["splits"]["train"]) * len(task["train_observe"])
    moc = {k: float(record["metrics"][f"moc_{k}"]) for k in KEYS}
    return {
        "side": "mmfuse", "seed": seed, "epochs": epochs,
        "train": {k: v for k, v in run.items() if k != "marks"},
        "s_per_epoch": record["train_seconds"] / epochs,
        "samples_per_epoch": samples,
        "cpu_s_per_sample": run["cpu_s"] / (epochs * samples),
        "models": {"final": {"moc": moc, "mean": float(np.mean(list(moc.values()))),
                             "constant": mmfuse_constant(record, len(facts["splits"]["test"]))}},
        "record": str(run_dir),
        "record_train_seconds": record["train_seconds"],
        "record_eval_seconds": record["eval_seconds"],
        "record_peak_memory_mb": record.get("peak_memory_mb"),
        "cell": record.get("cell"),
        "train_observe": task["train_observe"],
        "commands": {"run": " ".join(cmd)},
    }


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

def fmt(value, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def rows_of(result: dict) -> list[tuple[str, dict, dict]]:
    return [(name, model, result) for name, model in result["models"].items()]


def table(results: dict, floor: dict, seeds: list[int]) -> list[str]:
    head = ["side", "seed", "model"] + [f"α={k[3:5]}% β={k.split('pred')[1]}%" for k in KEYS] + [
        "mean", "s/epoch", "CPU s/sample", "peak RSS MiB", "constant"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for side in ("official", "mmfuse"):
        per_model: dict[str, list[dict]] = {}
        for seed in seeds:
            result = results.get((side, seed))
            if result is None:
                lines.append(f"| {side} | {seed} | not run |" + " |" * (len(head) - 3))
                continue
            for name, model, res in rows_of(result):
                label = {"kept": f"kept (epoch {res.get('kept_epoch')})", "last": f"last (epoch {res['epochs']})",
                         "final": f"final (epoch {res['epochs']})"}[name]
                const = model["constant"]
                shown = "n/a" if const is None else f"{const['constant']}/{const['predictions']}"
                lines.append("| " + " | ".join([side, str(seed), label] + [fmt(model["moc"][k]) for k in KEYS] + [
                    f"**{fmt(model['mean'])}**", fmt(res["s_per_epoch"], 2), fmt(res["cpu_s_per_sample"], 3),
                    fmt(res["train"]["peak_rss_mib"], 0), shown]) + " |")
                per_model.setdefault(name, []).append({"model": model, "res": res})
        for name, items in per_model.items():
            if len(items) < 1:
                continue
            moc = {k: float(np.mean([i["model"]["moc"][k] for i in items])) for k in KEYS}
            consts = [i["model"]["constant"] for i in items]
            const = ("n/a" if any(c is None for c in consts)
                     else f"{100 * sum(c['constant'] for c in consts) / sum(c['predictions'] for c in consts):.0f}%")
            std = np.std([i["model"]["mean"] for i in items], ddof=1) if len(items) > 1 else float("nan")
            lines.append("| " + " | ".join(
                [f"**{side}**", f"mean of {len(items)}", f"**{name}**"] + [fmt(moc[k]) for k in KEYS] + [
                    f"**{fmt(float(np.mean(list(moc.values()))))}** ± {fmt(std)}",
                    fmt(float(np.mean([i['res']['s_per_epoch'] for i in items])), 2),
                    fmt(float(np.mean([i['res']['cpu_s_per_sample'] for i in items])), 3),
                    fmt(float(np.mean([i['res']['train']['peak_rss_mib'] for i in items])), 0), const]) + " |")
    lines.append("| " + " | ".join(["floor", "–", f"always {UNDEFINED}"] + [fmt(floor[k]) for k in KEYS] + [
        f"**{fmt(float(np.mean(list(floor.values()))))}**", "–", "–", "–", "20/20"]) + " |")
    return lines


def write_report(args, results: dict, floor: dict, facts: dict, validate_output: str, out: Path) -> None:
    import torch

    videos = facts["videos"]
    lines_per_video = [v["lines"] for v in videos.values()]
    label_totals: dict[str, int] = {}
    for v in videos.values():
        for name, n in v["labels"].items():
            label_totals[name] = label_totals.get(name, 0) + n
    commands = []
    for (side, seed), result in sorted(results.items()):
        for name, command in result["commands"].items():
            command = command.replace(str(args.work), "WORK").replace(sys.executable, "python")
            commands.append(f"{side} seed {seed} {name}: `{command}`")
    official_any = next((r for (s, _), r in results.items() if s == "official"), None)
    mmfuse_any = next((r for (s, _), r in results.items() if s == "mmfuse"), None)
    text = [
        "# R3D's official code vs mmfuse's R3D configuration on the real UTKinect skeletons",
        "",
        f"Written by `bench/r3d_official_parity.py` ({dt.datetime.now().strftime('%Y-%m-%d %H:%M')}), "
        f"{args.epochs} epochs, seeds {', '.join(map(str, args.seeds))}, {THREADS} thread per training "
        f"(OMP_NUM_THREADS=MKL_NUM_THREADS={THREADS}; torch.set_num_threads({THREADS}) in the official copy), "
        f"CPU only, one training at a time. torch {torch.__version__}, Python {sys.version.split()[0]}, "
        f"olivesgatech/R3D at {args.r3d_commit or PINNED_COMMIT} (patched copy), mmfuse at "
        f"{git_head(REPO)[:12] or 'unknown'}.",
        "",
        "MoC in % (α observed, β predicted; mean over classes with support, `UNDEFINED` included, as the "
        "official `predict` scores it). Official rows: **kept** is the checkpoint the official code keeps — "
        "it validates every epoch on its val split, which for UTKinect is the test split (`val_split.txt`), "
        "and overwrites `seed_<s>_best.ckpt` whenever class accuracy *or* weighted accuracy beats the last "
        "saved epoch's value — so it is selected on the test videos; **last** is the final epoch's model. "
        "s/epoch: official from its `Training Start` line to the last epoch's validation line (each epoch "
        "includes its validation of 100 test samples), mmfuse the record's `train_seconds` / epochs. CPU "
        "s/sample: user + system CPU seconds of the whole training process over epochs × samples trained per "
        f"epoch ({official_samples_per_epoch(len(facts['splits']['train']))} official: 10 train videos × 10 "
        "α, full batches of 8 only; mmfuse: train videos × `task.train_observe`). Peak RSS of that process. "
        "Constant: (test video, α) predictions that are one class over the whole predicted window "
        "(official: from per-video dumps of its `predict`; mmfuse: the record's `diagnostics.constant_windows`).",
        "",
        *table(results, floor, args.seeds),
        "",
        "## Data",
        "",
        f"`../shared/data/utkinect` converted to R3D's UTKinect layout (`utkinect_r3d`): {len(videos)} videos, "
        f"{len(facts['splits']['train'])} train (subjects 1, 3, 5, 7, 9), {len(facts['splits']['test'])} test "
        f"(subjects 2, 4, 6, 8, 10; R3D's `val_split.txt`), {min(lines_per_video)}–{max(lines_per_video)} "
        f"steps per video (one per skeleton line, a repeated frame index keeping its first line; "
        f"{sum(lines_per_video)} in all), {len(facts['classes'])} classes "
        f"({', '.join(facts['classes'])}); the official code adds NONE (12 outputs). Steps per class: "
        + ", ".join(f"{c} {label_totals.get(c, 0)}" for c in facts["classes"]) + ". rgb = joint positions "
        f"({facts['dims']['rgb']}), depth = bone vectors ({facts['dims']['depth']}). "
        f"`mmfuse validate`: {validate_output.splitlines()[-1] if validate_output else '?'}",
        "",
        "## Where mmfuse's `r3d` differs from the official code (README, \"R3D as a whole\")",
        "",
        *[f"- {note}" for note in DIFFERENCES],
        "",
        "## What the official code does (read from it, checked in these runs)",
        "",
        *[f"- {note}" for note in OFFICIAL_NOTES],
        "",
        "## Patches applied to the temporary copy of the official code",
        "",
        *[f"- `{p[0]}`: {p[4]}" for p in PATCHES],
        "",
        "## Commands",
        "",
        f"- this table: `.venv/bin/python bench/r3d_official_parity.py --r3d R3D_DIR --work WORK --seeds "
        f"{' '.join(map(str, args.seeds))} --only {args.only} --epochs {args.epochs}`",
        f"- mmfuse overrides: `{' '.join(MMFUSE_OVERRIDES)}`"
        + (f" (cell `{mmfuse_any['cell']}`)" if mmfuse_any else ""),
        *[f"- {c}" for c in commands],
    ]
    if official_any:
        text += ["", "Official kept epochs per seed: " + ", ".join(
            f"seed {s}: {r['kept_epoch']} (saves at epochs {r['improvements']})"
            for (side, s), r in sorted(results.items()) if side == "official")]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(text) + "\n")
    print(f"wrote {out}")


# --------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--r3d", type=Path, help="olivesgatech/R3D checkout (never modified); needed for the official side")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "r3d_official_parity",
                        help="work folder: converted data, patched copies, runs, logs, cache")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 10, 13452])
    parser.add_argument("--only", choices=("official", "mmfuse", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=FULL_EPOCHS, help="60; fewer only for quick checks")
    parser.add_argument("--utkinect", type=Path, default=REPO.parent / "shared" / "data" / "utkinect")
    parser.add_argument("--pydeps", type=Path, default=None,
                        help="folder put on the official side's PYTHONPATH (e.g. pip install --target DIR einops); "
                             "default WORK/pydeps when it exists")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the official code")
    parser.add_argument("--out", type=Path, default=None,
                        help="report file; default bench/results/r3d_official_parity.md at 60 epochs, "
                             "else WORK/r3d_official_parity_e<E>.md")
    args = parser.parse_args()
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.pydeps is None and (args.work / "pydeps").is_dir():
        args.pydeps = args.work / "pydeps"
    sides = ["official", "mmfuse"] if args.only == "both" else [args.only]
    args.r3d_commit = ""
    if "official" in sides:
        if args.r3d is None:
            parser.error("--r3d DIR is needed for the official side (see the docstring for how to get it)")
        args.r3d = args.r3d.resolve()
        if not (args.r3d / "main_utkinects.py").is_file():
            parser.error(f"{args.r3d} has no main_utkinects.py: not an olivesgatech/R3D checkout")
        args.r3d_commit = git_head(args.r3d)
        if args.r3d_commit and args.r3d_commit != PINNED_COMMIT:
            print(f"warning: {args.r3d} is at {args.r3d_commit}, not the pinned {PINNED_COMMIT}", flush=True)
        probe_path = [str(args.pydeps)] if args.pydeps else []
        probe = subprocess.run([args.python, "-c", "import einops, torch, numpy, PIL"],
                               env=child_env(probe_path or None), capture_output=True, text=True)
        if probe.returncode != 0:
            raise SystemExit(f"the official code needs einops (and torch, numpy, pillow) importable by {args.python}:"
                             f"\n{probe.stderr.strip()}\ninstall it with: {args.python} -m pip install --target "
                             f"{args.work / 'pydeps'} einops")

    data_root = args.work / "data" / "utkinect_r3d"
    facts = convert_utkinect(args.utkinect, data_root)
    validate_output = validate_with_mmfuse(data_root)
    print(f"data: {data_root} ({len(facts['videos'])} videos; validate: {validate_output.splitlines()[-1]})", flush=True)
    floor = floor_scores(data_root, facts)
    cache = args.work / "cache"
    cache.mkdir(exist_ok=True)
    results: dict = {}
    for side in ("official", "mmfuse"):
        for seed in args.seeds:
            path = cache / f"{side}_e{args.epochs}_seed{seed}.json"
            if side in sides and not path.is_file():
                runner = run_official if side == "official" else run_mmfuse
                result = runner(args, seed, data_root, facts)
                result["finished"] = dt.datetime.now().isoformat(timespec="seconds")
                path.write_text(json.dumps(result, indent=1))
                print(f"  {side} seed {seed}: " + ", ".join(
                    f"{name} mean MoC {m['mean']:.1f}" for name, m in result["models"].items())
                    + f"; {result['s_per_epoch']:.2f} s/epoch", flush=True)
            if path.is_file():
                results[(side, seed)] = json.loads(path.read_text())
    out = args.out or (REPO / "bench" / "results" / "r3d_official_parity.md" if args.epochs == FULL_EPOCHS
                       else args.work / f"r3d_official_parity_e{args.epochs}.md")
    write_report(args, results, floor, facts, validate_output, out)
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
