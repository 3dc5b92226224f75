"""Adversarial inputs: where a BPE encoder's merge loop or regex is all the work.

The ladder follows tiktoken's own repetition test (one character or pair repeated n times) and
adds unsplittable runs (random letters: one pre-token of n bytes) and one long line of prose
without a newline. Each contender runs in its own subprocess, one case at a time in order of
size; the parent watches the clock and the child's memory and kills a child that passes the
cap (`cap_s` seconds for one case, `cap_mb` MB of resident memory). That case is then reported
as "> cap", the larger sizes of that input are not run (they would only take longer) and a
new child carries on with the next input, so a contender that blows up costs at most one cap
per input and never stalls the run.

Per case the child reports the seconds to encode, the process's peak resident memory during
the case (Linux's VmHWM, reset before each case, so the whole footprint: interpreter, the
loaded tokenizer and the case's work; elsewhere the process's peak so far), the token count
and a hash of the IDs, so the table can say whether each contender gave tiktoken's IDs.

    python -m tokprep.bench.adversarial   # used by `run`; not a command of its own
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import select
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: name -> how the text of n bytes is made (seeded, so every contender sees the same text).
KINDS: dict[str, str] = {
    "a": "'a' * n (tiktoken's repetition ladder)",
    "0": "'0' * n",
    "^": "'^' * n",
    "'s": '"\'s" * (n/2)',
    "space": "' ' * n",
    "newline": "'\\n' * n",
    "ascii letters": "n random ASCII letters: one unsplittable pre-token",
    "unicode letters": "random \\p{L} code points, n bytes: one unsplittable pre-token",
    "long line": "English words and spaces, n bytes, no newline",
}


@dataclass(frozen=True)
class Contender:
    """Who is measured: `how` is "spec" (a tokenizer spec for `tokprep.testing.adapt`),
    "tokprep" (a new `BPETokenizer.gpt2()`) or "huggingface" (GPT-2 in `tokenizers`)."""

    label: str
    how: str
    spec: str = ""


def make_text(kind: str, n_bytes: int, seed: int = 0) -> str:
    """The adversarial text of `kind` (see `KINDS`), about `n_bytes` UTF-8 bytes."""
    rng = random.Random(seed)
    if kind in ("a", "0", "^"):
        return kind * n_bytes
    if kind == "'s":
        return "'s" * (n_bytes // 2)
    if kind == "space":
        return " " * n_bytes
    if kind == "newline":
        return "\n" * n_bytes
    if kind == "ascii letters":
        return "".join(
            rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=n_bytes)
        )
    if kind == "unicode letters":
        pool, out, size = _letters(), [], 0
        while size < n_bytes:
            chars = rng.choices(pool, k=max(1, (n_bytes - size) // 3))
            out += chars
            size += sum(len(c.encode("utf-8")) for c in chars)
        return "".join(out)
    if kind == "long line":
        words = ("the", "of", "and", "to", "in", "a", "is", "that", "it", "was", "for", "on")
        text = " ".join(rng.choices(words, k=n_bytes // 3 + 1))
        return text[:n_bytes]
    raise ValueError(f"unknown adversarial input {kind!r}; choose from {', '.join(KINDS)}")


_LETTER_POOL: list[str] = []


def _letters() -> list[str]:
    if not _LETTER_POOL:
        import regex

        every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
        _LETTER_POOL.extend(regex.findall(r"\p{L}", every))
    return _LETTER_POOL


# --- the child -----------------------------------------------------------------------------------


def _status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # Linux: reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def _encoder(contender: Contender) -> Callable[[], Callable[[str], list[int]]]:
    """A factory of encode functions: tokprep's is new per case (cold), the others reused."""
    if contender.how == "tokprep":
        from tokprep.bpe import BPETokenizer

        return lambda: BPETokenizer.gpt2().encode_ordinary
    if contender.how == "huggingface":
        from tokprep.bench.encode import _huggingface_gpt2

        hf = _huggingface_gpt2()
        if hf is None:
            raise ImportError("tokenizers is not installed")
        return lambda: lambda text: hf.encode(text, add_special_tokens=False).ids
    from tokprep.testing.adapters import adapt

    subject = adapt(contender.spec, name=contender.label)
    encode = subject.encode_ordinary or subject.encode_all_special
    if encode is None:
        raise TypeError(f"{contender.label} has no encode the bench can call")
    return lambda: encode


def child_main(argv: Sequence[str]) -> int:
    """Run the cases named in argv[0] (JSON), printing one JSON line per event."""
    job = json.loads(argv[0])
    contender = Contender(**job["contender"])
    make = _encoder(contender)
    make()("warm-up: héllo wörld 123 😀\n")  # process-wide set-up (regex compiles), untimed
    print(json.dumps({"event": "ready"}), flush=True)
    for kind, size in job["cases"]:
        text = make_text(kind, size)
        encode = make()
        exact = _reset_peak()
        print(json.dumps({"event": "start", "kind": kind, "size": size}), flush=True)
        start = time.perf_counter()
        ids = list(encode(text))
        seconds = time.perf_counter() - start
        if exact:
            peak = _status_kb("VmHWM") or 0
        else:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:16]
        done = {"event": "done", "kind": kind, "size": size, "seconds": seconds}
        done.update(peak_bytes=peak * 1024, tokens=len(ids), ids_sha=digest)
        print(json.dumps(done), flush=True)
        del ids, text, encode
    return 0


# --- the parent ----------------------------------------------------------------------------------


def _rss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _run_child(
    contender: Contender,
    cases: list[tuple[str, int]],
    *,
    cap_s: float,
    cap_mb: float,
    ready_s: float,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Run `cases` in one child. Returns the finished cases and, if the child was stopped or
    failed, what happened to the case it was on (`{"kind", "size", "capped"|"error"}`)."""
    job = json.dumps({"contender": vars(contender), "cases": cases})
    process = subprocess.Popen(
        [sys.executable, "-m", "tokprep.bench.adversarial", job],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if process.stdout is None:  # cannot happen with stdout=PIPE; said for the type checker
        raise RuntimeError("the adversarial worker was started without a pipe to read")
    finished: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    began = time.perf_counter()
    buffer = ""
    stop: dict[str, Any] | None = None
    try:
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 0.05)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536).decode("utf-8", "replace")
                if not chunk:  # the child ended
                    break
                buffer += chunk
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    event = json.loads(line)
                    if event["event"] == "start":
                        current = {**event, "t0": time.perf_counter()}
                    elif event["event"] == "done":
                        finished.append(event)
                        current = None
            now = time.perf_counter()
            if current is None:
                if not finished and now - began > ready_s:
                    stop = {"error": f"not ready after {ready_s:.0f} s (loading the tokenizer)"}
                    break
                continue
            rss = _rss_bytes(process.pid)
            if now - current["t0"] > cap_s:
                stop = {"kind": current["kind"], "size": current["size"], "capped": "time"}
                break
            if rss is not None and rss > cap_mb * 1e6:
                stop = {"kind": current["kind"], "size": current["size"], "capped": "memory"}
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        error_text = process.stderr.read() if process.stderr else ""
        process.stdout.close()
        if process.stderr:
            process.stderr.close()
    if stop is None and process.returncode != 0:
        last = error_text.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        stop = {"error": last[0]}
        if current is not None:
            stop.update(kind=current["kind"], size=current["size"])
    return finished, stop


def run(
    contenders: Sequence[Contender],
    kinds: Sequence[str] = tuple(KINDS),
    sizes: Sequence[int] = (4_096, 65_536, 1_048_576),
    *,
    cap_s: float = 10.0,
    cap_mb: float = 2_000.0,
    ready_s: float = 60.0,
) -> dict[str, Any]:
    """Time and peak memory of every contender on every (kind, size), under the caps.

    Returns `{"sizes", "kinds", "cap_s", "cap_mb", "cases": {label: {kind: {size: cell}}},
    "errors": {label: why}}`, where a cell is the child's numbers, `{"capped": "time" |
    "memory"}`, `{"not_run": why}` or `{"error": why}`.
    """
    sizes = sorted(sizes)
    cases: dict[str, dict[str, dict[int, dict[str, Any]]]] = {}
    errors: dict[str, str] = {}
    for contender in contenders:
        table: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in kinds}
        cases[contender.label] = table
        todo = [(kind, size) for kind in kinds for size in sizes]
        while todo:
            finished, stop = _run_child(
                contender, todo, cap_s=cap_s, cap_mb=cap_mb, ready_s=ready_s
            )
            for event in finished:
                table[event["kind"]][event["size"]] = {
                    k: event[k] for k in ("seconds", "peak_bytes", "tokens", "ids_sha")
                }
            done = {(e["kind"], e["size"]) for e in finished}
            todo = [case for case in todo if case not in done]
            if stop is None:
                break
            if "kind" not in stop:  # the child could not start: nothing of it can run
                errors[contender.label] = stop["error"]
                for kind, size in todo:
                    table[kind][size] = {"error": stop["error"]}
                break
            kind, size = stop["kind"], stop["size"]
            table[kind][size] = (
                {"capped": stop["capped"]} if "capped" in stop else {"error": stop["error"]}
            )
            why = f"not run: {size:,} bytes already hit the cap" if "capped" in stop else ""
            for later in [s for k, s in todo if k == kind and s > size]:
                table[kind][later] = {"not_run": why or "not run: a smaller size failed"}
            todo = [(k, s) for k, s in todo if k != kind]
    return {
        "sizes": sizes,
        "kinds": list(kinds),
        "cap_s": cap_s,
        "cap_mb": cap_mb,
        "cases": cases,
        "errors": errors,
    }


def contenders(tokenizers: Sequence[Any] = ()) -> tuple[list[Contender], dict[str, str]]:
    """tokprep, tiktoken and Hugging Face on GPT-2 (HF skipped with a note when missing), then
    each user tokenizer (`tokprep.bench.encode.UserTokenizer`)."""
    from tokprep.bench.report import library_version

    chosen = [Contender("tokprep", "tokprep"), Contender("tiktoken", "spec", "gpt2")]
    skipped = {}
    if library_version("tokenizers") is None:
        skipped["huggingface"] = "tokenizers is not installed (pip install tokenizers)"
    else:
        chosen.append(Contender("huggingface", "huggingface"))
    chosen += [Contender(t.label, "spec", t.spec) for t in tokenizers]
    return chosen, skipped


def tables(result: dict[str, Any]) -> list[Any]:
    """Two tables, time and peak memory: one row per input and contender, one column per size,
    and the ratio to tiktoken at the largest size both finished (lower is better)."""
    from tokprep.bench.records import Column, Row, Table

    sizes = result["sizes"]
    size_names = [f"{s:,} B" for s in sizes]
    # Sizes are int keys in a run and str keys once read back from results.json.
    result = {
        **result,
        "cases": {
            label: {
                kind: {int(size): cell for size, cell in by_size.items()}
                for kind, by_size in c.items()
            }
            for label, c in result["cases"].items()
        },
    }
    steps = {b // a for a, b in itertools.pairwise(sizes)}
    growth_name = ""
    if len(sizes) > 1:
        growth_name = f"time x per size x{steps.pop()}" if len(steps) == 1 else "time x per step"
    cap = f"> {result['cap_s']:g} s cap"
    out = []
    for quantity, field_name, kind in (
        ("time", "seconds", "seconds"),
        ("memory", "peak_bytes", "bytes"),
    ):
        columns = [Column(name, kind) for name in size_names]
        if quantity == "time" and growth_name:
            columns.append(Column(growth_name, "text"))
        table = Table(
            key=f"adversarial_{quantity}",
            title=f"Adversarial inputs: {'seconds' if quantity == 'time' else 'peak RSS'} "
            "per case (one subprocess per contender)",
            reference="tiktoken",
            quantity=quantity,
            columns=columns,
            notes=[
                f"caps: {result['cap_s']:g} s and {result['cap_mb']:,.0f} MB per case; a case "
                "past a cap is killed and reported as such, and that input's larger sizes are "
                "not run",
                "ratio: at the largest size both this contender and tiktoken finished",
            ],
        )
        if quantity == "time":  # the chart: MB/s on the largest size
            table.rate_unit = "MB/s"
            table.chart_note = (
                f"MB/s on {sizes[-1]:,} bytes; a contender capped at n bytes is drawn at "
                f"n / {result['cap_s']:g} s, an upper bound, and labelled (capped)"
            )
        if quantity == "time":
            table.notes += [
                f"{kind}: {why}" for kind, why in KINDS.items() if kind in result["kinds"]
            ]
            table.notes.append("(IDs differ): on some size, not tiktoken's IDs")
        reference = result["cases"].get("tiktoken", {})
        for kind_name in result["kinds"]:
            for label, cases in result["cases"].items():
                row_cases = cases.get(kind_name, {})
                cells: dict[str, Any] = {}
                values = []
                differs = False
                capped_at = None
                for size, name in zip(sizes, size_names, strict=True):
                    cell = row_cases.get(size) or {}
                    if "capped" in cell:
                        capped_at = size
                        cells[name] = (
                            cap
                            if cell["capped"] == "time"
                            else (f"> {result['cap_mb']:,.0f} MB cap")
                        )
                    elif "not_run" in cell:
                        cells[name] = "not run"
                    elif "error" in cell:
                        cells[name] = "error"
                    elif cell:
                        value = cell[field_name]
                        ref = reference.get(kind_name, {}).get(size) or {}
                        if ref.get("ids_sha") and ref["ids_sha"] != cell["ids_sha"]:
                            differs = True
                        cells[name] = value
                        values.append((size, value))
                    else:
                        cells[name] = None
                ratio = None
                for size, value in reversed(values):
                    ref = (reference.get(kind_name, {}).get(size) or {}).get(field_name)
                    if ref:
                        ratio = value / ref
                        break
                if quantity == "time" and growth_name:
                    growth = [
                        f"{b[1] / a[1]:.1f}" for a, b in itertools.pairwise(values) if a[1] > 0
                    ]
                    cells[growth_name] = ", ".join(growth) or "-"
                name = f"{kind_name} | {label}" + (" (IDs differ)" if differs else "")
                row = table.add(Row(name, cells, ratio=ratio, ours=label == "tokprep"))
                if quantity == "time" and capped_at is not None:
                    row.rate = capped_at / result["cap_s"] / 1e6
                    row.label += " (capped)"
                elif quantity == "time" and values and values[-1][0] == sizes[-1]:
                    row.rate = sizes[-1] / values[-1][1] / 1e6 if values[-1][1] else None
        out.append(table)
    return out


if __name__ == "__main__":  # the child process of `run`
    sys.exit(child_main(sys.argv[1:]))
