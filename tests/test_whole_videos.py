"""Context is never cut at a fixed point: a video's segmentation does not depend on what it is
batched with nor on ``model.max_len``, for every temporal model and the fusers that attend over time."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmfuse.data.video import Video
from mmfuse.models.backbone import build_backbone
from mmfuse.registry import create_task, list_temporal_models
from mmfuse.tasks.base import TaskModel
from mmfuse.tasks.segmentation import video_logits

MODALITIES = ["rgb", "depth"]
CLASSES = 4
CPU = torch.device("cpu")


def videos() -> list[Video]:
    """Lengths that cross the 128-frame attention blocks and a 512-frame band."""
    rng = np.random.default_rng(0)
    out = []
    for name, steps in (("short", 40), ("medium", 260), ("long", 700)):
        features = {m: rng.normal(size=(steps, 6)).astype(np.float32) for m in MODALITIES}
        out.append(Video(name, features, rng.integers(0, CLASSES, steps)))
    return out


def model(fusion: dict, temporal: dict) -> TaskModel:
    """A model after one training-mode forward pass, so fusers with running statistics (``rtf``)
    score channels from them, as after training, and not from the evaluation batch."""
    torch.manual_seed(0)
    backbone = build_backbone(MODALITIES, {m: 6 for m in MODALITIES}, 8, 8, {"name": "projection"}, fusion, temporal,
                              num_classes=CLASSES)
    net = TaskModel(backbone, create_task("segmentation").build_head(8, CLASSES))
    batch = create_task("segmentation").collate(videos(), MODALITIES)
    with torch.no_grad():
        net(batch.feats, batch.mask)
    return net.eval()


CASES = [({"name": "concat"}, {"name": name}) for name in list_temporal_models()] + [
    ({"name": "afft_tsa", "depth": 2, "window": 300}, {"name": "tcn", "layers": 3}),
    ({"name": "afft_ca", "window": 300}, {"name": "tcn", "layers": 3}),
    ({"name": "rtf"}, {"name": "tcn", "layers": 3}),
]


@pytest.mark.parametrize(("fusion", "temporal"), CASES, ids=[f"{f['name']}-{t['name']}" for f, t in CASES])
def test_a_video_is_labelled_the_same_alone_or_batched(fusion, temporal) -> None:
    net = model(fusion, temporal)
    clips = videos()
    batched = dict((v.name, logits) for v, logits in video_logits(net, clips, MODALITIES, batch_size=3, device=CPU))
    for clip in clips:
        [(_, alone)] = video_logits(net, [clip], MODALITIES, batch_size=1, device=CPU)
        np.testing.assert_allclose(alone, batched[clip.name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("temporal", ["transformer", "mstcn"])
def test_segmentation_scores_do_not_change_with_max_len(temporal) -> None:
    net = model({"name": "concat"}, {"name": temporal})
    task = create_task("segmentation")
    scores = [
        task.evaluate(net, videos(), MODALITIES, num_classes=CLASSES, background=[], max_len=max_len, batch_size=2,
                      device=CPU).metrics
        for max_len in (16, 512, 100_000)
    ]
    assert scores[0] == scores[1] == scores[2]
