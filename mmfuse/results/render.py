"""Every leaderboard rendering (terminal, Markdown, CSV, LaTeX, HTML) from the summary table alone."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from tabulate import tabulate

from mmfuse.results.aggregate import ColumnSpec
from mmfuse.results.baselines import ReportedRow
from mmfuse.results.metric_notes import metric_notes

MEASURED = "measured"


@dataclass(frozen=True)
class Row:
    """One rendered row: text of each value column and whether it is the column's best."""

    method: str
    source: str  # "measured" or "reported (<paper>, Table <n>)"
    values: list[str]
    bold: list[bool]
    n: str


@dataclass
class Leaderboard:
    """One table: rows are cells, columns the task's metrics, values mean ± std over seeds.

    Published rows matching the board (``reported``) follow the measured ones, marked in a
    ``source`` column that appears only when there are any; they never count for the best.
    """

    task: str
    dataset: str
    columns: list[ColumnSpec]
    mean: pd.DataFrame  # cell × metric
    std: pd.DataFrame
    n: pd.Series  # seeds per cell (the smallest over its metrics)
    reported: list[ReportedRow] = field(default_factory=list)

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

    def table_rows(self) -> list[Row]:
        """Measured rows (best of each column flagged), then reported rows (never flagged)."""
        rows = [
            Row(
                cell,
                MEASURED,
                [self.cell_text(cell, c.key) for c in self.columns],
                [self.mean.at[cell, c.key] == self.best(c.key) for c in self.columns],
                str(int(self.n[cell])),
            )
            for cell in self.mean.index
        ]
        for reported in self.reported:
            values = [reported_text(reported, c.key) for c in self.columns]
            rows.append(Row(reported.method, f"reported ({reported.source})", values, [False] * len(values), "–"))
        return rows

    def labels(self, row: Row) -> list[str]:
        """A row's method and, on a board with reported rows, its source."""
        return [row.method, row.source] if self.reported else [row.method]

    def rows(self) -> list[list[str]]:
        return [[*self.labels(row), *row.values, row.n] for row in self.table_rows()]

    def headers(self) -> list[str]:
        source = ["source"] if self.reported else []
        return ["method", *source, *(c.header for c in self.columns), "n"]

    @property
    def metric_notes(self) -> list[str]:
        """What each column's metric is, one line per metric; said by every rendering."""
        return metric_notes({c.key: c.header for c in self.columns})

    @property
    def reported_note(self) -> str:
        """Said under every rendering that has reported rows."""
        if not self.reported:
            return ""
        return "; rows marked reported are published numbers as the paper prints them, never bold"


def reported_text(row: ReportedRow, key: str) -> str:
    """A published value as the paper prints it (trailing zeros aside), with its std if given."""
    if key not in row.values:
        return "–"
    return f"{row.values[key]:g}" if key not in row.std else f"{row.values[key]:g} ± {row.std[key]:g}"


def build_leaderboards(
    summary: pd.DataFrame,
    columns: dict[tuple[str, str], list[ColumnSpec]],
    reported: dict[tuple[str, str], list[ReportedRow]] | None = None,
) -> list[Leaderboard]:
    """One board per (task, dataset); ``reported`` rows that share no column with a board are left out."""
    boards = []
    for (task, dataset), part in summary.groupby(["task", "dataset"], sort=True):
        specs = columns.get((task, dataset)) or [ColumnSpec(m, m) for m in sorted(part["metric"].unique())]
        keys = [c.key for c in specs]
        mean = part.pivot(index="cell", columns="metric", values="mean").reindex(columns=keys)
        std = part.pivot(index="cell", columns="metric", values="std").reindex(columns=keys)
        n = part.pivot(index="cell", columns="metric", values="n").reindex(columns=keys).min(axis=1).fillna(0)
        shown = [r for r in (reported or {}).get((task, dataset), []) if set(r.values) & set(keys)]
        boards.append(Leaderboard(task, dataset, specs, mean, std, n, shown))
    return boards


def to_markdown(board: Leaderboard) -> str:
    body = tabulate(board.rows(), headers=board.headers(), tablefmt="github", disable_numparse=True)
    notes = "".join(f"{note}. " for note in board.metric_notes).rstrip()
    return (
        f"### {board.title}\n\nmean ± std over seeds (n seeds); metrics in percent{board.reported_note}\n\n"
        f"{body}\n\n{notes}\n"
    )


def to_csv(board: Leaderboard) -> str:
    """Full-precision numbers; with reported rows, a ``source`` column and an empty ``n`` for them.

    CSV has no caption: its headers are the metric keys (``moc_obs20_pred10_mean``, ``accuracy_mean``,
    ``edit_std``, ``f1@10_mean`` …), which name the metric and are those of run records and
    ``mmfuse evaluate --json``.
    """
    source = {"source": MEASURED} if board.reported else {}
    frame = pd.DataFrame(
        {
            "task": board.task,
            "dataset": board.dataset,
            "method": board.mean.index,
            **source,
            **{f"{c.key}_mean": board.mean[c.key].to_numpy() for c in board.columns},
            **{f"{c.key}_std": board.std[c.key].to_numpy() for c in board.columns},
            "n": board.n.astype(int).to_numpy(),
        }
    )
    published = pd.DataFrame(
        [
            {
                "task": board.task,
                "dataset": board.dataset,
                "method": row.method,
                "source": f"reported ({row.source})",
                **{f"{c.key}_mean": row.values.get(c.key, math.nan) for c in board.columns},
                **{f"{c.key}_std": row.std.get(c.key, math.nan) for c in board.columns},
                "n": None,
            }
            for row in board.reported
        ],
        columns=frame.columns,
    )
    if not published.empty:
        frame = pd.concat([frame.astype({"n": "Int64"}), published.astype({"n": "Int64"})], ignore_index=True)
    return frame.to_csv(index=False, float_format="%.4f")


def _latex_escape(text: str) -> str:
    for raw, escaped in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        text = text.replace(raw, escaped)
    return text.replace("α", r"$\alpha$").replace("β", r"$\beta$").replace("≥", r"$\geq$")


def to_latex(board: Leaderboard) -> str:
    """A booktabs ``tabular`` to ``\\input`` in a float; the best measured mean of each column in bold,
    reported rows below a rule, and what each metric is in note rows under the bottom rule (a
    bare tabular cannot hold ``\\caption``)."""
    width = len(board.headers())
    lines = [
        r"\begin{tabular}{l" + "l" * bool(board.reported) + "c" * len(board.columns) + "c}",
        r"\toprule",
        " & ".join(_latex_escape(h) for h in board.headers()) + r" \\",
        r"\midrule",
    ]
    for index, row in enumerate(board.table_rows()):
        if board.reported and index == len(board.mean.index):
            lines.append(r"\midrule")
        values = [
            (r"\textbf{" + text + "}" if bold else text).replace("±", r"$\pm$")
            for text, bold in zip(row.values, row.bold)
        ]
        lines.append(" & ".join([*map(_latex_escape, board.labels(row)), *values, row.n]) + r" \\")
    lines.append(r"\bottomrule")
    lines += [
        rf"\multicolumn{{{width}}}{{l}}{{\footnotesize {_latex_escape(note)}}} \\" for note in board.metric_notes
    ]
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


_HTML = Environment(autoescape=True).from_string(
    """<table class="mmfuse-leaderboard">
<caption>{{ board.title }} (mean ± std over seeds, n seeds{{ board.reported_note }}){% for note in board.metric_notes %}<br>{{ note }}{% endfor %}</caption>
<thead><tr>{% for h in board.headers() %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in board.table_rows() %}<tr{% if board.reported %} class="{{ 'measured' if row.source == 'measured' else 'reported' }}"{% endif %}><td>{{ row.method }}</td>{% if board.reported %}<td>{{ row.source }}</td>{% endif %}{% for text, bold in zip(row.values, row.bold) %}<td>{% if bold %}<b>{{ text }}</b>{% else %}{{ text }}{% endif %}</td>{% endfor %}<td>{{ row.n }}</td></tr>
{% endfor %}</tbody>
</table>
"""
)


def to_html(board: Leaderboard) -> str:
    return _HTML.render(board=board, zip=zip)


def to_rich(board: Leaderboard) -> Table:
    caption = "\n".join([*board.metric_notes, f"mean ± std over seeds; n = seeds{board.reported_note}"])
    table = Table(title=escape(board.title), caption=escape(caption))
    for header in board.headers():
        if header == "method":  # a long cell name folds onto more lines; numbers never shrink
            table.add_column(header, justify="left", overflow="fold", min_width=12)
        elif header == "source":
            table.add_column(header, justify="left", no_wrap=True)
        else:
            table.add_column(escape(header), justify="right", no_wrap=True)
    for index, row in enumerate(board.table_rows()):
        if board.reported and index == len(board.mean.index):
            table.add_section()
        values = [f"[bold]{text}[/bold]" if bold else text for text, bold in zip(row.values, row.bold)]
        table.add_row(*map(escape, board.labels(row)), *values, row.n)
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
