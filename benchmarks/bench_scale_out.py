"""Scale-out measurements for `prepare` and `train` (#15): speed per engine, memory per worker.

    .venv/bin/python benchmarks/bench_scale_out.py                 # 10 and 40 MB, 1 and 2 workers
    .venv/bin/python benchmarks/bench_scale_out.py --sizes 10 100 400 --ray --distinct 1000000
    .venv/bin/python benchmarks/bench_scale_out.py --sizes 40 --scaling 3     # 1 vs N workers
    .venv/bin/python benchmarks/bench_scale_out.py --sizes 10 100 1000 --memory [--text]

Generates JSONL inputs (Shakespeare's paragraphs repeated, with a line number so documents
differ) under --folder, and runs every measurement in a fresh subprocess, so the peak resident
memory (`ru_maxrss`) of the process and of its worker processes is its own:

- `prepare` with the local engine at 1 and N workers: MB/s, and peak memory of the main process
  and of the largest worker, for each input size (flat = bounded by the chunk size);
- `tasks`: W ranks run one after the other, then `merge` (the time a scheduler would spend on
  one machine, plus the merge's copy);
- tiktoken's `encode_ordinary` on one thread over the same documents (MB/s per core);
- with --ray: the time `ray.init` takes locally and the memory of Ray's processes, and
  `prepare --engine ray` (its CPU time and worker memory are not counted: Ray's workers are
  not children of the measured process);
- with --distinct N: the peak memory of training on a corpus of N distinct pre-tokens (so the
  memory per million distinct pre-tokens);
- with --memory: only `prepare` with the local engine at N workers (memory against input size),
  showing each worker's peak (`VmHWM`, sampled every 0.1 s while the run lasts); with --text the
  input is one plain text file (War and Peace's paragraphs repeated, numbered) instead of JSONL:
  one document, read and cut by the main process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "tinyshakespeare.txt"
if not CORPUS.exists():
    CORPUS = Path("/work/shared/data/tinyshakespeare.txt")
NOVEL = ROOT / "data" / "war_and_peace.txt"
if not NOVEL.exists():
    NOVEL = Path("/work/shared/data/war_and_peace.txt")


def make_jsonl(path: Path, megabytes: int) -> None:
    """About `megabytes` MB of JSONL: Shakespeare's paragraphs, each tagged with its line number."""
    if path.exists() and path.stat().st_size >= megabytes * 1_000_000:
        return
    paragraphs = CORPUS.read_text(encoding="utf-8").split("\n\n")
    size, number = 0, 0
    with path.open("w", encoding="utf-8") as f:
        while size < megabytes * 1_000_000:
            text = f"{number}: {paragraphs[number % len(paragraphs)]}"
            line = json.dumps({"text": text}) + "\n"
            f.write(line)
            size += len(line.encode())
            number += 1


def make_text(path: Path, megabytes: int) -> None:
    """About `megabytes` MB of plain text: War and Peace's paragraphs, each numbered."""
    if path.exists() and path.stat().st_size >= megabytes * 1_000_000:
        return
    paragraphs = NOVEL.read_text(encoding="utf-8").split("\n\n")
    size, number = 0, 0
    with path.open("w", encoding="utf-8") as f:
        while size < megabytes * 1_000_000:
            text = f"{number}: {paragraphs[number % len(paragraphs)]}\n\n"
            f.write(text)
            size += len(text.encode())
            number += 1


# Each child process's peak resident memory (VmHWM), sampled while the run lasts: ru_maxrss of
# RUSAGE_CHILDREN gives only the largest one.
SAMPLER = """
import os, threading
worker_peaks = {}
def sample_workers():
    me = os.getpid()
    while True:
        for task in os.listdir(f"/proc/{me}/task"):
            try:
                with open(f"/proc/{me}/task/{task}/children") as f:
                    kids = f.read().split()
            except OSError:
                continue
            for pid in kids:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
                except (OSError, StopIteration):
                    continue
                worker_peaks[pid] = max(worker_peaks.get(pid, 0), hwm)
        time.sleep(0.1)
if os.path.exists(f"/proc/{os.getpid()}/task"):
    threading.Thread(target=sample_workers, daemon=True).start()
"""


def run_child(code: str) -> dict:
    """Run `code` in a fresh Python; it prints one JSON line. Adds peak memory (MB)."""
    wrapper = (
        "import json, resource, time\n"
        + SAMPLER
        + code
        + "\nself = resource.getrusage(resource.RUSAGE_SELF)"
        + "\nkids = resource.getrusage(resource.RUSAGE_CHILDREN)"
        + "\nresult['cpu_seconds'] = self.ru_utime + self.ru_stime + kids.ru_utime + kids.ru_stime"
        + "\nresult['peak_main_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024"
        + "\nresult['peak_worker_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss"
        + " / 1024\nresult['worker_peaks_mb'] = sorted(v / 1024 for v in worker_peaks.values())"
        + "\nprint(json.dumps(result))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare_code(path: Path, out: Path, **options: object) -> str:
    return (
        "from tokprep.dataloading import prepare, merge\n"
        f"options = {options!r}\n"
        "start = time.perf_counter()\n"
        "if options.get('engine') == 'tasks':\n"
        "    for rank in range(options['world_size']):\n"
        f"        prepare([{str(path)!r}], {str(out)!r}, rank=rank, progress=False, **options)\n"
        f"    merge({str(out)!r})\n"
        "    tokens = None\n"
        "else:\n"
        f"    done = prepare([{str(path)!r}], {str(out)!r}, progress=False, **options)\n"
        "    tokens = sum(split['tokens'] for split in (done.train, done.val) if split)\n"
        "result = {'seconds': time.perf_counter() - start, 'tokens': tokens}\n"
    )


def tiktoken_code(path: Path) -> str:
    return (
        "from tokprep.bpe import tiktoken_gpt2\n"
        "enc = tiktoken_gpt2()  # the shipped ranks: no download\n"
        f"texts = [json.loads(line)['text'] for line in open({str(path)!r}, encoding='utf-8')]\n"
        "start = time.perf_counter()\n"
        "for text in texts:\n"
        "    enc.encode_ordinary(text)\n"
        "result = {'seconds': time.perf_counter() - start}\n"
    )


RAY_START = """
import os, subprocess
start = time.perf_counter()
import ray
ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
seconds = time.perf_counter() - start
pids = subprocess.run(["pgrep", "-f", "ray"], capture_output=True, text=True).stdout.split()
rss = 0
for pid in pids:
    try:
        with open(f"/proc/{pid}/status") as f:
            rss += next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
    except (OSError, StopIteration):
        pass
ray.shutdown()
result = {"seconds": seconds, "ray_rss_mb": rss / 1024, "processes": len(pids)}
"""


def distinct_code(path: Path) -> str:
    return (
        "from tokprep.bpe.train import train_bpe\n"
        "start = time.perf_counter()\n"
        f"train_bpe(None, 300, files=[{str(path)!r}], processes=1, progress=False)\n"
        "result = {'seconds': time.perf_counter() - start}\n"
    )


def make_distinct(path: Path, count: int) -> None:
    """A text of `count` distinct words (each a distinct pre-token), ~10 bytes each."""
    import random

    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = set()
    while len(words) < count:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(5, 10))))
    path.write_text(" ".join(sorted(words)), encoding="utf-8")


CONTROL = """
from tokprep.pool import map_ordered
def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total
start = time.perf_counter()
list(map_ordered(spin, [2_000_000] * 16, workers=WORKERS))
result = {"seconds": time.perf_counter() - start}
"""


def scaling(path: Path, out: Path, workers: int, rounds: int) -> None:
    """1 vs N workers back to back, each round next to a pure-CPU control on the same pool:
    on a shared machine the control shows how many cores the run actually had."""
    mb = path.stat().st_size / 1e6
    for _ in range(rounds):
        times = {}
        for n in (1, workers):
            control = run_child(CONTROL.replace("WORKERS", str(n)))["seconds"]
            run = run_child(prepare_code(path, out, shard_tokens=10**8, workers=n))["seconds"]
            times[n] = (control, run)
        (c1, r1), (cn, rn) = times[1], times[workers]
        print(
            f"{mb:.0f} MB: 1 worker {mb / r1:.1f} MB/s, {workers} workers {mb / rn:.1f} MB/s: "
            f"{r1 / rn:.2f}x ({r1 / rn / workers:.2f} x N); control loop {c1 / cn:.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 40], metavar="MB")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--world-size", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also measure Ray")
    parser.add_argument("--local-only", action="store_true", help="only the local engine")
    parser.add_argument(
        "--scaling", type=int, default=0, metavar="ROUNDS", help="only 1 vs N workers, ROUNDS times"
    )
    parser.add_argument("--distinct", type=int, nargs="*", default=[], metavar="N")
    parser.add_argument(
        "--memory", action="store_true", help="only the local engine at --workers workers"
    )
    parser.add_argument("--text", action="store_true", help="a plain text input, not JSONL")
    parser.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "tokprep-scale"
    )
    args = parser.parse_args()
    args.folder.mkdir(exist_ok=True)
    if args.scaling:
        for megabytes in args.sizes:
            path = args.folder / f"corpus-{megabytes}mb.jsonl"
            make_jsonl(path, megabytes)
            scaling(path, args.folder / "out", args.workers, args.scaling)
        return
    header = f"{'MB':>6}  {'run':<36} {'s':>7} {'MB/s':>7} {'CPU s':>7} {'MB/CPU-s':>8}"
    print(header + f" {'peak main MB':>12} {'peak worker MB':>14}  each worker MB", flush=True)

    def show(mb: float, name: str, result: dict) -> None:
        # MB per CPU-second (all processes) is MB/s per core, and holds on a busy machine.
        print(
            f"{mb:6.1f}  {name:<36} {result['seconds']:7.2f} {mb / result['seconds']:7.2f} "
            f"{result['cpu_seconds']:7.2f} {mb / result['cpu_seconds']:8.2f} "
            f"{result['peak_main_mb']:12.0f} {result['peak_worker_mb']:14.0f}  "
            + " ".join(f"{peak:.0f}" for peak in result["worker_peaks_mb"])
            + (f"  ({result['tokens']:,} tokens)" if result.get("tokens") else ""),
            flush=True,
        )

    for megabytes in args.sizes:
        if args.text:
            path = args.folder / f"novel-{megabytes}mb.txt"
            make_text(path, megabytes)
        else:
            path = args.folder / f"corpus-{megabytes}mb.jsonl"
            make_jsonl(path, megabytes)
        mb = path.stat().st_size / 1e6
        if not args.memory:
            show(mb, "tiktoken encode_ordinary, 1 thread", run_child(tiktoken_code(path)))
        split = {"partition_bytes": 4 << 20}
        configs = [
            ("local, 1 worker", {"workers": 1}),
            (f"local, {args.workers} workers", {"workers": args.workers}),
            (
                f"tasks, {args.world_size} ranks in turn + merge",
                {"engine": "tasks", "world_size": args.world_size, **split},
            ),
        ]
        if args.memory:
            configs = configs[1:2]
        elif args.local_only:
            configs = configs[:2]
        elif args.ray:
            ray = {"engine": "ray", "workers": args.workers, **split}
            configs.append((f"ray, {args.workers} CPUs (incl. start)", ray))
        for name, options in configs:
            out = args.folder / "out"
            show(mb, name, run_child(prepare_code(path, out, shard_tokens=10**8, **options)))
        for leftover in args.folder.glob("out*"):
            if leftover.is_file():
                leftover.unlink()
    if args.ray:
        ray = run_child(RAY_START)
        print(
            f"ray.init (local, 2 CPUs): {ray['seconds']:.1f} s, {ray['ray_rss_mb']:.0f} MB in "
            f"{ray['processes']} processes"
        )
    for count in args.distinct:
        path = args.folder / f"distinct-{count}.txt"
        make_distinct(path, count)
        baseline = run_child("result = {'seconds': 0.0}\nimport tokprep.bpe.train")
        result = run_child(distinct_code(path))
        extra = result["peak_main_mb"] - baseline["peak_main_mb"]
        print(
            f"train on {count:,} distinct pre-tokens: peak {result['peak_main_mb']:.0f} MB "
            f"({extra:.0f} MB above an idle process: {extra / count * 1e6:.0f} MB per million), "
            f"{result['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
