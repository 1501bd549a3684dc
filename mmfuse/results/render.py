"""Every leaderboard rendering (terminal, Markdown, CSV, LaTeX, HTML) from the summary of the long table alone."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment
from pandas.io.formats.style import Styler
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from tabulate import tabulate

from mmfuse.metrics.columns import Column
from mmfuse.results.aggregate import LONG_COLUMNS, MEASURED
from mmfuse.results.metric_notes import metric_notes
from mmfuse.results.significance import BEST, TIED, board_marks


@dataclass(frozen=True)
class Row:
    """One rendered row: text of each value column and its mark (``Leaderboard.mark``)."""

    method: str
    source: str  # "measured" or "reported (<paper>, Table <n>)"
    values: list[str]
    marks: list[str]
    n: str


def _no_runs() -> pd.DataFrame:
    return pd.DataFrame(columns=LONG_COLUMNS)


@dataclass
class Leaderboard:
    """One table: rows are cells, columns the task's metrics, values mean ± std over seeds.

    ``table`` holds one line per row: the measured cells (by name), then the published rows of
    this setting (as listed in ``baselines/``), marked in a ``source`` column that appears only
    when there are any; they never count for the best. Its columns: ``method``, ``source``,
    ``<key>_mean`` and ``<key>_std`` of every column, ``n`` (seeds; missing for a reported row).
    ``runs`` holds the board's measured rows of the long table (one per run × metric, with each
    run's per-video scores), from which the marks are set: the best mean of each column and every
    row not significantly different from it (``mmfuse.results.significance``), as ``significance``
    says under every rendering.
    """

    task: str
    dataset: str
    columns: list[Column]
    table: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=_no_runs)
    marks: dict[tuple[int, str], str] = field(init=False)
    significance: str = field(init=False)  # one line: what the marks mean, by which test

    def __post_init__(self) -> None:
        self.marks, self.significance = board_marks(self.table, self.columns, self.runs)

    def mark(self, index: int, key: str) -> str:
        """``"best"``, ``"tied"`` (not significantly different from the best) or ``""`` for a row
        index of ``table`` and a column key; a reported row is never marked."""
        return self.marks.get((index, key), "")

    @property
    def title(self) -> str:
        return f"{self.task} on {self.dataset}"

    @property
    def slug(self) -> str:
        return f"{self.task}-{self.dataset}".replace("/", "_").replace(" ", "")

    @property
    def measured(self) -> pd.Series:
        """Which rows are measured (the rest are reported)."""
        return self.table["source"] == MEASURED

    @property
    def has_reported(self) -> bool:
        return not self.measured.all()

    def best(self, key: str) -> float:
        """The best measured mean of a column, by its ``higher_is_better``; NaN when it has none."""
        column = self.table.loc[self.measured, f"{key}_mean"].dropna()
        if column.empty:
            return np.nan
        spec = next(c for c in self.columns if c.key == key)
        return column.max() if spec.higher_is_better else column.min()

    def cell_text(self, index: int, key: str) -> str:
        """A measured mean ± std to one decimal; a published value as the paper prints it
        (trailing zeros aside), with its std if given."""
        mean, std = self.table.at[index, f"{key}_mean"], self.table.at[index, f"{key}_std"]
        if pd.isna(mean):
            return "–"
        number = "{:.1f}" if self.table.at[index, "source"] == MEASURED else "{:g}"
        return number.format(mean) if pd.isna(std) else f"{number.format(mean)} ± {number.format(std)}"

    def table_rows(self) -> list[Row]:
        """Measured rows (marked), then reported rows (never marked)."""
        return [
            Row(
                line.method,
                line.source,
                [self.cell_text(index, c.key) for c in self.columns],
                [self.mark(index, c.key) for c in self.columns],
                str(int(line.n)) if measured else "–",
            )
            for (index, line), measured in zip(self.table.iterrows(), self.measured)
        ]

    def labels(self, row: Row) -> list[str]:
        """A row's method and, on a board with reported rows, its source."""
        return [row.method, row.source] if self.has_reported else [row.method]

    def rows(self) -> list[list[str]]:
        return [[*self.labels(row), *row.values, row.n] for row in self.table_rows()]

    def headers(self) -> list[str]:
        source = ["source"] if self.has_reported else []
        return ["method", *source, *(c.header for c in self.columns), "n"]

    @property
    def metric_notes(self) -> list[str]:
        """What each column's metric is, one line per metric; said by every rendering."""
        return metric_notes({c.key: c.header for c in self.columns})

    @property
    def reported_note(self) -> str:
        """Said under every rendering that has reported rows."""
        if not self.has_reported:
            return ""
        return "; rows marked reported are published numbers as the paper prints them, never marked"


def _board_rows(part: pd.DataFrame, keys: list[str], by: str) -> pd.DataFrame:
    """``method``, ``source``, ``<key>_mean``, ``<key>_std`` and ``n`` (the fewest seeds over the
    keys) per value of ``by`` in a part of the summary."""
    wide = {
        value: part.pivot(index=by, columns="metric", values=value).reindex(columns=keys).astype(float)
        for value in ("mean", "std", "n")
    }
    labels = part.drop_duplicates(by).set_index(by, drop=False).reindex(wide["mean"].index)
    return pd.DataFrame(
        {
            "method": labels["cell"],
            "source": labels["source"],
            **{f"{key}_mean": wide["mean"][key] for key in keys},
            **{f"{key}_std": wide["std"][key] for key in keys},
            "n": wide["n"].min(axis=1),
        }
    )


def build_leaderboards(summary: pd.DataFrame, long: pd.DataFrame | None = None) -> list[Leaderboard]:
    """One board per (task, dataset) with measured rows, its columns as the summary declares them;
    reported rows that share no column with a board are left out. ``long`` is the long table the
    summary came from: its runs' per-video scores set the marks (without it, only the best is)."""
    long = _no_runs() if long is None else long
    runs = long[long["source"] == MEASURED]
    boards = []
    for (task, dataset), part in summary.groupby(["task", "dataset"], sort=True):
        measured = part[part["source"] == MEASURED]
        if measured.empty:
            continue
        shown = measured.dropna(subset=["column"]).drop_duplicates("metric").sort_values("column")
        columns = [Column(r.metric, r.header, bool(r.higher_is_better)) for r in shown.itertuples()]
        keys = [c.key for c in columns]
        reported = _board_rows(part[part["source"] != MEASURED], keys, "order")
        table = pd.concat(
            [
                _board_rows(measured, keys, "cell").fillna({"n": 0}),
                reported.dropna(how="all", subset=[f"{key}_mean" for key in keys]),
            ],
            ignore_index=True,
        )
        mine = runs[(runs["task"] == task) & (runs["dataset"] == dataset)].reset_index(drop=True)
        boards.append(Leaderboard(task, dataset, columns, table.astype({"n": "Int64"}), mine))
    return boards


_MARKDOWN = {BEST: "**{}**", TIED: "<ins>{}</ins>", "": "{}"}  # GitHub keeps <ins> (underlined), drops <u>


def to_markdown(board: Leaderboard) -> str:
    rows = [
        [*board.labels(row), *(_MARKDOWN[mark].format(text) for text, mark in zip(row.values, row.marks)), row.n]
        for row in board.table_rows()
    ]
    body = tabulate(rows, headers=board.headers(), tablefmt="github", disable_numparse=True)
    notes = "".join(f"{note}. " for note in board.metric_notes).rstrip()
    return (
        f"### {board.title}\n\nmean ± std over seeds (n seeds); metrics in percent{board.reported_note}\n\n"
        f"{body}\n\n{board.significance}.\n\n{notes}\n"
    )


def to_csv(board: Leaderboard) -> str:
    """Full-precision numbers (each float as Python prints it, never rounded); with reported rows, a
    ``source`` column and an empty ``n`` for them; ``<key>_mark`` of each column: ``best``, ``tied``
    or empty (``Leaderboard.mark``).

    CSV has no caption: its headers are the metric keys (``moc_obs20_pred10_mean``, ``accuracy_mean``,
    ``edit_std``, ``f1@10_mean`` …), which name the metric and are those of run records and
    ``mmfuse evaluate --json``.
    """
    frame = board.table.drop(columns=[] if board.has_reported else ["source"])
    frame.insert(0, "dataset", board.dataset)
    frame.insert(0, "task", board.task)
    for c in board.columns:
        frame[f"{c.key}_mark"] = [board.mark(index, c.key) for index in board.table.index]
    return frame.to_csv(index=False)


def to_seeds_csv(board: Leaderboard) -> str:
    """Every measured value of the board, one row per run × metric at full precision: ``task``,
    ``dataset``, ``method`` (the cell), ``seed``, ``metric`` (its key), ``header``, ``value`` (percent),
    ``created`` and ``run`` (the run's directory), from the long table."""
    frame = board.runs.rename(columns={"cell": "method"})
    return frame[["task", "dataset", "method", "seed", "metric", "header", "value", "created", "run"]].to_csv(index=False)


_LATEX_SYMBOLS = {"±": r"$\pm$", "α": r"$\alpha$", "β": r"$\beta$", "≥": r"$\geq$", "×": r"$\times$", "–": "--"}


def _latex_symbols(text: str) -> str:
    """Escaped text with the symbols LaTeX's text fonts lack written in math mode."""
    for symbol, latex in _LATEX_SYMBOLS.items():
        text = text.replace(symbol, latex)
    return text


def _latex(frame: pd.DataFrame) -> Styler:
    """``frame`` as a Styler whose cells and headers are LaTeX-escaped (``& % $ # _ { } ~ ^ \\``)."""
    styler = frame.style.hide(axis="index").format(_latex_symbols, escape="latex")
    return styler.format_index(_latex_symbols, escape="latex", axis=1)


def latex_escaped(text: str) -> str:
    """``text`` escaped as every table cell is (e.g. a board's title for the caption of its float)."""
    tabular = _latex(pd.DataFrame([[text]])).hide(axis="columns").to_latex()
    return tabular.splitlines()[1].removesuffix(r" \\")


def to_latex(board: Leaderboard) -> str:
    """A booktabs ``tabular`` to ``\\input`` in a float; the best measured mean of each column in bold,
    those not significantly different from it underlined, reported rows below a rule, and what each
    metric is and how the marks were set in note rows under the bottom rule (a bare tabular cannot
    hold ``\\caption``)."""
    width = len(board.headers())
    rows = board.table_rows()
    marks = np.array([[""] * len(board.labels(row)) + row.marks + [""] for row in rows], dtype=object)
    styles = {BEST: "textbf: --rwrap;", TIED: "underline: --rwrap;", "": ""}
    body = _latex(pd.DataFrame(board.rows(), columns=board.headers())).apply(
        lambda _: np.vectorize(styles.__getitem__, otypes=[object])(marks), axis=None
    )
    column_format = "l" + "l" * board.has_reported + "c" * len(board.columns) + "c"
    lines = body.to_latex(hrules=True, column_format=column_format).splitlines()
    if board.has_reported:  # after \begin{tabular}, \toprule, the header, \midrule and the measured rows
        lines.insert(4 + int(board.measured.sum()), r"\midrule")
    note_style = f"multicolumn: {{{width}}}{{l}}--rwrap; footnotesize: --nowrap;"
    notes = _latex(pd.DataFrame({"note": [*board.metric_notes, *_latex_lines(board.significance)]}))
    notes = notes.hide(axis="columns").map(lambda _: note_style)
    note_lines = notes.to_latex().splitlines()[1:-1]  # inside the notes' own \begin{tabular} ... \end{tabular}
    return "\n".join([*lines[:-1], *note_lines, lines[-1]]) + "\n"


def _latex_lines(line: str, width: int = 72) -> list[str]:
    """A long note as note rows of a tabular (an ``l`` column never wraps, it widens the table): its
    words before the parenthesis, then the parenthesis, each wrapped at ``width`` characters."""
    head, _, tail = line.partition(" (")
    parts = [head, f"({tail}"] if tail else [line]
    return [row for part in parts for row in textwrap.wrap(part, width, break_on_hyphens=False)]


_HTML = Environment(autoescape=True).from_string(
    """<table class="mmfuse-leaderboard">
<caption>{{ board.title }} (mean ± std over seeds, n seeds{{ board.reported_note }}){% for note in board.metric_notes %}<br>{{ note }}{% endfor %}<br>{{ board.significance }}</caption>
<thead><tr>{% for h in board.headers() %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in board.table_rows() %}<tr{% if board.has_reported %} class="{{ 'measured' if row.source == 'measured' else 'reported' }}"{% endif %}><td>{{ row.method }}</td>{% if board.has_reported %}<td>{{ row.source }}</td>{% endif %}{% for text, mark in zip(row.values, row.marks) %}<td>{% if mark == "best" %}<b>{{ text }}</b>{% elif mark == "tied" %}<u>{{ text }}</u>{% else %}{{ text }}{% endif %}</td>{% endfor %}<td>{{ row.n }}</td></tr>
{% endfor %}</tbody>
</table>
"""
)


def to_html(board: Leaderboard) -> str:
    return _HTML.render(board=board, zip=zip)


_RICH = {BEST: "[bold]{}[/bold]", TIED: "[underline]{}[/underline]", "": "{}"}


def to_rich(board: Leaderboard) -> Table:
    caption = "\n".join([*board.metric_notes, f"mean ± std over seeds; n = seeds{board.reported_note}", board.significance])
    table = Table(title=escape(board.title), caption=escape(caption))
    for header in board.headers():
        if header == "method":  # a long cell name folds onto more lines; numbers never shrink
            table.add_column(header, justify="left", overflow="fold", min_width=12)
        elif header == "source":
            table.add_column(header, justify="left", no_wrap=True)
        else:
            table.add_column(escape(header), justify="right", no_wrap=True)
    measured = int(board.measured.sum())
    for index, row in enumerate(board.table_rows()):
        if board.has_reported and index == measured:
            table.add_section()
        values = [_RICH[mark].format(text) for text, mark in zip(row.values, row.marks)]
        table.add_row(*map(escape, board.labels(row)), *values, row.n)
    return table


RENDERERS = {"md": to_markdown, "csv": to_csv, "seeds.csv": to_seeds_csv, "tex": to_latex, "html": to_html}


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
