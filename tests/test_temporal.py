"""The temporal-model contract for every registered one, their specifics, the backbone and the decoder."""
from __future__ import annotations

import inspect
import math

import pytest
import torch

from mmfuse.errors import ConfigError
from mmfuse.models import AnticipationDecoder, MultimodalBackbone, build_backbone
from mmfuse.models.attention import banded, dense
from mmfuse.models.positions import sinusoidal_encoding
from mmfuse.temporal.tcn import MaskDropout
from mmfuse.registry import FUSIONS, TEMPORAL_MODELS, create_task, create_temporal_model, list_fusions, list_temporal_models
from mmfuse.tasks.base import Batch, TaskModel
from mmfuse.tasks.segmentation import smoothing_loss

IN, DIM = 12, 16


CLASSES = 5


def build(name: str, **options) -> torch.nn.Module:
    """The model with the framework-supplied options it takes (``num_classes`` for ``mstcn``)."""
    torch.manual_seed(0)
    if "num_classes" in inspect.signature(TEMPORAL_MODELS.get(name)).parameters:
        options.setdefault("num_classes", CLASSES)
    return create_temporal_model(name, in_dim=IN, dim=DIM, **options)


def run(model: torch.nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    torch.manual_seed(0)
    return model(x, mask)


@pytest.mark.parametrize("name", list_temporal_models())
def test_temporal_contract(name: str) -> None:
    model, twin = build(name), build(name)
    model.train()
    twin.train()
    x = torch.randn(2, 7, IN)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[1, 4:] = False

    assert isinstance(model.out_dim, int) and model.out_dim > 0
    y = run(model, x, mask)
    assert y.shape == (2, 7, model.out_dim)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(run(twin, x, mask), y, rtol=0, atol=0)

    (y * torch.randn_like(y))[mask].sum().backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{pname} got a non-finite gradient"

    changed = x.clone()
    changed[~mask] = 10 * torch.randn(int((~mask).sum()), IN)
    for training in (True, False):
        model.train(training)
        with torch.no_grad():
            torch.testing.assert_close(
                run(model, changed, mask)[mask], run(model, x, mask)[mask], msg="a padded frame changed a valid output"
            )


@pytest.mark.parametrize("name", list_temporal_models())
def test_temporal_output_ignores_how_much_padding_follows(name: str) -> None:
    """A sample's valid outputs are the same alone or padded in a longer batch (evaluation mode)."""
    model = build(name).eval()
    x = torch.randn(2, 150, IN)
    mask = torch.ones(2, 150, dtype=torch.bool)
    mask[1, 90:] = False
    with torch.no_grad():
        batched = model(x, mask)
        alone = model(x[1:, :90], mask[1:, :90])
    torch.testing.assert_close(batched[1, :90], alone[0])


@pytest.mark.parametrize("name", list_temporal_models())
def test_temporal_long_input_and_fully_padded_row(name: str) -> None:
    model = build(name).eval()
    x = torch.randn(2, 600, IN)
    mask = torch.ones(2, 600, dtype=torch.bool)
    mask[1] = False  # a sample with no valid frame at all
    with torch.no_grad():
        y = model(x, mask)
        other = x.clone()
        other[1] = torch.randn(600, IN)
        y_other = model(other, mask)
    assert y.shape == (2, 600, model.out_dim)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y_other[0], y[0])


def test_sinusoidal_encoding_matches_the_formula() -> None:
    table = sinusoidal_encoding(50, 7)
    pos, i = 13, 2
    assert table.shape == (50, 7)
    assert table[pos, 2 * i].item() == pytest.approx(math.sin(pos / 10000 ** (2 * i / 7)), abs=1e-5)
    assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos / 10000 ** (2 * i / 7)), abs=1e-5)


def frames_changed_by_first_frame(model: torch.nn.Module, length: int) -> torch.Tensor:
    model.eval()
    x = torch.randn(1, length, IN)
    mask = torch.ones(1, length, dtype=torch.bool)
    changed = x.clone()
    changed[0, 0] += 5
    with torch.no_grad():
        return (model(changed, mask) - model(x, mask)).abs().amax(-1)[0] > 1e-6


def test_transformer_radius_limits_attention_to_a_band() -> None:
    local = frames_changed_by_first_frame(build("transformer", layers=1, radius=8), 300)
    assert local[:9].all() and not local[9:].any()
    # Two layers reach twice as far; the band crosses the 128-frame blocks of the computation.
    two = frames_changed_by_first_frame(build("transformer", layers=2, radius=100), 300)
    assert two[:201].all() and not two[201:].any()
    full = frames_changed_by_first_frame(build("transformer", layers=1, radius=299), 300)
    assert full.all()


def test_banded_transformer_long_input_with_fully_padded_blocks() -> None:
    model = build("transformer", radius=64).eval()
    x = torch.randn(3, 600, IN)
    mask = torch.ones(3, 600, dtype=torch.bool)
    mask[1, 90:] = False  # blocks 1.. of this sample hold no valid frame
    mask[2] = False
    with torch.no_grad():
        y = model(x, mask)
        alone = model(x[1:2, :90], mask[1:2, :90])
    assert y.shape == (3, 600, DIM) and torch.isfinite(y).all()
    torch.testing.assert_close(y[1, :90], alone[0])


def test_transformer_rejects_bad_options() -> None:
    with pytest.raises(ConfigError, match="heads"):
        build("transformer", heads=5)
    with pytest.raises(ConfigError, match="radius"):
        build("transformer", radius=0)
    with pytest.raises(ConfigError, match="norm"):
        build("transformer", norm="sandwich")
    with pytest.raises(ConfigError, match="positions"):
        build("transformer", positions="rotary")


def test_transformer_blocks_of_the_paper_and_of_the_official_code() -> None:
    """R3D App. C (Eq. 53-55) and the official post-norm blocks, a learned position table; lengths
    past the table share its last row, and a video's output is the same alone or padded in a batch."""
    x = torch.randn(1, 5, 1, DIM)  # one token per frame
    attend = banded(torch.ones(1, 5, dtype=torch.bool), 512, 512)
    paper = build("transformer", norm="paper").eval()
    block = paper.blocks[0]
    assert block.placement == "paper" and block.attn.qkv.bias is not None
    with torch.no_grad():
        z = block.norm1(x) + block.attn(block.norm1(x), attend)  # Eq. 53
        torch.testing.assert_close(block(x, attend), block.norm2(z + block.mlp(z)))  # Eq. 54
    assert isinstance(paper.norm, torch.nn.LayerNorm)  # Eq. 55
    model = build("transformer", norm="post", positions="learned", max_positions=50).eval()
    assert isinstance(model.norm, torch.nn.Identity) and model.positions.table.shape == (1, 50, DIM)
    block = model.blocks[0]
    with torch.no_grad():
        after_attention = block.norm1(x + block.attn(x, attend))
        torch.testing.assert_close(block(x, attend), block.norm2(after_attention + block.mlp(after_attention)))
        table = model.positions(80, x)
        torch.testing.assert_close(table[49:], model.positions.table[0, 49].expand(31, DIM))
        x = torch.randn(2, 80, IN)
        mask = torch.ones(2, 80, dtype=torch.bool)
        mask[1, 60:] = False
        y = model(x, mask)
        torch.testing.assert_close(y[1, :60], model(x[1:2, :60], mask[1:2, :60])[0])


def test_tcn_receptive_field_and_options() -> None:
    # Kernel 3, dilations 1, 2, 4: frame 0 reaches frames 0..7.
    reach = frames_changed_by_first_frame(build("tcn", layers=3), 30)
    assert reach[:8].all() and not reach[8:].any()
    with pytest.raises(ConfigError, match="odd"):
        build("tcn", kernel_size=4)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 1.0])
def test_mask_dropout_keeps_the_expectation_and_is_off_in_evaluation(p: float) -> None:
    drop = MaskDropout(p)
    x = torch.ones(200_000)
    torch.manual_seed(0)
    y = drop(x)
    assert (y == 0).float().mean().item() == pytest.approx(p, abs=0.01)
    if p < 1:
        assert y.mean().item() == pytest.approx(1.0, abs=0.02)
        assert set(y.unique().tolist()) <= {0.0, torch.tensor(1 / (1 - p)).item()}
    assert torch.equal(drop.eval()(x), x)


def test_identity_has_no_temporal_context() -> None:
    reach = frames_changed_by_first_frame(build("identity"), 10)
    assert reach[0] and not reach[1:].any()


def test_mstcn_stages_refine_class_probabilities() -> None:
    model = build("mstcn", layers=3).eval()
    assert len(model.stages) == 4 and len(model.classifiers) == 3
    assert [stage.conv_in.in_channels for stage in model.stages] == [IN, CLASSES, CLASSES, CLASSES]
    x = torch.randn(2, 30, IN)
    mask = torch.ones(2, 30, dtype=torch.bool)
    mask[1, 20:] = False
    with torch.no_grad():
        hidden, logits = model.forward_stages(x, mask)
        # By hand: stage s > 1 reads the masked softmax of stage s - 1's masked logits.
        m = mask[..., None].float()
        expected, stages = x, []
        for stage, classifier in zip(model.stages, model.classifiers):
            stages.append(classifier(stage(expected, mask)) * m)
            expected = stages[-1].softmax(-1) * m
        torch.testing.assert_close(logits, torch.stack(stages))
        torch.testing.assert_close(hidden, model.stages[-1](expected, mask))
    # Kernel 3, dilations 1, 2, 4: one stage reaches 7 frames ahead, four stages 28.
    changed = x[:1].clone()
    changed[0, 0] += 5
    with torch.no_grad():
        diff = (model(changed, mask[:1]) - model(x[:1], mask[:1])).abs().amax(-1)[0]
    assert (diff[:12] > 0).all() and (diff[29:] == 0).all()
    assert len(build("mstcn", stages=1).classifiers) == 0
    with pytest.raises(ConfigError, match="stages"):
        build("mstcn", stages=0)


def test_mstcn_segmentation_loss_sums_every_stage() -> None:
    backbone = build_backbone(
        ["rgb"], {"rgb": IN}, DIM, DIM, {"name": "projection"}, {"name": "concat"}, {"name": "mstcn", "layers": 2},
        num_classes=CLASSES,
    )
    task = create_task("segmentation")
    model = TaskModel(backbone, task.build_head(DIM, CLASSES)).eval()
    mask = torch.ones(2, 25, dtype=torch.bool)
    mask[1, 15:] = False
    labels = torch.randint(0, CLASSES, (2, 25)).masked_fill(~mask, -100)
    batch = Batch({"rgb": torch.randn(2, 25, IN)}, mask, {"labels": labels})
    loss, fused, _ = task.loss(model, batch)
    hidden, _ = model(batch.feats, mask)
    per_stage = [*fused.aux["stage_logits"], model.head(hidden)]
    assert len(per_stage) == 4
    expected = sum(
        torch.nn.functional.cross_entropy(x.flatten(0, 1), labels.flatten(), ignore_index=-100)
        + 0.15 * smoothing_loss(x, mask)
        for x in per_stage
    )
    torch.testing.assert_close(loss, expected)
    with pytest.raises(ConfigError, match="number of classes"):
        build_backbone(["rgb"], {"rgb": IN}, DIM, DIM, {"name": "projection"}, {"name": "concat"}, {"name": "mstcn"})


def fusion_options(name: str, modalities: list[str]) -> dict:
    parameter = inspect.signature(FUSIONS.get(name)).parameters.get("modality")
    if parameter is not None and parameter.default in (None, inspect.Parameter.empty):
        return {"modality": modalities[-1]}
    return {}


@pytest.mark.parametrize("temporal", list_temporal_models())
@pytest.mark.parametrize("fusion", list_fusions())
def test_every_fuser_composes_with_every_temporal_model(fusion: str, temporal: str) -> None:
    modalities = ["rgb", "imu"]
    backbone = build_backbone(
        modalities,
        {"rgb": 10, "imu": 6},
        dim=DIM,
        hidden=24,
        encoder_cfg={"name": "projection"},
        fusion_cfg={"name": fusion, **fusion_options(fusion, modalities)},
        temporal_cfg={"name": temporal},
        num_classes=CLASSES,
    )
    assert isinstance(backbone, MultimodalBackbone)
    assert set(backbone.encoders) == set(backbone.fuser.modalities)
    feats = {"rgb": torch.randn(2, 9, 10), "imu": torch.randn(2, 9, 6)}
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[0, 6:] = False
    hidden, fused = backbone(feats, mask)
    assert hidden.shape == (2, 9, backbone.out_dim) and backbone.out_dim == 24
    assert fused.tokens.shape == (2, 9, backbone.fuser.out_dim)
    assert torch.isfinite(hidden).all()


def test_backbone_builds_only_the_encoders_the_fuser_uses() -> None:
    backbone = build_backbone(
        ["rgb", "imu"], {"rgb": 10, "imu": 6}, DIM, DIM,
        {"name": "projection", "layer_norm": True}, {"name": "single", "modality": "imu"}, {"name": "identity"},
    )
    assert list(backbone.encoders) == ["imu"]
    assert backbone.encoders["imu"].linear.in_features == 6
    hidden, fused = backbone({"imu": torch.randn(1, 5, 6)}, torch.ones(1, 5, dtype=torch.bool))
    assert hidden.shape == (1, 5, DIM) and list(fused.embeddings) == ["imu"]


def test_backbone_reports_config_mistakes() -> None:
    args = (["rgb", "imu"], {"rgb": 10, "imu": 6}, DIM, DIM, {"name": "projection"})
    with pytest.raises(ConfigError, match="supplies"):
        build_backbone(*args, {"name": "concat", "dim": 8}, {"name": "tcn"})
    with pytest.raises(ConfigError, match="no `name`"):
        build_backbone(*args, {"name": "concat"}, {"layers": 2})
    with pytest.raises(ConfigError, match="imu"):
        build_backbone(
            ["rgb", "imu"], {"rgb": 10}, DIM, DIM, {"name": "projection"}, {"name": "concat"}, {"name": "tcn"}
        )
    backbone = build_backbone(*args, {"name": "concat"}, {"name": "tcn"})
    with pytest.raises(ConfigError, match="lacks"):
        backbone({"rgb": torch.randn(1, 5, 10)}, torch.ones(1, 5, dtype=torch.bool))


@pytest.mark.parametrize("options", [{}, {"norm": "post", "positions": "learned", "max_positions": 15}])
def test_anticipation_decoder(options) -> None:
    torch.manual_seed(0)
    decoder = AnticipationDecoder(DIM, num_classes=5, num_queries=8, layers=2, heads=4, **options)
    memory = torch.randn(3, 20, DIM)
    mask = torch.ones(3, 20, dtype=torch.bool)
    mask[1, 12:] = False
    mask[2] = False  # no valid frame: must stay finite
    logits, durations = decoder(memory, mask)
    assert logits.shape == (3, 8, 6) and durations.shape == (3, 8)
    assert torch.isfinite(logits).all() and ((durations > 0) & (durations < 1)).all()

    (logits.square().mean() + durations.mean()).backward()
    for pname, p in decoder.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname

    decoder.eval()
    changed = memory.clone()
    changed[1, 12:] = torch.randn(8, DIM)
    with torch.no_grad():
        ref, new = decoder(memory, mask), decoder(changed, mask)
    torch.testing.assert_close(new[0][:2], ref[0][:2])
    torch.testing.assert_close(new[1][:2], ref[1][:2])


def test_anticipation_decoder_post_norm_layer_and_bad_options() -> None:
    """The official code's DETR decoder layer: LayerNorm after each of its three residual steps."""
    torch.manual_seed(0)
    layer = AnticipationDecoder(DIM, num_classes=5, layers=1, heads=4, norm="post").eval().layers[0]
    tgt, qpos = torch.randn(2, 8, DIM), torch.randn(2, 8, DIM)
    memory, mpos = torch.randn(2, 10, DIM), torch.randn(2, 10, DIM)
    with torch.no_grad():
        x = layer.norm1(tgt + layer.attn(tgt + qpos, dense(), key=tgt + qpos, value=tgt))
        x = layer.norm2(x + layer.cross_attn(x + qpos, dense(), key=memory + mpos, value=memory))
        torch.testing.assert_close(
            layer(tgt, memory, dense(), pos=qpos, memory_pos=mpos), layer.norm3(x + layer.mlp(x))
        )
    for options, match in [({"norm": "sandwich"}, "decoder_norm"), ({"positions": "rope"}, "decoder_positions")]:
        with pytest.raises(ConfigError, match=match):
            AnticipationDecoder(DIM, num_classes=5, **options)
