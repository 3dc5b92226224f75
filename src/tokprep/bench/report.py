"""What `tokprep bench` reports: the machine, a plain-text table, `results.json` and PNG charts.

A benchmark number means little without the machine it came from, so every results file starts
with the CPU, the core count, the GPU and the versions of each library that was timed. Every
table is a `tokprep.bench.records.Table` rendered the same way: its rows, its value columns and
the ratio column headed "time ÷ REFERENCE" (lower is better; `records.RATIO_RULE`). Charts show
each table's throughput with the same ratio in every bar's label. Charts need matplotlib (the
optional extra `tokprep[bench]`); without it `results.json` and the table are still written.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import textwrap
from pathlib import Path
from typing import Any

from tokprep.bench.records import SCHEMA_VERSION, Column, Document, Row, Table
from tokprep.files import atomic_write, write_envelope

# (module to import, distribution name) of every library whose speed `tokprep bench` reports.
LIBRARIES = (
    ("tokprep", "tokprep"),
    ("tiktoken", "tiktoken"),
    ("tokenizers", "tokenizers"),
    ("torch", "torch"),
    ("numpy", "numpy"),
    ("regex", "regex"),
    ("matplotlib", "matplotlib"),
)

MATPLOTLIB_MISSING = (
    "matplotlib is not installed, so no charts were drawn; "
    "`pip install matplotlib` (or `pip install 'tokprep[bench]'`) and run again"
)


# --- the machine --------------------------------------------------------------------------------


def library_version(module: str, distribution: str | None = None) -> str | None:
    """The installed version of `module`, or None when it cannot be imported.

    Importing (rather than only reading package metadata) is what the benchmark itself does, so
    a library that is installed but broken is reported as missing, as it is skipped."""
    try:
        imported = importlib.import_module(module)
    except ImportError:
        return None
    version = getattr(imported, "__version__", None)
    if isinstance(version, str):
        return version
    from importlib import metadata

    try:
        return metadata.version(distribution or module)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's marketing name where the OS tells it (Linux /proc/cpuinfo), else the arch."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError):
        pass
    return None


def gpu_info() -> dict[str, Any]:
    """The CUDA device torch sees (name, memory, CUDA version), or `{"name": None}`."""
    try:
        import torch
    except ImportError:  # tokprep without its torch extra: no device to report
        return {"name": None, "cuda": None}

    info: dict[str, Any] = {"name": None, "cuda": torch.version.cuda}
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        info.update(
            name=properties.name,
            memory_gb=round(properties.total_memory / 1024**3, 1),
            count=torch.cuda.device_count(),
        )
    return info


def machine_info() -> dict[str, Any]:
    """Where the numbers were measured: CPU, cores, memory, GPU, OS, Python, library versions."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": _memory_gb(),
        "gpu": gpu_info(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {module: library_version(module, dist) for module, dist in LIBRARIES},
    }


# --- results.json -------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities replaced by None: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_results(path: str | os.PathLike, document: Document | dict[str, Any]) -> None:
    """Write a bench results document atomically, in tokprep's envelope (`"kind": "bench"`),
    with `schema_version` (`tokprep.bench.records.SCHEMA_VERSION`)."""
    data = document.to_json() if isinstance(document, Document) else document
    write_envelope(path, "bench", _finite(data))


def read_tables(data: dict[str, Any]) -> list[Table]:
    """The tables of a results.json document (schema 2), as records."""
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"results schema {data.get('schema_version')!r}; this tokprep reads {SCHEMA_VERSION}"
        )
    return [Table.from_json(t) for m in data["measurements"].values() for t in m.get("tables", [])]


# --- the table ----------------------------------------------------------------------------------


def _eng(value: float, unit: str = "") -> str:
    """1234567 -> '1.23 M': numbers here span nine orders of magnitude."""
    from_prefix = ((1e9, "G"), (1e6, "M"), (1e3, "k"))
    for factor, prefix in from_prefix:
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}".rstrip()
    return f"{value:.3g} {unit}".rstrip()


def _seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def format_cell(value: Any, column: Column) -> str:
    """A cell as text, by its column's kind; text cells ("> 5 s cap") are shown as they are."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "-"
    kind = column.kind
    if kind == "seconds":
        return _seconds(float(value))
    if kind == "bytes":
        return _eng(float(value), "B")
    if kind == "rate":
        return _eng(float(value), column.unit)
    if kind == "count":
        return f"{int(value):,}"
    if kind == "percent":
        return f"{value:.1f}%"
    return f"{value:.3g}" if isinstance(value, float) else f"{value:,}"


def format_ratio(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return [line(header), *(line(row) for row in rows)]


def table_lines(table: Table) -> list[str]:
    """One table as text: the title, the grid (ratio column last), then its notes."""
    header = ["", *(c.name for c in table.columns)]
    if table.reference:
        header.append(table.ratio_header())
    rows = []
    for row in table.rows:
        cells = [row.label, *(format_cell(row.cells.get(c.name), c) for c in table.columns)]
        if table.reference:
            cells.append(format_ratio(row.ratio))
        rows.append(cells)
    lines = [f"-- {table.title}", *_grid(header, rows)]
    if table.reference:
        lines.append(f"   {table.ratio_rule()}")
    lines += [f"   {note}" for note in table.notes]
    return lines


SECTION_TITLES = {
    "encode": "Encoding throughput",
    "adversarial": "Adversarial inputs",
    "train": "BPE training",
    "dataloading": "DataLoader",
    "embeddings": "Embedding forward",
}


def format_table(document: Document) -> str:
    """The human-readable report of a run: per section, each measurement's tables, or why it
    was skipped or failed. Knows no measurement: it renders `Table` records."""
    machine, run = document.machine, document.run
    gpu = machine["gpu"].get("name") or "none"
    out = [
        f"tokprep bench ({run['plan']}) on {machine['cpu']}, {machine['cores']} cores, "
        f"GPU: {gpu}; {run['date']}",
        f"command: {run['command']}",
        "Every ratio is a time (or memory) ÷ the reference named in its column: lower is "
        "better, 0.50 = half the reference's time.",
    ]
    for section in run["sections"]:
        body: list[str] = []
        for m in document.measurements.values():
            if m.section != section:
                continue
            if m.status == "skipped":
                body.append(f"{m.name}: skipped: {m.reason}")
            elif m.status == "error":
                body.append(f"{m.name}: FAILED: {m.error}")
            for table in m.tables:
                body += table_lines(table)
        if body:
            out += ["", f"== {SECTION_TITLES.get(section, section)} ==", *body]
    return "\n".join(out)


# --- charts -------------------------------------------------------------------------------------


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (it is an optional extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def bar_label(row: Row, table: Table) -> str:
    """A bar's label: the contender and its ratio, read as in the tables."""
    if table.reference is None or row.ratio is None:
        return row.label
    if row.label == table.reference:
        return f"{row.label} (reference)"
    return f"{row.label} ({format_ratio(row.ratio)} x {table.reference}'s {table.quantity})"


def charted(table: Table) -> list[Row]:
    """The rows a table's chart draws: those with a throughput."""
    return [row for row in table.rows if row.rate] if table.rate_unit else []


def draw_table(ax: Any, table: Table, wrap: int = 90) -> None:
    """Horizontal throughput bars (higher is faster), the spread as whiskers, tokprep in blue,
    each label carrying its time ratio; ticks by `matplotlib.ticker.EngFormatter`. Titles and
    captions are wrapped at `wrap` characters (narrower in the summary's panels)."""
    from matplotlib.ticker import EngFormatter

    rows = charted(table)
    values = [row.rate or 0.0 for row in rows]
    low = [max(0.0, v - (row.rate_low or v)) for v, row in zip(values, rows, strict=True)]
    high = [max(0.0, (row.rate_high or v) - v) for v, row in zip(values, rows, strict=True)]
    positions = list(range(len(rows)))
    colours = ["#4C72B0" if row.ours else "#999999" for row in rows]
    ax.barh(positions, values, xerr=[low, high], color=colours, capsize=3, ecolor="#333333")
    ax.set_yticks(positions, [bar_label(row, table) for row in rows], fontsize=7)
    ax.invert_yaxis()
    title = "\n".join(textwrap.wrap(table.title, wrap))
    ax.set_title(f"{title}\n{table.rate_unit}, higher is faster", fontsize=8)
    ax.xaxis.set_major_formatter(EngFormatter(unit=""))
    caption = "\n".join(textwrap.wrap(table.chart_note, wrap - 10)) if table.chart_note else ""
    ax.set_xlabel(f"{table.rate_unit}\n{caption}".rstrip(), fontsize=7)
    for y, (value, row) in enumerate(zip(values, rows, strict=True)):
        ax.annotate(
            _eng(value, table.rate_unit),
            (row.rate_high or value, y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_xlim(0, max((row.rate_high or row.rate or 0.0) for row in rows) * 1.35)


def _save(figure: Any, path: Path, top: float = 1.0) -> None:
    figure.tight_layout(rect=(0, 0, 1, top))  # `top` < 1 leaves room for a suptitle
    with atomic_write(path, "wb") as f:
        figure.savefig(f, format="png", dpi=110)


def _chart_height(table: Table) -> float:
    """Inches for one table's chart: room for its title, its bars and its caption."""
    return 1.6 + 0.3 * len(charted(table)) + 0.4 * bool(table.chart_note)


def write_charts(document: Document, out: str | os.PathLike) -> list[str]:
    """One PNG per table that has throughputs (`<table key>.png`) and `summary.png` with all
    of them. Uses matplotlib's object API (no pyplot), so no window opens and no global state
    changes. Returns the file names written. Raises ImportError if matplotlib is missing."""
    from matplotlib.figure import Figure

    out = Path(out)
    written: list[str] = []
    drawn = [t for _, t in document.tables() if charted(t)]
    for table in drawn:
        figure = Figure(figsize=(8, _chart_height(table)))
        draw_table(figure.add_subplot(), table)
        name = f"{table.key}.png"
        _save(figure, out / name)
        written.append(name)
    if drawn:
        # Two panels a row, each row as tall as its longest table (the adversarial table has
        # dozens of bars), titles wrapped to the panel so none runs off the figure.
        columns = min(2, len(drawn))
        rows = math.ceil(len(drawn) / columns)
        heights = [
            max(_chart_height(t) for t in drawn[row * columns : (row + 1) * columns])
            for row in range(rows)
        ]
        figure = Figure(figsize=(9 * columns, sum(heights) + 0.6))
        grid = figure.add_gridspec(rows, columns, height_ratios=heights)
        for index, table in enumerate(drawn):
            draw_table(figure.add_subplot(grid[index // columns, index % columns]), table, 60)
        run = document.run
        figure.suptitle(f"{run['command']}: {document.machine['cpu']}, {run['date']}", fontsize=9)
        _save(figure, out / "summary.png", top=1 - 0.5 / (sum(heights) + 0.6))
        written.append("summary.png")
    return written
