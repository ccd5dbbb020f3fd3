"""A grouped bar chart of the main retrieval metrics per mode, as a PNG."""

from __future__ import annotations

import logging
from pathlib import Path

from newsdesk.evals.names import FigureName, multi_all, retrieval_metrics
from newsdesk.evals.report import EvalReport

log = logging.getLogger(__name__)


def plot_report(report: EvalReport, path: Path, *, title: str = "Retrieval by mode") -> Path:
    """Write the chart to `path` (PNG). Uses matplotlib's Agg canvas, never a GUI backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    modes = list(report.modes)
    metrics = [*retrieval_metrics(report.k), multi_all(report.k)]
    metrics = [
        m for m in metrics if any(report.figure(FigureName(x, m)) is not None for x in modes)
    ]
    fig = Figure(figsize=(max(6.0, 1.2 * len(metrics) + 1.0), 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(modes))
    for i, mode in enumerate(modes):
        values = [report.figure(FigureName(mode, m)) or 0.0 for m in metrics]
        xs = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=mode)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("score")
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(f"{title} ({report.questions} questions)")
    ax.legend(loc="upper left", ncols=len(modes), fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    log.info("wrote plot %s", path)
    return path
