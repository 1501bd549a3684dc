"""Independent, per-frame pure-Python reference of the published metrics.

A transcription of MS-TCN's ``eval.py`` (``get_labels_start_end_time``, ``levenstein``,
``f_score``) and of the Abu Farha / FUTR MoC loop, with mmfuse's definitions where those
differ or break (DESIGN §5): a segment ends one past its last frame; edit of two empty
segment lists is 100, of one empty list 0; no ground-truth segment makes every prediction
a false positive; a zero denominator gives 0. Labels may be any hashable values (class
indices or names). Imports nothing from mmfuse, and no numpy, on purpose.
"""
from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence


def get_labels_start_end_time(
    frame_wise_labels: Sequence[Hashable], bg_class: Collection[Hashable] = ()
) -> tuple[list, list[int], list[int]]:
    labels: list = []
    starts: list[int] = []
    ends: list[int] = []
    if len(frame_wise_labels) == 0:
        return labels, starts, ends
    last_label = frame_wise_labels[0]
    if frame_wise_labels[0] not in bg_class:
        labels.append(frame_wise_labels[0])
        starts.append(0)
    for i in range(len(frame_wise_labels)):
        if frame_wise_labels[i] != last_label:
            if frame_wise_labels[i] not in bg_class:
                labels.append(frame_wise_labels[i])
                starts.append(i)
            if last_label not in bg_class:
                ends.append(i)
            last_label = frame_wise_labels[i]
    if last_label not in bg_class:
        ends.append(len(frame_wise_labels))  # one past the end (eval.py: the last index)
    return labels, starts, ends


def levenstein(p: Sequence[Hashable], y: Sequence[Hashable], norm: bool = False) -> float:
    m_row = len(p)
    n_col = len(y)
    D = [[0.0] * (n_col + 1) for _ in range(m_row + 1)]
    for i in range(m_row + 1):
        D[i][0] = i
    for i in range(n_col + 1):
        D[0][i] = i
    for j in range(1, n_col + 1):
        for i in range(1, m_row + 1):
            if y[j - 1] == p[i - 1]:
                D[i][j] = D[i - 1][j - 1]
            else:
                D[i][j] = min(D[i - 1][j] + 1, D[i][j - 1] + 1, D[i - 1][j - 1] + 1)
    if norm:
        if max(m_row, n_col) == 0:
            return 100.0
        return (1 - D[-1][-1] / max(m_row, n_col)) * 100
    return D[-1][-1]


def edit_score(
    recognized: Sequence[Hashable], ground_truth: Sequence[Hashable], bg_class: Collection = ()
) -> float:
    P, _, _ = get_labels_start_end_time(recognized, bg_class)
    Y, _, _ = get_labels_start_end_time(ground_truth, bg_class)
    return levenstein(P, Y, True)


def f_score(
    recognized: Sequence[Hashable],
    ground_truth: Sequence[Hashable],
    overlap: float,
    bg_class: Collection = (),
) -> tuple[float, float, float]:
    p_label, p_start, p_end = get_labels_start_end_time(recognized, bg_class)
    y_label, y_start, y_end = get_labels_start_end_time(ground_truth, bg_class)
    tp = 0
    fp = 0
    hits = [0] * len(y_label)
    for j in range(len(p_label)):
        if not y_label:
            fp += 1
            continue
        IoU = []
        for x in range(len(y_label)):
            intersection = min(p_end[j], y_end[x]) - max(p_start[j], y_start[x])
            union = max(p_end[j], y_end[x]) - min(p_start[j], y_start[x])
            IoU.append((1.0 * intersection / union) * (p_label[j] == y_label[x]))
        idx = max(range(len(IoU)), key=lambda x: (IoU[x], -x))  # first maximum
        if IoU[idx] >= overlap and not hits[idx]:
            tp += 1
            hits[idx] = 1
        else:
            fp += 1
    fn = len(y_label) - sum(hits)
    return float(tp), float(fp), float(fn)


def segmentation_scores(
    recognized_list: Sequence[Sequence[Hashable]],
    ground_truth_list: Sequence[Sequence[Hashable]],
    bg_class: Collection = (),
    overlaps: Sequence[float] = (0.1, 0.25, 0.5),
) -> dict[str, float]:
    """eval.py's main loop over videos: pooled accuracy, mean edit, summed TP/FP/FN."""
    correct = 0
    total = 0
    edit = 0.0
    tp = [0.0] * len(overlaps)
    fp = [0.0] * len(overlaps)
    fn = [0.0] * len(overlaps)
    for recognized, ground_truth in zip(recognized_list, ground_truth_list):
        assert len(recognized) == len(ground_truth)
        for i in range(len(ground_truth)):
            total += 1
            if ground_truth[i] == recognized[i]:
                correct += 1
        edit += edit_score(recognized, ground_truth, bg_class)
        for s in range(len(overlaps)):
            tp1, fp1, fn1 = f_score(recognized, ground_truth, overlaps[s], bg_class)
            tp[s] += tp1
            fp[s] += fp1
            fn[s] += fn1
    scores = {
        "accuracy": 100 * float(correct) / total if total else 0.0,
        "edit": edit / len(ground_truth_list) if ground_truth_list else 0.0,
    }
    for s in range(len(overlaps)):
        precision = tp[s] / (tp[s] + fp[s]) if tp[s] + fp[s] else 0.0
        recall = tp[s] / (tp[s] + fn[s]) if tp[s] + fn[s] else 0.0
        f1 = 2.0 * (precision * recall) / (precision + recall) if precision + recall else 0.0
        scores[f"f1@{int(overlaps[s] * 100 + 0.5)}"] = f1 * 100
    return scores


def moc_scores(
    predictions: Sequence[Mapping[float, Sequence[Hashable]]],
    ground_truths: Sequence[Sequence[Hashable]],
    observe: Sequence[float] = (0.2, 0.3),
    predict: Sequence[float] = (0.1, 0.2, 0.3, 0.5),
    future: float = 0.5,
) -> dict[str, float]:
    """Abu Farha / FUTR / R3D MoC: per-class true/false counts over the evaluated frames.

    ``predictions[v][obs]`` lists the predicted labels of frames ``int(obs * T)`` onwards. As in
    R3D's ``evaluation/predict_utkinects.py``: the prediction is the observed part followed by
    ``int(future * T)`` decoded frames, cut to ``int((obs + pred) * T)``, then scored up to
    ``min(len(prediction), T)`` (``utils.eval_file``).
    """
    scores = {}
    for obs in observe:
        for pred in predict:
            n_T: dict = {}
            n_F: dict = {}
            for recog, gt in zip(predictions, ground_truths):
                vid_len = len(gt)
                past_len = int(obs * vid_len)
                future_len = int(future * vid_len)
                prediction = list(gt[:past_len]) + list(recog[obs][:future_len])
                eval_prediction = prediction[: int((obs + pred) * vid_len)]
                last_frame = min(len(eval_prediction), vid_len)
                for frame in range(past_len, last_frame):
                    label = gt[frame]
                    n_T.setdefault(label, 0)
                    n_F.setdefault(label, 0)
                    if eval_prediction[frame] == label:
                        n_T[label] += 1
                    else:
                        n_F[label] += 1
            acc = 0.0
            n = 0
            for label in n_T:
                if n_T[label] + n_F[label] != 0:
                    acc += n_T[label] / (n_T[label] + n_F[label])
                    n += 1
            scores[f"moc_obs{int(obs * 100 + 0.5)}_pred{int(pred * 100 + 0.5)}"] = (
                100 * acc / n if n else 0.0
            )
    return scores
