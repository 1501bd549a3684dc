"""The report page: one self-contained HTML file with every board, its marks, runs and figures."""
from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest
from markupsafe import escape

from mmfuse.cli import main
from mmfuse.results.aggregate import long_table, summary
from mmfuse.results.baselines import ReportedRow
from mmfuse.results.leaderboard import as_shown
from mmfuse.results.records import write_json_atomic
from mmfuse.results.render import Leaderboard, build_leaderboards
from mmfuse.results.report import REPORT_FILE, write_report



def png(width: int, height: int) -> bytes:
    """A blank greyscale PNG of that size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = zlib.compress(b"".join(b"\0" + bytes(width) for _ in range(height)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = png(690, 480)  # a one-panel figure at 150 dpi
NOISE = {"name": "noise", "modality": "m1", "level": 1.0, "fill": "mean", "seed": 0}


def record(cell: str, seed: int, value: float, hash8: str, created: str = "2026-11-01T00:00:00+00:00", corruption=None) -> dict:
    """A finished run as ``load_records`` returns it (with its ``path``)."""
    name = f"{cell}[corruption=noise,corruption.level=1.0,corruption.modality=m1]" if corruption else cell
    return {
        "status": "finished", "task": "segmentation", "dataset": "synthetic", "cell": name, "trained_cell": cell,
        "method": cell, "seed": seed, "hash": hash8, "device": "cpu", "created": created,
        "metrics": {"accuracy": value, "edit": value / 2},
        "columns": [{"key": "accuracy", "header": "Acc", "higher_is_better": True},
                    {"key": "edit", "header": "Edit", "higher_is_better": True}],
        "versions": {"mmfuse": "0.1.0", "torch": "9.9.9", "python": "3.11.2", "numpy": "2.0.0", "cuda": "", "platform": "Linux"},
        "config": {"seed": seed, "fusion": {"name": cell}, "temporal": {"layers": 4}},
        "corruption": corruption or {"name": "none"},
        "path": f"runs/segmentation/synthetic/{name}/seed{seed}-{hash8}",
    }


def bench() -> list[dict]:
    return [
        record("concat", 1, 80.0, "c0ncat01"),
        record("concat", 10, 84.0, "c0ncat10"),
        record("concat", 10, 10.0, "0ld0ld10", created="2026-10-01T00:00:00+00:00"),  # rerun of seed 10: newest counts
        record("rtf", 1, 90.0, "rtf00001"),
        record("rtf", 10, 92.0, "rtf00010"),
        record("rtf", 1, 60.0, "n0ise001", corruption=NOISE),
        record("rtf", 10, 62.0, "n0ise010", corruption=NOISE),
    ]


def boards_of(records: list[dict]) -> list[Leaderboard]:
    """The boards of ``records`` with one published row on the clean board."""
    published = {("segmentation", "synthetic"): [ReportedRow("PaperNet", "Paper, Table 2", {"accuracy": 99.0}, {})]}
    long = long_table(as_shown(records), published)
    return build_leaderboards(summary(long), long)  # as leaderboards_of builds them


def sections(page: str) -> dict[str, str]:
    """Each board's part of the page, by its title."""
    parts = page.split('<section class="board"')[1:]
    return {re.search(r"<h2>(.*?)</h2>", part).group(1): part for part in parts}


@pytest.fixture
def page(tmp_path) -> str:
    (tmp_path / "spectra-segmentation-synthetic.png").write_bytes(PNG)
    path = write_report(boards_of(bench()), bench(), tmp_path)
    assert path == tmp_path / REPORT_FILE
    return path.read_text()


def test_the_page_holds_every_board_its_values_marks_notes_and_figures(page):
    boards = boards_of(bench())
    parts = sections(page)
    assert sorted(parts) == sorted(board.title for board in boards)
    for board in boards:
        part = parts[board.title]
        for index in board.table.index:
            for column in board.columns:
                assert board.cell_text(index, column.key) in part
        for note in board.metric_notes:
            assert escape(note) in part
    clean = parts["segmentation on synthetic"]
    assert '<td data-value="91.0" class="best" title="best">91.0 ± 1.4</td>' in clean  # rtf's Acc
    assert "bold</span>: the best measured mean" in page and "underlined</span>: not significantly different" in page
    measured, reported = clean.split('<tbody class="reported">')
    assert "PaperNet" not in measured and "PaperNet" in reported and "reported (Paper, Table 2)" in reported
    assert 'class="best"' not in reported
    figure = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert f'<img src="{figure}" width="442" height="307" alt="spectra: segmentation on synthetic">' in clean  # as printed
    assert figure not in parts["segmentation on synthetic, noise[level=1.0,modality=m1]"]


def test_each_measured_row_links_to_the_runs_the_board_counts(page):
    clean = sections(page)["segmentation on synthetic"]
    anchor = re.search(r'<a href="#([\w-]+)" title="its runs">concat</a>', clean).group(1)
    runs = clean.split(f'<details class="row" id="{anchor}">')[1].split("</details>\n")[0]
    for shown in ("c0ncat01", "c0ncat10", "cpu", "2026-11-01 00:00:00", "mmfuse 0.1.0 · torch 9.9.9", "layers: 4"):
        assert shown in runs
    assert "0ld0ld10" not in page  # the older run of seed 10 does not count
    noisy = sections(page)["segmentation on synthetic, noise[level=1.0,modality=m1]"]
    assert "<strong>rtf</strong>: 2 runs" in noisy and "n0ise001" in noisy and "name=noise, modality=m1" in noisy


def test_the_page_is_self_contained(page):
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert references and all(ref.startswith(("#", "data:")) for ref in references)
    assert "http://" not in page and "https://" not in page
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page  # the browser itself refuses any request


def test_the_significance_line_and_tied_marks_are_shown(tmp_path, monkeypatch):
    test = "paired bootstrap over seeds × test videos, 10000 resamples, α = 0.05, 12 pairs"
    boards = boards_of(bench())
    monkeypatch.setattr(Leaderboard, "significance", property(lambda self: test), raising=False)
    monkeypatch.setattr(Leaderboard, "mark", lambda self, index, key: "tied" if self.table.at[index, "method"] == "concat" else "")
    page = write_report(boards, bench(), tmp_path).read_text()
    clean = sections(page)["segmentation on synthetic"]
    assert f'</table>\n</div>\n<p class="significance">{test}</p>' in clean
    assert '<td data-value="82.0" class="tied" title="tied">82.0 ± 2.8</td>' in clean


def test_leaderboard_command_writes_the_report(tmp_path, capsys):
    for rec in bench():
        write_json_atomic(tmp_path / rec.pop("path") / "result.json", rec)
    out = tmp_path / "boards"
    (out / "spectra-segmentation-synthetic.png").parent.mkdir()
    (out / "spectra-segmentation-synthetic.png").write_bytes(PNG)
    assert main(["leaderboard", str(tmp_path / "runs"), "--out", str(out)]) == 0
    page = (out / REPORT_FILE).read_text()
    assert f"Report written to {out / REPORT_FILE}" in capsys.readouterr().out
    assert "c0ncat01" in page and base64.b64encode(PNG).decode() in page
    assert re.findall(r"<h2>(.*?)</h2>", page) == [
        "segmentation on synthetic", "segmentation on synthetic, noise[level=1.0,modality=m1]"]
