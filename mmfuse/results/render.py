"""Every leaderboard rendering (terminal, Markdown, CSV, LaTeX, HTML) from the summary table alone."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from tabulate import tabulate

from mmfuse.results.aggregate import ColumnSpec


@dataclass
class Leaderboard:
    """One table: rows are cells, columns the task's metrics, values mean ± std over seeds."""

    task: str
    dataset: str
    columns: list[ColumnSpec]
    mean: pd.DataFrame  # cell × metric
    std: pd.DataFrame
    n: pd.Series  # seeds per cell (the smallest over its metrics)

    @property
    def title(self) -> str:
        return f"{self.task} on {self.dataset}"

    @property
    def slug(self) -> str:
        return f"{self.task}-{self.dataset}".replace("/", "_").replace(" ", "")

    def best(self, key: str) -> float:
        column = self.mean[key].dropna()
        if column.empty:
            return math.nan
        spec = next(c for c in self.columns if c.key == key)
        return column.max() if spec.higher_is_better else column.min()

    def cell_text(self, cell: str, key: str) -> str:
        mean, std = self.mean.at[cell, key], self.std.at[cell, key]
        if pd.isna(mean):
            return "–"
        return f"{mean:.1f}" if pd.isna(std) else f"{mean:.1f} ± {std:.1f}"

    def rows(self) -> list[list[str]]:
        return [
            [cell, *(self.cell_text(cell, c.key) for c in self.columns), str(int(self.n[cell]))]
            for cell in self.mean.index
        ]

    def headers(self) -> list[str]:
        return ["method", *(c.header for c in self.columns), "n"]


def build_leaderboards(summary: pd.DataFrame, columns: dict[tuple[str, str], list[ColumnSpec]]) -> list[Leaderboard]:
    boards = []
    for (task, dataset), part in summary.groupby(["task", "dataset"], sort=True):
        specs = columns.get((task, dataset)) or [ColumnSpec(m, m) for m in sorted(part["metric"].unique())]
        keys = [c.key for c in specs]
        mean = part.pivot(index="cell", columns="metric", values="mean").reindex(columns=keys)
        std = part.pivot(index="cell", columns="metric", values="std").reindex(columns=keys)
        n = part.pivot(index="cell", columns="metric", values="n").reindex(columns=keys).min(axis=1).fillna(0)
        boards.append(Leaderboard(task, dataset, specs, mean, std, n))
    return boards


def to_markdown(board: Leaderboard) -> str:
    body = tabulate(board.rows(), headers=board.headers(), tablefmt="github", disable_numparse=True)
    return f"### {board.title}\n\nmean ± std over seeds (n seeds); metrics in percent\n\n{body}\n"


def to_csv(board: Leaderboard) -> str:
    frame = pd.DataFrame(
        {
            "task": board.task,
            "dataset": board.dataset,
            "method": board.mean.index,
            **{f"{c.key}_mean": board.mean[c.key].to_numpy() for c in board.columns},
            **{f"{c.key}_std": board.std[c.key].to_numpy() for c in board.columns},
            "n": board.n.astype(int).to_numpy(),
        }
    )
    return frame.to_csv(index=False, float_format="%.4f")


def _latex_escape(text: str) -> str:
    for raw, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(raw, escaped)
    return text.replace("α", r"$\alpha$").replace("β", r"$\beta$")


def to_latex(board: Leaderboard) -> str:
    """booktabs table; the best mean of each column in bold."""
    lines = [
        r"\begin{tabular}{l" + "c" * len(board.columns) + "c}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in board.headers()) + r" \\",
        r"\midrule",
    ]
    for cell in board.mean.index:
        values = []
        for column in board.columns:
            text = board.cell_text(cell, column.key).replace("±", r"$\pm$")
            if board.mean.at[cell, column.key] == board.best(column.key):
                text = r"\textbf{" + text + "}"
            values.append(text)
        lines.append(" & ".join([_latex_escape(cell), *values, str(int(board.n[cell]))]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


_HTML = Environment(autoescape=True).from_string(
    """<table class="mmfuse-leaderboard">
<caption>{{ board.title }} (mean ± std over seeds, n seeds)</caption>
<thead><tr>{% for h in board.headers() %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for cell in board.mean.index %}<tr><td>{{ cell }}</td>{% for c in board.columns %}<td>{% if board.mean.at[cell, c.key] == board.best(c.key) %}<b>{{ board.cell_text(cell, c.key) }}</b>{% else %}{{ board.cell_text(cell, c.key) }}{% endif %}</td>{% endfor %}<td>{{ board.n[cell]|int }}</td></tr>
{% endfor %}</tbody>
</table>
"""
)


def to_html(board: Leaderboard) -> str:
    return _HTML.render(board=board)


def to_rich(board: Leaderboard) -> Table:
    table = Table(title=escape(board.title), caption="mean ± std over seeds; n = seeds")
    for header in board.headers():
        if header == "method":
            table.add_column(header, justify="left", no_wrap=True)
        else:
            table.add_column(escape(header), justify="right")
    for cell, row in zip(board.mean.index, board.rows()):
        styled = [escape(row[0])]
        for column, text in zip(board.columns, row[1:-1]):
            styled.append(f"[bold]{text}[/bold]" if board.mean.at[cell, column.key] == board.best(column.key) else text)
        table.add_row(*styled, row[-1])
    return table


RENDERERS = {"md": to_markdown, "csv": to_csv, "tex": to_latex, "html": to_html}


def write_leaderboards(boards: list[Leaderboard], directory: Path) -> list[Path]:
    """Write every board in every file format; return the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for board in boards:
        for suffix, render in RENDERERS.items():
            path = directory / f"{board.slug}.{suffix}"
            path.write_text(render(board))
            written.append(path)
    return written


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 200 columns when output is not a terminal."""
    console = Console()
    if not console.is_terminal:
        console.width = 200
    return console


def print_leaderboards(boards: list[Leaderboard], console: Console | None = None) -> None:
    console = console or wide_console()
    for board in boards:
        console.print(to_rich(board))
