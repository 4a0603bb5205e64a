"""The parts every report page is made of: PNG figures, HTML tables, the page itself.

Shared by the Monte Carlo and sweep report (:mod:`iamd.analysis.report`) and the page of
one run (:mod:`iamd.analysis.report_run`).
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from iamd.analysis.store import column, metric_columns
from iamd.viz.palette import FATE_COLOURS


def png_of(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def img_tag(b64: str, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def names_like(table: pa.Table, prefix: str, suffix: str) -> list[str]:
    return [n for n in metric_columns(table) if n.startswith(prefix) and n.endswith(suffix)]


def fates_plot(table: pa.Table, xlabel: str = "threats per run (mean)") -> str:
    """:func:`fates_figure` as a base64 PNG."""
    return png_of(fates_figure(table, xlabel))


def fates_figure(table: pa.Table, xlabel: str = "threats per run (mean)") -> Figure:
    """Mean fate counts of each threat class, stacked (a row of ``table`` per run).

    The legend sits above the axes, so it never covers a bar.
    """
    classes = sorted({n.split(".")[2] for n in names_like(table, "threats.by_class.", ".launched")})
    fig, ax = plt.subplots(figsize=(7, 1.3 + 0.5 * max(len(classes), 1)))
    left = np.zeros(len(classes))
    for fate, colour in FATE_COLOURS.items():
        means = np.array(
            [np.nanmean(column(table, f"threats.by_class.{c}.{fate}")) for c in classes]
        )
        ax.barh(classes, means, left=left, color=colour, label=fate.replace("_", " "))
        left += np.nan_to_num(means)
    ax.set_xlabel(xlabel)
    ax.legend(
        fontsize=8,
        ncol=len(FATE_COLOURS),
        loc="lower left",
        bbox_to_anchor=(0.0, 1.02),
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )
    ax.set_title("fate of the threats, by class", pad=30)
    return fig


def html_row(label: str, cells: list[str]) -> str:
    tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
    return f"<tr><td>{html.escape(label)}</td>{tds}</tr>"


def html_table(headers: tuple[str, ...], rows: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
img{max-width:100%;margin:.5em 0}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}td:first-child{text-align:left}
h2{border-bottom:1px solid #ddd;margin-top:1.6em}.note{color:#555;font-size:.9em}"""


def page_of(parts: list[str]) -> str:
    """The self-contained HTML page of a report's sections."""
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>iamd report</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "<p class=note>Made by iamd. Intervals are 95 % Student t intervals of the mean; "
        "whiskers span the 5th to 95th percentiles. Borders: Natural Earth via world-atlas.</p>"
        "</body></html>\n"
    )
