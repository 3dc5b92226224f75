"""What `tokprep bench` reports: the machine, a plain-text table, `results.json` and PNG charts.

A benchmark number means little without the machine it came from, so every results file starts
with the CPU, the core count, the GPU and the versions of each library that was timed. The table
puts every contender next to the peers people compare against (tiktoken, Hugging Face
`tokenizers`, the textbook's code) as *speed ratios*: 2.00x is twice as fast as the peer, 0.50x
half as fast. Charts need matplotlib (the optional extra `tokprep[bench]`); without it
`results.json` and the table are still written.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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
    import torch

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


def write_results(path: str | os.PathLike, document: dict[str, Any]) -> None:
    """Write a bench results document atomically, in tokprep's envelope (`"kind": "bench"`)."""
    write_envelope(path, "bench", _finite(document))


# --- the table ----------------------------------------------------------------------------------


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _ratio(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}x"


def _si(value: float | None, unit: str = "") -> str:
    """1234567 -> '1.23 M': throughputs span nine orders of magnitude across the table."""
    if value is None or not math.isfinite(value):
        return "-"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}".rstrip()


def _seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return [line(header), *(line(row) for row in rows)]


def _speed_ratio(time_of_peer: float | None, time_of_this: float | None) -> float | None:
    if not time_of_peer or not time_of_this:
        return None
    return time_of_peer / time_of_this


def _encode_lines(m: dict[str, Any]) -> list[str]:
    r, p = m["result"], m["parameters"]
    lines = [
        f"{p['corpus']}: {r['bytes']:,} bytes, {r['tokens']:,} GPT-2 tokens, "
        f"{_count(r['rounds'], 'interleaved round')}; MB/s is the median [slowest - fastest]"
    ]
    names = [n for n in r if isinstance(r[n], dict) and "median_s" in r[n]]
    # Speed ratios from the paired per-round time ratios (robust to the machine's drift).
    peers = ("vs_tiktoken", "vs_huggingface", "vs_textbook")
    header = ["encoder", "MB/s", "tokens/s", "vs tiktoken", "vs HF", "vs textbook", "same IDs"]
    rows = []
    for name in names:
        e = r[name]
        spread = f"{r['bytes'] / e['max_s'] / 1e6:.2f} - {r['bytes'] / e['min_s'] / 1e6:.2f}"
        same = {True: "yes", False: "NO", None: "n/a"}[e["same_ids"]]
        rows.append(
            [
                name,
                f"{e['mb_per_s']:.2f} [{spread}]",
                _si(e["tokens_per_s"]),
                *(_ratio(1 / e[key] if e.get(key) else None) for key in peers),
                same,
            ]
        )
    lines += _grid(header, rows)
    lines += [f"skipped {name}: {why}" for name, why in r.get("skipped", {}).items()]
    return lines


def _worst_lines(m: dict[str, Any]) -> list[str]:
    r = m["result"]
    kinds = [k for k in r if k != "one_piece_s"]
    if not kinds:
        return ["(no piece kinds measured)"]
    sizes = r[kinds[0]]["sizes"]
    lines = [
        "seconds to encode ONE pre-token of each size (one run each); 'x per doubling' is "
        "t(2n)/t(n): 2 is linear, 4 quadratic"
    ]
    header = ["piece", "engine", *(f"{s:,} B" for s in sizes), "x per doubling", "vs tiktoken"]
    rows = []
    for kind in kinds:
        row = r[kind]
        for engine in ("tokprep", "tiktoken"):
            times = row[f"{engine}_s"]
            growth = ", ".join(f"{g:.2f}" for g in row[f"{engine}_per_doubling"])
            versus = _speed_ratio(row["tiktoken_s"][-1], times[-1])
            label = kind if engine == "tokprep" else ""
            rows.append([label, engine, *map(_seconds, times), growth, _ratio(versus)])
    lines += _grid(header, rows)
    for label, seconds in r.get("one_piece_s", {}).items():
        lines.append(f"tokprep, one piece of {label}: {_seconds(seconds)}")
    return lines


def _train_lines(measurements: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    hf = measurements.get("train_vs_hf")
    if hf and hf["status"] == "ok":
        r, p = hf["result"], hf["parameters"]
        lines.append(
            f"{int(r['chars']):,} characters of {p['corpus']}, {int(r['n_merges']):,} merges, "
            f"{_count(p['repeats'], 'interleaved run')}; median [fastest - slowest]"
        )
        rows = [
            [
                "tokprep train_bpe",
                f"{_seconds(r['ours_s'])} [{_seconds(r['ours_min_s'])} - "
                f"{_seconds(r.get('ours_max_s'))}]",
                _ratio(_speed_ratio(r["hf_s"], r["ours_s"])),
            ],
            [
                "Hugging Face BpeTrainer",
                f"{_seconds(r['hf_s'])} [{_seconds(r['hf_min_s'])} - "
                f"{_seconds(r.get('hf_max_s'))}]",
                "1.00x",
            ],
        ]
        lines += _grid(["trainer", "time", "vs HF"], rows)
        lines.append("same vocabulary size: " + ("yes" if r["same_vocab"] == 1.0 else "NO"))
    else:
        lines.extend(_status_lines("tokprep vs Hugging Face", hf))
    edu = measurements.get("train_educational")
    if edu and edu["status"] == "ok":
        r = edu["result"]
        lines.append(
            f"naive trainer (tiktoken _educational, a full recount per merge) on "
            f"{int(r['chars']):,} characters, {int(r['n_merges'])} merges: "
            f"{r['educational_ms_per_merge']:.1f} ms/merge vs tokprep "
            f"{r['ours_ms_per_merge']:.2f} ms/merge "
            f"({_ratio(_speed_ratio(r['educational_s'], r['ours_s']))})"
        )
    else:
        lines.extend(_status_lines("naive trainer", edu))
    big = measurements.get("train_large_corpus")
    if big and big["status"] == "ok":
        r = big["result"]
        lines.append(
            f"large corpus, {r['bytes'] / 1e6:.1f} MB in files, "
            f"{big['parameters']['n_merges']:,} merges, {int(r['processes'])} processes: "
            f"tokprep {_seconds(r['ours_s'])} (peak RSS {r['ours_peak_rss_mb']:.0f} MB, "
            f"largest worker {r['ours_worker_peak_rss_mb']:.0f} MB), Hugging Face "
            f"{_seconds(r['hf_s'])} (peak RSS {r['hf_peak_rss_mb']:.0f} MB): "
            f"{_ratio(_speed_ratio(r['hf_s'], r['ours_s']))} vs HF"
        )
    else:
        lines.extend(_status_lines("large corpus", big))
    return lines


def _loader_lines(measurements: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    it = measurements.get("loader_throughput")
    if it and it["status"] == "ok":
        r, p = it["result"], it["parameters"]
        lines.append(
            f"{int(r['tokens']):,} tokens of {p['corpus']}, max_length {p['max_length']}, "
            f"stride {p['stride']}, batch {p['batch_size']}, {int(r['batches'])} batches per "
            f"epoch, {_count(p['rounds'], 'round')}; tokens/s best [median, slowest]"
        )
        rows = []
        for kind in p["kinds"]:
            rows.append(
                [
                    kind,
                    f"{_si(r[f'{kind}_tokens_per_s'])} [{_si(r.get(f'{kind}_median_tokens_per_s'))}"
                    f", {_si(r.get(f'{kind}_slowest_tokens_per_s'))}]",
                    _seconds(r[f"{kind}_startup_s"]),
                    _ratio(r.get(f"{kind}_speedup")),
                ]
            )
        lines += _grid(["loader", "tokens/s", "start-up", "vs textbook"], rows)
    else:
        lines.extend(_status_lines("loader throughput", it))
    mem = measurements.get("loader_memory")
    if mem and mem["status"] == "ok":
        r, p = mem["result"], mem["parameters"]
        first = next(iter(r.values()))
        lines.append(
            f"memory: RSS growth to build the loader and take one batch, fresh process each, "
            f"{int(first['tokens']):,} tokens, stride {p['stride']}"
        )
        base = r.get("textbook", {}).get("growth_bytes")
        rows = [
            [
                kind,
                f"{v['growth_bytes'] / 1e6:.1f} MB",
                f"{v['ratio']:.2f}x",
                _ratio(_speed_ratio(base, v["growth_bytes"])) if base else "-",
            ]
            for kind, v in r.items()
        ]
        lines += _grid(["loader", "growth", "/ int64 tokens", "textbook / this"], rows)
    else:
        lines.extend(_status_lines("loader memory", mem))
    prep = measurements.get("prepare")
    if prep and prep["status"] == "ok":
        r, p = prep["result"], prep["parameters"]
        parts = [
            f"{n} worker{'s' if n > 1 else ''} {r[f'prepare_{n}w_mb_per_s']:.2f} MB/s "
            f"({_ratio(r[f'prepare_{n}w_vs_tiktoken'])} tiktoken)"
            for n in p["workers"]
        ]
        lines.append(
            f"tokprep prepare on {r['input_mb']:.2f} MB ({p['chunk_bytes']:,}-byte chunks): "
            + "; ".join(parts)
            + f"; tiktoken one thread {r['tiktoken_mb_per_s']:.2f} MB/s"
        )
    else:
        lines.extend(_status_lines("prepare", prep))
    cuda = measurements.get("cuda_gather")
    if cuda and cuda["status"] == "ok":
        r = cuda["result"]
        lines.append(
            f"CUDA: tokens on the GPU, gathered there {r['device_gather_batches_per_s']:.0f} "
            f"batches/s; host gather + pinned copy {r['host_gather_copy_batches_per_s']:.0f} "
            f"batches/s ({_ratio(r['device_speedup'])})"
        )
    else:
        lines.extend(_status_lines("CUDA gather", cuda))
    return lines


def _embedding_lines(measurements: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for device in ("cpu", "cuda"):
        m = measurements.get(f"embeddings_{device}")
        if not (m and m["status"] == "ok"):
            lines.extend(_status_lines(f"embeddings on {device}", m))
            continue
        r, p = m["result"], m["parameters"]
        lines.append(
            f"{device}: vocabulary {p['vocab_size']:,} x {p['emb_dim']}, batch "
            f"{p['batch_size']} x {p['context_length']} = {int(r['tokens']):,} tokens per "
            f"forward, {_count(p['rounds'], 'round')}; tokens/s median [slowest - fastest]"
        )
        rows = []
        for name, label in (
            ("baseline", "textbook: 2 x nn.Embedding"),
            ("validated", "GPTEmbedding (ID check on)"),
            ("unvalidated", "GPTEmbedding (check off)"),
        ):
            spread = (
                f"{_si(r.get(f'{name}_min_tokens_per_s'))} - "
                f"{_si(r.get(f'{name}_max_tokens_per_s'))}"
            )
            versus = r[f"{name}_tokens_per_s"] / r["baseline_tokens_per_s"]
            rows.append([label, f"{_si(r[f'{name}_tokens_per_s'])} [{spread}]", _ratio(versus)])
        lines += _grid(["layer", "tokens/s", "vs textbook"], rows)
        lines.append(
            f"the ID check alone: {r['check_us']:.0f} us, {r['check_pct']:.1f}% of the textbook "
            f"forward (end to end: {r['validated_overhead_pct']:+.1f}%)"
        )
    return lines


def _status_lines(label: str, m: dict[str, Any] | None) -> list[str]:
    if m is None:
        return []
    if m["status"] == "skipped":
        return [f"{label}: skipped: {m['reason']}"]
    if m["status"] == "error":
        return [f"{label}: FAILED: {m['error']}"]
    return []


SECTIONS: tuple[tuple[str, str, Callable[[dict[str, Any]], list[str]]], ...] = (
    ("encode", "Encoding throughput", lambda ms: _single(ms, "encode", _encode_lines)),
    (
        "worst-case",
        "Worst case: a single long piece",
        lambda ms: _single(ms, "worst_case", _worst_lines),
    ),
    ("train", "BPE training", _train_lines),
    ("dataloading", "DataLoader", _loader_lines),
    ("embeddings", "Embedding forward", _embedding_lines),
)


def _single(
    measurements: dict[str, Any], name: str, lines: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    m = measurements.get(name)
    if m and m["status"] == "ok":
        return lines(m)
    return _status_lines(name, m)


def format_table(document: dict[str, Any]) -> str:
    """The human-readable report of a results document: one block per section that ran."""
    machine, run = document["machine"], document["run"]
    gpu = machine["gpu"].get("name") or "none"
    out = [
        f"tokprep bench ({run['plan']}) on {machine['cpu']}, {machine['cores']} cores, "
        f"GPU: {gpu}; {run['date']}",
        "Ratios are speeds: 2.00x = twice as fast as that peer, 0.50x = half as fast.",
    ]
    measurements = document["measurements"]
    for section, title, render in SECTIONS:
        if section not in run["sections"]:
            continue
        body = render(measurements)
        if body:
            out += ["", f"== {title} ==", *body]
    return "\n".join(out)


# --- charts -------------------------------------------------------------------------------------


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported (it is an optional extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _bars(
    ax: Any,
    bars: list[tuple[str, float, float, float]],
    title: str,
    unit: str,
) -> None:
    """Horizontal bars `(label, value, low, high)`, the spread as whiskers; tokprep in blue."""
    from matplotlib.ticker import FuncFormatter

    labels = [bar[0] for bar in bars]
    values = [bar[1] for bar in bars]
    # Clamped at 0: with one round, low == value up to rounding.
    spread = [[max(0.0, v - bar[2]) for v, bar in zip(values, bars, strict=True)]]
    spread.append([max(0.0, bar[3] - v) for v, bar in zip(values, bars, strict=True)])
    positions = list(range(len(bars)))
    colours = ["#4C72B0" if "tokprep" in label else "#999999" for label in labels]
    ax.barh(positions, values, xerr=spread, color=colours, capsize=3, ecolor="#333333")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _tick(value)))
    for y, bar in zip(positions, bars, strict=True):
        ax.annotate(
            f"{_si(bar[1])} {unit}",
            (bar[3], y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(0, max(bar[3] for bar in bars) * 1.3)


def _tick(value: float) -> str:
    """A short axis label: 25000000 -> '25M'."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:g}{prefix}"
    return f"{value:g}"


def _ok(ms: dict[str, Any], name: str) -> dict[str, Any] | None:
    m = ms.get(name)
    return m if m and m["status"] == "ok" else None


def _draw_encode(ax: Any, ms: dict[str, Any]) -> bool:
    m = _ok(ms, "encode")
    if not m:
        return False
    r = m["result"]
    mb = r["bytes"] / 1e6
    bars = [
        (name, e["mb_per_s"], mb / e["max_s"], mb / e["min_s"])
        for name, e in r.items()
        if isinstance(e, dict) and "mb_per_s" in e
    ]
    _bars(ax, bars, "Encoding with GPT-2's vocabulary (higher is faster)", "MB/s")
    return True


def _draw_worst(ax: Any, ms: dict[str, Any]) -> bool:
    m = _ok(ms, "worst_case")
    if not m:
        return False
    for kind, row in m["result"].items():
        if kind == "one_piece_s":
            continue
        (line,) = ax.plot(row["sizes"], row["tokprep_s"], marker="o", label=f"tokprep {kind}")
        ax.plot(
            row["sizes"],
            row["tiktoken_s"],
            marker="x",
            linestyle="--",
            color=line.get_color(),
            label=f"tiktoken {kind}",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_title("One long piece (log-log: slope 1 is linear)", fontsize=10)
    ax.set_xlabel("piece size (bytes)")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=7, loc="upper left")
    return True


def _draw_train(ax: Any, ms: dict[str, Any]) -> bool:
    m = _ok(ms, "train_vs_hf")
    if not m:
        return False
    r = m["result"]
    # Speeds (merges per second), so that longer bars mean faster in every panel.
    n = r["n_merges"]
    bars = [
        (label, n / r[f"{key}_s"], n / r.get(f"{key}_max_s", r[f"{key}_s"]), n / r[f"{key}_min_s"])
        for label, key in (("tokprep train_bpe", "ours"), ("HF BpeTrainer", "hf"))
    ]
    _bars(ax, bars, f"BPE training, {int(n):,} merges (higher is faster)", "merges/s")
    return True


def _draw_loader(ax: Any, ms: dict[str, Any]) -> bool:
    m = _ok(ms, "loader_throughput")
    if not m:
        return False
    r = m["result"]
    bars = [
        (
            kind,
            r[f"{kind}_tokens_per_s"],
            r.get(f"{kind}_slowest_tokens_per_s", r[f"{kind}_tokens_per_s"]),
            r[f"{kind}_tokens_per_s"],
        )
        for kind in m["parameters"]["kinds"]
    ]
    _bars(ax, bars, "DataLoader, one shuffled epoch (best round)", "tokens/s")
    return True


def _draw_embeddings(ax: Any, ms: dict[str, Any]) -> bool:
    bars = []
    for device in ("cpu", "cuda"):
        m = _ok(ms, f"embeddings_{device}")
        if not m:
            continue
        r = m["result"]
        for name, label in (("baseline", "textbook"), ("validated", "tokprep GPTEmbedding")):
            value = r[f"{name}_tokens_per_s"]
            low = r.get(f"{name}_min_tokens_per_s", value)
            bars.append(
                (f"{label} ({device})", value, low, r.get(f"{name}_max_tokens_per_s", value))
            )
    if not bars:
        return False
    _bars(ax, bars, "Embedding forward (higher is faster)", "tokens/s")
    return True


CHARTS: tuple[tuple[str, Callable[[Any, dict[str, Any]], bool]], ...] = (
    ("encode.png", _draw_encode),
    ("worst_case.png", _draw_worst),
    ("train.png", _draw_train),
    ("dataloading.png", _draw_loader),
    ("embeddings.png", _draw_embeddings),
)


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    with atomic_write(path, "wb") as f:
        figure.savefig(f, format="png", dpi=110)


def write_charts(document: dict[str, Any], out: str | os.PathLike) -> list[str]:
    """Draw one PNG per section that has numbers, and `summary.png` with all of them.

    Uses matplotlib's object API (no pyplot), so no window opens and no global state changes.
    Returns the file names written. Raises ImportError if matplotlib is missing.
    """
    from matplotlib.figure import Figure

    out = Path(out)
    measurements = document["measurements"]
    written: list[str] = []
    drawn: list[Callable[[Any, dict[str, Any]], bool]] = []
    for name, draw in CHARTS:
        figure = Figure(figsize=(7, 3.6))
        if draw(figure.add_subplot(), measurements):
            _save(figure, out / name)
            written.append(name)
            drawn.append(draw)
    if drawn:
        columns = min(2, len(drawn))
        rows = math.ceil(len(drawn) / columns)
        figure = Figure(figsize=(7 * columns, 3.6 * rows))
        for index, draw in enumerate(drawn, start=1):
            draw(figure.add_subplot(rows, columns, index), measurements)
        run = document["run"]
        figure.suptitle(
            f"tokprep bench ({run['plan']}): {document['machine']['cpu']}, {run['date']}"
        )
        _save(figure, out / "summary.png")
        written.append("summary.png")
    return written


def chart_names() -> Iterable[str]:
    """The file names `write_charts` may write."""
    return [name for name, _ in CHARTS] + ["summary.png"]
