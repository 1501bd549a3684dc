"""The LaTeX leaderboards compile: every board's ``.tex`` in a minimal document, through ``pdflatex``.

Renders the boards of a runs folder (``--runs``: ``mmfuse.results.leaderboard.make_leaderboards``,
``render.to_latex``) or, without it, takes every ``*.tex`` in a leaderboards folder (``--tex``,
default: the repository's ``leaderboards/``, which ``mmfuse bench`` writes); puts each in a
``table`` float with its board's title as caption, in an ``article`` with ``booktabs`` and nothing
else a user's paper would not have; runs ``pdflatex`` (Debian: ``apt-get install -y
texlive-latex-base texlive-latex-recommended``) and fails on any error; reports overfull boxes
(a table wider than the text); converts page 1 to ``bench/results/latex_table.png`` (``pdftoppm``,
poppler-utils) to look at, and writes ``bench/results/latex_compiles.md``.

    python bench/latex_compiles.py [--runs RUNS | --tex LEADERBOARDS]
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from mmfuse.results.leaderboard import make_leaderboards
from mmfuse.results.render import latex_escaped, to_latex

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

PREAMBLE = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\newsavebox{\board}
\begin{document}
"""


def tables(runs: Path | None, tex: Path) -> list[tuple[str, str]]:
    """(caption, tabular) of every board: rendered from ``runs``, or read from ``tex``'s files."""
    if runs is not None:
        return [(latex_escaped(board.title), to_latex(board)) for board in make_leaderboards(runs)]
    return [(latex_escaped(path.stem), path.read_text()) for path in sorted(tex.glob("*.tex"))]


def document(boards: list[tuple[str, str]]) -> str:
    """Each board in a float, shrunk to the text width where it is wider (8 MoC columns of mean ± std
    are), as a paper would set it."""
    floats = [
        f"\\begin{{table}}[ht]\n\\centering\n\\caption{{{caption}}}\n\\sbox{{\\board}}{{%\n{tabular}}}\n"
        "\\resizebox{\\ifdim\\wd\\board>\\linewidth\\linewidth\\else\\wd\\board\\fi}{!}{\\usebox{\\board}}\n"
        "\\end{table}\n"
        for caption, tabular in boards
    ]
    return PREAMBLE + "\n".join(floats) + "\\end{document}\n"


def compile_pdf(source: str, folder: Path) -> tuple[Path, list[str]]:
    """The PDF of ``source`` and the overfull-box warnings of its log; raises on a LaTeX error."""
    (folder / "boards.tex").write_text(source)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "boards.tex"],
        cwd=folder, capture_output=True, text=True,
    )
    log = (folder / "boards.log").read_text(errors="replace")
    if done.returncode != 0:
        errors = [line for line in log.splitlines() if line.startswith("!")]
        raise SystemExit(f"pdflatex failed ({done.returncode}): {errors or log[-2000:]}")
    return folder / "boards.pdf", re.findall(r"^Overfull \\hbox.*$", log, flags=re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, help="render the boards of this runs folder")
    parser.add_argument("--tex", type=Path, default=ROOT / "leaderboards", help="else compile these .tex files")
    args = parser.parse_args()
    for tool in ("pdflatex", "pdftoppm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y texlive-latex-base texlive-latex-recommended poppler-utils")
    boards = tables(args.runs, args.tex)
    if not boards:
        raise SystemExit("no boards to compile")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        pdf, overfull = compile_pdf(document(boards), Path(folder))
        subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(RESULTS / "latex_table")], check=True)
    version = subprocess.run(["pdflatex", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    source = f"`--runs {args.runs}`" if args.runs else f"the `.tex` files of `{args.tex.relative_to(ROOT) if args.tex.is_relative_to(ROOT) else args.tex}`"
    lines = [
        "# LaTeX leaderboards compile",
        "",
        f"{dt.date.today()}: {len(boards)} board(s) from {source}, each in a `table` float of an `article` with "
        f"`booktabs`, compiled by {version}: no error; {len(overfull)} overfull box(es)"
        + ("" if not overfull else ": " + "; ".join(overfull)) + ".",
        "",
        "Page 1: [latex_table.png](latex_table.png).",
    ]
    (RESULTS / "latex_compiles.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
