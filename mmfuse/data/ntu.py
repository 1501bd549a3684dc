"""``ntu``: NTU RGB+D (60 classes) and NTU RGB+D 120 skeleton files as distributed (``datasets/ntu.md``).

::

    ROOT/nturgb+d_skeletons/SsssCcccPpppRrrrAaaa.skeleton   (or the .skeleton files directly in ROOT)
    ROOT/features/<rgb|depth|ir>/SsssCcccPpppRrrrAaaa.npy   optional per-frame features, (T, D) or (D, T)

A ``.skeleton`` file holds the frame count, then per frame the body count and per body one line
of 10 body values, the joint count (25) and 25 lines of 12 joint values (x y z depthX depthY
colorX colorY orientationW X Y Z trackingState). Each sample is one trimmed action: every frame
gets the class of ``Aaaa`` (as R3D's ``data/nturgbd-creategt.py``). Samples with no skeleton are
the dataset's documented quirk (a warning; the sample is skipped); anything else wrong is an
error naming the file and line.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from mmfuse.data.base import CheckedDataset, check_split
from mmfuse.data.feature_file import FeatureFile, every
from mmfuse.data.issues import Issue, raise_on_errors
from mmfuse.data.readers import Layout, check_options, error, fit_length, read_modality_features, relative, warning
from mmfuse.data.skeleton import STREAMS, check_streams, skeleton_streams
from mmfuse.data.video import Video
from mmfuse.errors import ConfigError, DataError
from mmfuse.files import write_atomically
from mmfuse.registry import register_dataset

# The official action list (github.com/shahroudy/NTURGB-D README), A001 first: the trailing period
# dropped and apostrophes straightened. A001-A060 are NTU RGB+D; NTU RGB+D 120 adds A061-A120.
CLASSES: tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing",
    "tear up paper", "wear jacket", "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses",
    "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up", "hand waving",
    "kicking something", "put something inside pocket / take out something from pocket",
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone", "playing with phone/tablet",
    "typing on a keyboard", "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)", "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person", "kicking other person", "pushing other person",
    "pat on back of other person", "point finger at the other person", "hugging other person",
    "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
    # NTU RGB+D 120 only
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down", "make ok sign",
    "make victory sign", "staple book", "counting money", "cutting nails", "cutting paper (using scissors)",
    "snapping fingers", "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper",
    "ball up paper", "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag",
    "take off bag", "put something into a bag", "take something out of a bag", "open a box",
    "move heavy objects", "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms",
    "arm circles", "arm swings", "running on the spot", "butt kicks (kick backward)", "cross toe touch",
    "side kick", "yawn", "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)", "grab other person's stuff",
    "shoot at other person with a gun", "step on foot", "high-five", "cheers and drink",
    "carry something with other person", "take a photo of other person", "follow other person",
    "whisper in other person's ear", "exchange things with other person",
    "support somebody with one's hand (someone is sick, help him to walk)",
    "finger-guessing game (playing rock-paper-scissors)",
)

# Kinect v2 joint order of the files (1-based in the NTU paper): spine base, spine mid, neck, head,
# left shoulder, elbow, wrist, hand, right shoulder, elbow, wrist, hand, left hip, knee, ankle, foot,
# right hip, knee, ankle, foot, spine shoulder, left hand tip, left thumb, right hand tip, right thumb.
# Parent of each joint: the bone pairs of 2s-AGCN (lshiwjx/2s-AGCN data_gen/gen_bone_data.py), the
# bone stream of the multi-stream skeleton literature. The spine shoulder is the root. It follows
# the Kinect v2 hierarchy except at the hands, where it chains hand tip -> thumb -> hand (Kinect:
# hand tip -> hand, thumb -> wrist).
PARENTS: tuple[int, ...] = (
    1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 20, 22, 7, 24, 11,
)
NUM_JOINTS = 25
BODY_VALUES = 10
JOINT_VALUES = 12
FEATURE_MODALITIES: tuple[str, ...] = ("rgb", "depth", "ir")
SKELETON_FOLDER = "nturgb+d_skeletons"
SAMPLE = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

# Published protocols. NTU RGB+D (Shahroudy et al., CVPR 2016): cross-subject trains on these 20
# performers, cross-view on cameras 2 and 3. NTU RGB+D 120 (Liu et al., TPAMI 2019): cross-subject
# trains on these 53 performers, cross-setup on the even setup numbers.
TRAIN_SUBJECTS_60: frozenset[int] = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
TRAIN_SUBJECTS_120: frozenset[int] = TRAIN_SUBJECTS_60 | frozenset((
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
    91, 92, 93, 94, 95, 97, 98, 100, 103,
))
TRAIN_CAMERAS: frozenset[int] = frozenset((2, 3))


@dataclass(frozen=True)
class Release:
    """What one release contains and which protocols it publishes."""

    num_classes: int
    num_setups: int
    train_subjects: frozenset[int]
    protocols: tuple[str, ...]


RELEASES: dict[int, Release] = {
    60: Release(60, 17, TRAIN_SUBJECTS_60, ("xsub", "xview")),
    120: Release(120, 32, TRAIN_SUBJECTS_120, ("xsub", "xset")),
}


@dataclass(frozen=True)
class Sample:
    """One ``.skeleton`` file and what its name says."""

    name: str
    path: Path
    setup: int
    camera: int
    subject: int
    replication: int
    action: int

    @property
    def meta(self) -> dict[str, int]:
        return {"setup": self.setup, "camera": self.camera, "subject": self.subject,
                "replication": self.replication, "action": self.action}


@dataclass
class SkeletonFile:
    """A parsed ``.skeleton`` file: every body's joints and where it sits."""

    num_frames: int
    joints: np.ndarray  # float64[N, 25, 3]: x, y, z of each body, in file order
    frame: np.ndarray  # int64[N]: frame of each body
    slot: np.ndarray  # int64[N]: position of each body within its frame (0 = listed first)


class _Malformed(Exception):
    """A line that breaks the format; ``index`` is 0-based."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def _line(lines: list[str], index: int, expected: str) -> str:
    if index >= len(lines):
        raise _Malformed(
            len(lines) - 1,
            f"file ends here, before {expected}; the file is truncated: extract it again from the NTU archive",
        )
    return lines[index]


def _count(lines: list[str], index: int, expected: str) -> int:
    text = _line(lines, index, expected).strip()
    if not (text.isascii() and text.isdigit()):
        hint = "; if the line belongs to the block above, that block has too many or too few lines" if index else ""
        raise _Malformed(index, f"expected {expected} (a non-negative integer), found {text!r}{hint}")
    return int(text)


def _table(lines: list[str], starts: list[int], span: int, width: int, what: str) -> np.ndarray:
    """``float64[len(starts) * span, width]`` from the ``span`` lines at each start, one row per line."""
    rows = [line for start in starts for line in lines[start:start + span]]
    if not rows:
        return np.zeros((0, width))
    try:
        table = np.loadtxt(rows, dtype=np.float64, comments=None, ndmin=2)
        if table.shape == (len(rows), width):
            return table
    except ValueError:
        pass
    # Slow path, only for a malformed file (or a number numpy's parser rejects): find the line.
    parsed = []
    for start in starts:
        for index in range(start, start + span):
            fields = lines[index].split()
            if len(fields) != width:
                raise _Malformed(index, f"{what} needs {width} values, found {len(fields)}: {lines[index]!r}")
            try:
                parsed.append([float(field) for field in fields])
            except ValueError:
                bad = next(f for f in fields if not _is_number(f))
                raise _Malformed(index, f"{what} holds {bad!r}, not a number") from None
    return np.array(parsed, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_skeleton(text: str) -> SkeletonFile:
    """Parse the text of a ``.skeleton`` file; raises ``_Malformed`` at the first line that breaks the format."""
    lines = text.splitlines()
    num_frames = _count(lines, 0, "the frame count")
    body_rows: list[int] = []
    frame: list[int] = []
    slot: list[int] = []
    index = 1
    for t in range(num_frames):
        num_bodies = _count(lines, index, f"the body count of frame {t + 1}")
        index += 1
        for b in range(num_bodies):
            where = f"frame {t + 1}, body {b + 1}"
            _line(lines, index, f"the body line of {where}")
            num_joints = _count(lines, index + 1, f"the joint count of {where}")
            if num_joints != NUM_JOINTS:
                raise _Malformed(index + 1, f"{where} has {num_joints} joints; NTU skeletons have {NUM_JOINTS}")
            _line(lines, index + 1 + NUM_JOINTS, f"joint {NUM_JOINTS} of {where}")
            body_rows.append(index)
            frame.append(t)
            slot.append(b)
            index += 2 + NUM_JOINTS
    for extra in range(index, len(lines)):
        if lines[extra].strip():
            raise _Malformed(extra, f"unexpected content after the {num_frames} frames the file declares")
    _table(lines, body_rows, 1, BODY_VALUES, "a body line")  # checked, not used
    joints = _table(lines, [row + 2 for row in body_rows], NUM_JOINTS, JOINT_VALUES, "a joint line")
    return SkeletonFile(
        num_frames=num_frames,
        joints=joints[:, :3].reshape(len(body_rows), NUM_JOINTS, 3),
        frame=np.array(frame, dtype=np.int64),
        slot=np.array(slot, dtype=np.int64),
    )


def main_body(skeleton: SkeletonFile) -> np.ndarray:
    """``float64[T, 25, 3]`` joints of the main body; zeros in frames where it is absent.

    The rule of 2s-AGCN's ``ntu_gendata.py``: bodies are grouped by their position in each frame's
    list (slot); a slot's energy is the sum over x, y and z of the standard deviation of its joint
    coordinates over the frames where it is not all zeros; the slot with the most energy is the
    main body (ties: the lower slot). The NTU authors' FAQ describes the same heuristic with
    variances: the body whose joints vary the most.
    """
    num_slots = int(skeleton.slot.max()) + 1 if skeleton.slot.size else 1
    energy = np.zeros(num_slots)
    nonzero = skeleton.joints.reshape(len(skeleton.joints), -1).any(axis=1)
    for s in range(num_slots):
        joints = skeleton.joints[(skeleton.slot == s) & nonzero]
        if joints.size:
            energy[s] = joints.reshape(-1, 3).std(axis=0).sum()
    main = int(np.argmax(energy))
    out = np.zeros((skeleton.num_frames, NUM_JOINTS, 3))
    chosen = skeleton.slot == main
    out[skeleton.frame[chosen]] = skeleton.joints[chosen]
    return out


def read_skeleton(path: Path, location: str) -> tuple[np.ndarray | None, dict[str, int], list[Issue]]:
    """Main-body joints ``float64[T, 25, 3]`` of one sample, facts about it, and its issues.

    ``None`` with a warning for a sample with no skeleton (the documented NTU quirk), ``None``
    with an error for a file that breaks the format.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [error(location, f"cannot be read as text ({exc}); extract it again from the NTU archive")]
    if not text.strip():
        return None, {}, [error(location, "is empty, not even a frame count; extract it again from the NTU archive")]
    try:
        skeleton = parse_skeleton(text)
    except _Malformed as bad:
        return None, {}, [error(f"{location}:{bad.index + 1}", bad.message)]
    name = path.stem
    if skeleton.num_frames == 0:
        return None, {}, [warning(location, f"sample {name} has 0 frames (NTU quirk: no skeleton); skipped")]
    if not np.any(np.nan_to_num(skeleton.joints)):
        return None, {}, [warning(
            location,
            f"sample {name}: none of its {skeleton.num_frames} frames has a skeleton (NTU quirk: samples with "
            "missing skeletons); skipped",
        )]
    issues = []
    finite = np.isfinite(skeleton.joints)
    if not finite.all():
        issues.append(warning(
            location,
            f"sample {name}: {int((~finite).sum())} joint coordinates are NaN/Inf (NTU quirk); rule: set to 0",
        ))
        skeleton.joints[~finite] = 0.0
    facts = {
        "max_bodies": int(skeleton.slot.max()) + 1 if skeleton.slot.size else 0,
        "frames_without_body": int(skeleton.num_frames - np.unique(skeleton.frame).size),
    }
    return main_body(skeleton), facts, issues


def parse_sample_name(name: str) -> tuple[int, int, int, int, int] | None:
    """``(setup, camera, subject, replication, action)`` from ``SsssCcccPpppRrrrAaaa``, else ``None``."""
    match = SAMPLE.fullmatch(name)
    return None if match is None else tuple(int(group) for group in match.groups())  # type: ignore[return-value]


def default_cache() -> Path:
    """Where parsed skeleton streams are kept: ``$XDG_CACHE_HOME/mmfuse/ntu`` (``~/.cache/mmfuse/ntu``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmfuse" / "ntu"


@register_dataset("ntu")
class NTUDataset(CheckedDataset):
    """NTU RGB+D / NTU RGB+D 120 skeletons as joint and bone streams, one trimmed action per sample."""

    def __init__(
        self,
        root: str | Path | None = None,
        modalities: Sequence[str] | str = ("joint", "bone"),
        split: str = "xsub",
        version: int = 60,
        sample_rate: int = 1,
        background: Sequence[str] | str = (),
        exclude: str | Path | None = None,
        layout: Layout = "channels_first",
        length_tolerance: int = 5,
        cache: str | Path | None = None,
    ) -> None:
        if root is None:
            raise ConfigError("dataset 'ntu' needs a root folder: set dataset.root=/path/to/ntu")
        self.cache = Path(cache).expanduser() if cache else default_cache()
        if isinstance(version, bool) or version not in RELEASES:
            raise ConfigError(f"dataset.version must be 60 (NTU RGB+D) or 120 (NTU RGB+D 120), got {version!r}")
        self.release = RELEASES[version]
        if split not in self.release.protocols:
            raise ConfigError(
                f"dataset.split must be one of {', '.join(self.release.protocols)} for NTU RGB+D "
                f"{'' if version == 60 else '120 '}(version {version}), got {split!r}"
            )
        check_options(sample_rate, length_tolerance, layout)
        self.classes = list(CLASSES[: self.release.num_classes])
        background = [background] if isinstance(background, str) else list(background)
        unknown = [name for name in background if name not in self.classes]
        if unknown:
            raise ConfigError(f"dataset.background names {unknown}, not NTU classes; NTU has no background class, "
                              "leave it []")
        self.background = background
        self.modalities = check_streams(modalities, FEATURE_MODALITIES)
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"{self.root}: dataset root is not a directory; set dataset.root to the NTU folder")
        self.version = version
        self.split = split
        self.sample_rate = sample_rate
        self.layout = layout
        self.length_tolerance = length_tolerance
        nested = (self.root / SKELETON_FOLDER).is_dir()
        self.skeleton_dir = self.root / SKELETON_FOLDER if nested else self.root
        self._skeleton_location = SKELETON_FOLDER if nested else str(self.root)
        self._dims: dict[str, int] = {m: NUM_JOINTS * 3 for m in self.modalities if m in STREAMS}
        excluded, issues = self._read_exclude(exclude)
        self._samples, sample_issues = self._list_samples(excluded)
        self._setup_issues = issues + sample_issues + self._feature_folder_issues()

    def _read_exclude(self, exclude: str | Path | None) -> tuple[set[str], list[Issue]]:
        if exclude is None:
            return set(), []
        path = Path(exclude).expanduser()
        path = path if path.is_absolute() else self.root / path
        location = relative(path, self.root)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return set(), [error(location, f"dataset.exclude cannot be read ({exc}); give a text file with one "
                                 "sample name per line, or null")]
        names = {line.strip().removesuffix(".skeleton") for line in text.splitlines() if line.strip()}
        return names, []

    def _list_samples(self, excluded: set[str]) -> tuple[list[Sample], list[Issue]]:
        samples, issues = [], []
        for path in sorted(self.skeleton_dir.glob("*.skeleton")):
            location = relative(path, self.root)
            fields = parse_sample_name(path.stem)
            if fields is None:
                issues.append(error(location, "the name is not SsssCcccPpppRrrrAaaa.skeleton; rename or remove it"))
                continue
            sample = Sample(path.stem, path, *fields)
            problem = self._name_problem(sample)
            if problem:
                issues.append(error(location, problem))
            elif sample.name not in excluded:
                samples.append(sample)
        if not samples and not issues:
            issues.append(error(
                self._skeleton_location,
                f"holds no .skeleton files; put the NTU skeletons in ROOT/{SKELETON_FOLDER}/ (or in ROOT)",
            ))
        return samples, issues

    def _name_problem(self, sample: Sample) -> str | None:
        release, hint = self.release, "" if self.version == 120 else "; set dataset.version=120 for NTU RGB+D 120"
        if not 1 <= sample.action <= release.num_classes:
            return (f"action A{sample.action:03d} is not a class of version {self.version} "
                    f"(A001-A{release.num_classes:03d}){hint}")
        if not 1 <= sample.setup <= release.num_setups:
            return f"setup S{sample.setup:03d} is not in version {self.version} (S001-S{release.num_setups:03d}){hint}"
        if not 1 <= sample.camera <= 3:
            return f"camera C{sample.camera:03d} does not exist; NTU has cameras C001-C003"
        return None

    def _feature_folder_issues(self) -> list[Issue]:
        return [
            error(f"features/{m}", f"missing directory for modality {m!r} (dataset.modalities); put one "
                  f"<sample>.npy file per sample there, or drop {m!r} from dataset.modalities")
            for m in self.modalities
            if m not in STREAMS and not (self.root / "features" / m).is_dir()
        ]

    def is_train(self, sample: Sample) -> bool:
        """Whether ``sample`` is a training sample under the configured protocol."""
        if self.split == "xsub":
            return sample.subject in self.release.train_subjects
        if self.split == "xview":
            return sample.camera in TRAIN_CAMERAS
        return sample.setup % 2 == 0  # xset

    def samples(self, split: str) -> list[Sample]:
        """Every sample of ``split`` (``"train"`` or ``"test"``) found on disk, sorted by name."""
        check_split(split)
        return [s for s in self._samples if self.is_train(s) == (split == "train")]

    def _read_widths(self, modalities: list[str]) -> None:
        """A feature modality's width from the first train sample's file (skeleton streams: 75, known)."""
        first = self.samples("train")[:1]
        if not first:
            raise_on_errors([self._empty_split("train")])
        for modality in modalities:
            raise_on_errors(self._read_features(first[0], modality, None)[1])

    def _read_features(
        self, sample: Sample, modality: str, num_frames: int | None
    ) -> tuple[np.ndarray | None, list[Issue]]:
        """One sample's features of ``modality``, fitted to ``num_frames`` when given; checks the width."""
        path = self.root / "features" / modality / f"{sample.name}.npy"
        location = relative(path, self.root)
        features, issues = read_modality_features(
            path, location, self.layout, f"sample {sample.name}", self._dims, modality
        )
        if features is None:
            return None, issues
        if num_frames is None:
            return features, []
        return fit_length(features, num_frames, self.length_tolerance, location,
                          relative(sample.path, self.root), self.layout)

    def _cached_streams(self, sample: Sample, joints: np.ndarray, streams: Sequence[str]) -> dict[str, FeatureFile]:
        """The skeleton streams of a parsed sample as ``.npy`` files in the cache (written once per
        version of its skeleton file: the name holds a hash of its path, size and modification
        time), left on disk like feature files, so a loaded split holds no skeleton values."""
        stat = sample.path.stat()
        version = hashlib.sha256(f"{sample.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        paths = {name: self.cache / f"{sample.name}-{version}-{name}.npy" for name in streams}
        missing = [name for name, path in paths.items() if not path.is_file()]
        if missing:
            self.cache.mkdir(parents=True, exist_ok=True)
            for name, array in skeleton_streams(joints, PARENTS, missing).items():
                write_atomically(paths[name], lambda stream, array=array: np.save(stream, array), binary=True)
        width = NUM_JOINTS * 3
        return {name: FeatureFile(path, False, len(joints), width, frames=len(joints)) for name, path in paths.items()}

    def _empty_split(self, split: str) -> Issue:
        return error(
            self._skeleton_location,
            f"no usable {split} sample under protocol {self.split} (version {self.version}); add the skeleton files "
            "of that split",
        )

    def _load(self, split: str, keep: bool = True) -> tuple[list[Video], list[Issue]]:
        """Videos of ``split`` (only checked, one at a time, when not ``keep``) and every problem found."""
        streams = [m for m in self.modalities if m in STREAMS]
        videos, issues, usable = [], [], 0
        for sample in self.samples(split):
            joints, facts, sample_issues = read_skeleton(sample.path, relative(sample.path, self.root))
            issues += sample_issues
            if joints is None:
                continue
            read = {}
            for modality in self.modalities:
                if modality not in STREAMS:
                    array, feature_issues = self._read_features(sample, modality, len(joints))
                    issues += feature_issues
                    read[modality] = array
            if any(array is None for array in read.values()):
                continue
            usable += 1
            if keep:
                features = self._cached_streams(sample, joints, streams) | read
                labels = np.full(len(joints), sample.action - 1, dtype=np.int64)
                videos.append(Video(
                    sample.name,
                    {m: every(features[m], self.sample_rate) for m in self.modalities},
                    labels,
                    sample_rate=self.sample_rate,
                    meta={"split": split, **sample.meta, **facts},
                ))
        if not usable and not any(issue.severity == "error" for issue in issues):
            issues.append(self._empty_split(split))
        return videos, issues

    def validate(self) -> list[Issue]:
        issues = list(self._setup_issues)
        if any(issue.severity == "error" for issue in issues) and not self._samples:
            return issues
        issues += self._check_splits()
        return issues
