"""``mmfuse extract``: frame folders and videos to ``folder``-layout features, with a tiny timm model."""
from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from mmfuse.cli import main
from mmfuse.errors import ConfigError, DataError
from mmfuse.features.extract import extract_frames, extract_videos, save_features, to_unit
from mmfuse.features.frames import FrameSource, find_sources, image_files, natural_key, read_image
from mmfuse.features.timm_backbone import FrameEncoder, create_backbone
from mmfuse.registry import create_dataset

MODEL = ["--model", "test_resnet", "--img-size", "32", "--device", "cpu"]
CPU = torch.device("cpu")


def frames_rgb(count: int, seed: int = 0, size: tuple[int, int] = (40, 48)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*size, 3), dtype=np.uint8) for _ in range(count)]


def write_frame_folder(folder, frames: list[np.ndarray], prefix: str = "frame_") -> None:
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames, start=1):
        Image.fromarray(frame.squeeze()).save(folder / f"{prefix}{i}.png")


def write_video(path, count: int, rate: int = 10) -> None:
    """A tiny MPEG-4 video of ``count`` frames at ``rate`` fps, encoded with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in frames_rgb(count, seed=1, size=(32, 48)):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def encoder() -> FrameEncoder:
    return FrameEncoder("test_resnet", img_size=32)


def test_folder_and_video_features_load_with_the_folder_dataset(tmp_path, capsys):
    videos = tmp_path / "videos"
    write_frame_folder(videos / "clip_a", frames_rgb(11))
    write_video(videos / "clip_b.mp4", 7)
    out = tmp_path / "data"
    assert main(["extract", str(videos), str(out), *MODEL]) == 0
    assert "2 written, 0 skipped, 0 failed" in capsys.readouterr().out

    arrays = {name: np.load(out / "features" / "rgb" / f"{name}.npy") for name in ("clip_a", "clip_b")}
    assert arrays["clip_a"].shape == (96, 11) and arrays["clip_b"].shape == (96, 7)
    assert all(a.dtype == np.float32 and np.isfinite(a).all() for a in arrays.values())
    assert not any(p.name.startswith(".") for p in (out / "features" / "rgb").iterdir())

    (out / "mapping.txt").write_text("0 idle\n1 move\n")
    (out / "groundTruth").mkdir()
    (out / "groundTruth" / "clip_a.txt").write_text("idle\n" * 5 + "move\n" * 6)
    (out / "groundTruth" / "clip_b.txt").write_text("move\n" * 7)
    (out / "splits").mkdir()
    (out / "splits" / "train.split1.bundle").write_text("clip_a.txt\n")
    (out / "splits" / "test.split1.bundle").write_text("clip_b.txt\n")
    dataset = create_dataset("folder", root=str(out))
    assert dataset.feature_dims == {"rgb": 96}
    (video,) = dataset.videos("test")
    np.testing.assert_array_equal(video.features["rgb"], arrays["clip_b"].T)


def test_video_frames_match_the_decoded_frames(tmp_path, encoder):
    write_video(tmp_path / "clip.mp4", 5)
    with av.open(str(tmp_path / "clip.mp4")) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    frames = list(FrameSource("clip", tmp_path / "clip.mp4").frames())
    assert len(frames) == 5
    for ours, theirs in zip(frames, decoded):
        np.testing.assert_array_equal(ours, theirs)
    features = extract_frames(encoder, frames, CPU, batch_size=2)
    single = np.stack([extract_frames(encoder, [frame], CPU)[0] for frame in frames])
    np.testing.assert_allclose(features, single, rtol=1e-5, atol=1e-5)


def test_every_and_fps_thin_the_frames(tmp_path):
    write_video(tmp_path / "clip.mp4", 7, rate=10)
    video = FrameSource("clip", tmp_path / "clip.mp4")
    assert len(list(video.frames(every=2))) == 4
    assert len(list(video.frames(fps=5))) == 4  # frames at 0.0, 0.2, 0.4, 0.6 s
    assert len(list(video.frames(fps=30))) == 7  # never more than the video has
    assert video.length(every=2) == 4
    write_frame_folder(tmp_path / "frames", frames_rgb(5))
    assert len(list(FrameSource("frames", tmp_path / "frames").frames(every=3))) == 2


def test_a_rerun_skips_finished_videos(tmp_path, capsys):
    videos = tmp_path / "videos"
    write_frame_folder(videos / "a", frames_rgb(3))
    write_frame_folder(videos / "b", frames_rgb(4, seed=2))
    out = tmp_path / "data"
    assert main(["extract", str(videos), str(out), *MODEL]) == 0
    files = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "features" / "rgb").iterdir()}
    capsys.readouterr()

    assert main(["extract", str(videos), str(out), *MODEL]) == 0
    output = capsys.readouterr().out
    assert "2 of 2 videos already have features" in output and "Nothing to extract" in output
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "features" / "rgb").iterdir()} == files

    (out / "features" / "rgb" / "b.npy").unlink()
    assert main(["extract", str(videos), str(out), *MODEL]) == 0
    assert "1 written, 1 skipped" in capsys.readouterr().out
    assert (out / "features" / "rgb" / "a.npy").stat().st_mtime_ns == files["a.npy"][0]
    assert (out / "features" / "rgb" / "b.npy").read_bytes() == files["b.npy"][1]  # the same random backbone


def test_depth_maps_are_replicated_to_three_channels(tmp_path, encoder):
    grey = [frame[..., :1] for frame in frames_rgb(3)]
    write_frame_folder(tmp_path / "depth8", grey)
    write_frame_folder(tmp_path / "rgb", [np.repeat(g, 3, axis=2) for g in grey])
    deep = tmp_path / "depth16"
    deep.mkdir()
    for i, g in enumerate(grey, start=1):
        Image.fromarray(g.squeeze().astype(np.uint16) * 257).save(deep / f"{i}.png")  # 8-bit value v -> v * 257
    assert read_image(deep / "1.png", depth=True).dtype == np.uint16

    def features(folder, depth):
        return extract_frames(encoder, FrameSource(folder, tmp_path / folder).frames(depth=depth), CPU)

    rgb = features("rgb", depth=False)
    # v / 255 and v * 257 / 65535 are the same number but may round differently in float32.
    np.testing.assert_allclose(features("depth8", depth=True), rgb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features("depth16", depth=True), rgb, rtol=1e-5, atol=1e-6)


def test_depth_videos_keep_16_bits(tmp_path):
    rng = np.random.default_rng(0)
    depth = [rng.integers(0, 65536, size=(16, 24), dtype=np.uint16) for _ in range(3)]
    with av.open(str(tmp_path / "depth.mkv"), "w") as container:  # lossless 16-bit grey
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = 24, 16, "gray16le"
        for frame in depth:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray16le")))
        container.mux(stream.encode())
    frames = list(FrameSource("depth", tmp_path / "depth.mkv").frames(depth=True))
    assert [f.shape for f in frames] == [(16, 24, 1)] * 3 and frames[0].dtype == np.uint16
    for ours, written in zip(frames, depth):
        np.testing.assert_array_equal(ours[..., 0], written)


def test_frames_are_scaled_to_unit_range():
    depth_mm = np.array([0, 500, 1000, 5000], np.uint16).reshape(1, 1, 4, 1)
    torch.testing.assert_close(to_unit(depth_mm, CPU, depth_max=1000.0).flatten(), torch.tensor([0, 0.5, 1, 1]))
    torch.testing.assert_close(to_unit(depth_mm, CPU).flatten(), torch.tensor([0, 500, 1000, 5000]) / 65535)
    rgb = np.array([0, 51, 255], np.uint8).reshape(1, 1, 1, 3)
    frames = to_unit(rgb, CPU)
    assert frames.shape == (1, 3, 1, 1) and frames.dtype == torch.float32
    torch.testing.assert_close(frames.flatten(), torch.tensor([0, 0.2, 1]))


def test_depth_needs_single_channel_and_rgb_refuses_16_bit(tmp_path):
    Image.fromarray(frames_rgb(1)[0]).save(tmp_path / "colour.png")
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(DataError, match="colour.png: is a colour image"):
        read_image(tmp_path / "colour.png", depth=True)
    with pytest.raises(DataError, match="deep.png: .*depth map.*--depth"):
        read_image(tmp_path / "deep.png")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file_is_loaded(tmp_path, suffix):
    torch.manual_seed(3)
    source = timm.create_model("test_resnet", pretrained=False).eval()  # with its classifier, like hub weights
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(source.state_dict(), path)
    else:
        torch.save({"state_dict": source.state_dict()}, path)
    loaded = FrameEncoder("test_resnet", weights=path, img_size=32)
    source.reset_classifier(0)
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.backbone(x), source(x), rtol=0, atol=0)


def test_random_backbones_agree_across_runs():
    torch.manual_seed(1)
    first = create_backbone("test_resnet").state_dict()
    torch.manual_seed(2)
    second = create_backbone("test_resnet").state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_hub_failure_says_what_to_do(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("we cannot find the requested files in the local cache")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(ConfigError, match="cannot fetch pretrained weights of 'test_resnet' from the timm hub"):
        create_backbone("test_resnet", hub=True)


def test_weights_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.pth: weights file not found"):
        create_backbone("test_resnet", weights=tmp_path / "missing.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="garbage.pth: cannot be read as a weights file"):
        create_backbone("test_resnet", weights=tmp_path / "garbage.pth")
    torch.save(timm.create_model("test_efficientnet").state_dict(), tmp_path / "other.pth")
    with pytest.raises(ConfigError, match=r"other.pth: does not fit timm model 'test_resnet': \d+ missing"):
        create_backbone("test_resnet", weights=tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="choose one"):
        create_backbone("test_resnet", weights=tmp_path / "other.pth", hub=True)


def test_unknown_model_suggests_close_names(tmp_path, capsys):
    write_frame_folder(tmp_path / "videos" / "a", frames_rgb(1))
    assert main(["extract", str(tmp_path / "videos"), str(tmp_path / "out"), "--model", "resnet5O"]) == 2
    assert "Unknown timm model 'resnet5O'. Closest: resnet50" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_input_is_reported_and_the_good_videos_are_kept(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["extract", str(empty), str(tmp_path / "out"), *MODEL]) == 2
    assert "holds no frame folders, video files" in capsys.readouterr().err

    videos = tmp_path / "videos"
    write_frame_folder(videos / "good", frames_rgb(2))
    (videos / "hollow").mkdir()
    write_frame_folder(videos / "broken", frames_rgb(2))
    (videos / "broken" / "frame_2.png").write_bytes(b"not a png")
    (videos / "truncated.mp4").write_bytes(b"not a video")
    assert main(["extract", str(videos), str(tmp_path / "out"), *MODEL]) == 2
    output = capsys.readouterr().out
    assert "1 written, 0 skipped, 3 failed" in output
    assert "hollow: holds no images" in output
    assert "frame_2.png: cannot be read as an image" in output
    assert "truncated.mp4: cannot be opened as a video" in output
    assert [p.name for p in (tmp_path / "out" / "features" / "rgb").iterdir()] == ["good.npy"]


def test_fps_refuses_frame_folders(tmp_path, encoder):
    write_frame_folder(tmp_path / "a", frames_rgb(1))
    with pytest.raises(ConfigError, match="--fps resamples video files .* a is a frame folder"):
        extract_videos(encoder, [FrameSource("a", tmp_path / "a")], tmp_path / "out", "rgb", CPU, fps=5)
    with pytest.raises(ConfigError, match="--depth-max scales depth maps; add --depth"):
        extract_videos(encoder, [], tmp_path / "out", "rgb", CPU, depth_max=100)
    with pytest.raises(ConfigError, match="plain folder name"):
        extract_videos(encoder, [], tmp_path / "out", "../rgb", CPU)


def test_frames_are_sorted_by_the_numbers_in_their_names(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("f10.png", "f2.jpg", "f1.png", "notes.txt"):
        Image.new("RGB", (4, 4)).save(folder / name) if name.endswith(("png", "jpg")) else (folder / name).touch()
    assert [p.name for p in image_files(folder)] == ["f1.png", "f2.jpg", "f10.png"]
    assert sorted(["b10", "a2", "b9"], key=natural_key) == ["a2", "b9", "b10"]
    Image.new("RGB", (4, 4)).save(folder / "f1.jpg")
    with pytest.raises(DataError, match="f1.jpg and f1.png are the same frame"):
        image_files(folder)


def test_inputs_are_found_as_videos(tmp_path):
    write_video(tmp_path / "one.mp4", 2)
    assert find_sources(tmp_path / "one.mp4") == [FrameSource("one", tmp_path / "one.mp4")]
    write_frame_folder(tmp_path / "frames", frames_rgb(2))
    assert find_sources(tmp_path / "frames") == [FrameSource("frames", tmp_path / "frames")]
    write_frame_folder(tmp_path / "one", frames_rgb(1))
    with pytest.raises(DataError, match="one and one.mp4 would both be video 'one'"):
        find_sources(tmp_path)
    Image.new("RGB", (4, 4)).save(tmp_path / "stray.png")
    with pytest.raises(DataError, match="holds both images"):
        find_sources(tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        find_sources(tmp_path / "absent")


def test_saved_features_are_channels_first_float32(tmp_path):
    path = tmp_path / "features" / "rgb" / "v.npy"
    save_features(path, np.arange(6, dtype=np.float64).reshape(3, 2))
    saved = np.load(path)
    assert saved.dtype == np.float32 and saved.shape == (2, 3)
    assert [p.name for p in path.parent.iterdir()] == ["v.npy"]


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "--help"])
    assert exit_info.value.code == 0
    output = capsys.readouterr().out
    assert "Extract per-frame features from frame folders or video files with a timm backbone." in output
    assert "--weights FILE" in output and "--depth" in output
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "extract" in capsys.readouterr().out


def test_importing_the_data_layer_does_not_import_pyav() -> None:
    """PyAV is loaded only when a video file is decoded, never by ``import mmfuse.data``."""
    code = "import sys, mmfuse.data, mmfuse.features.frames; assert 'av' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
