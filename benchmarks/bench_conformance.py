"""The conformance kit's power and false alarms, over seeds (issue 12's measurements).

    .venv/bin/python benchmarks/bench_conformance.py                 # 20 seeds (~10-15 min)
    .venv/bin/python benchmarks/bench_conformance.py --seeds 5 --json out.json

Detection: each example bug in examples/tokenizers must be found, with a shrunk counterexample,
by the property stage (the only seed-dependent stage) at the default budget, in >= 19 of 20
seeds. False alarms: tiktoken's gpt2, `BPETokenizer.gpt2()` and a GPT-2 `tokenizer.json` built
by Hugging Face `tokenizers` itself from GPT-2's encoder.json/vocab.bpe must pass every check
on every seed. Goldens (seed-independent) run once per tokenizer. Also reports the wall time of
a whole default `run_checks` (the budget of `tokprep check`) per tokenizer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from tokprep.testing import adapt, checks
from tokprep.testing.runner import run_checks

ROOT = Path(__file__).resolve().parent.parent
BUGS = (
    "ascii_letters",
    "whitespace_lookahead",
    "contractions_any_case",
    "first_pair_merge",
    "decode_drops_bytes",
)
# Hypothesis-driven checks (their inputs depend on the seed); the others are fixed sets.
PROPERTY_CHECKS = [n for n in checks.CHECKS if n not in ("vocabulary", "deterministic")]


def hf_gpt2_tokenizer_json(folder: Path) -> Path:
    """GPT-2's tokenizer.json as Hugging Face `tokenizers` builds it from the original files
    (independent of tokprep's own HF writer)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    data = ROOT / "data"
    model = models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe"))
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    path = folder / "tokenizer.json"
    tokenizer.save(str(path))
    return path


def property_stage(candidate, seed: int, *, stop_at_first: bool) -> list[checks.CheckResult]:
    results = []
    for name in PROPERTY_CHECKS:
        result = checks.CHECKS[name](candidate, "gpt2", seed=seed)
        results.append(result)
        if stop_at_first and result.status == "failed":
            break
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    seeds = range(args.seeds)
    out: dict = {"seeds": args.seeds, "detection": {}, "false_alarms": {}, "full_run_s": {}}

    for bug in BUGS:
        spec = f"{ROOT / 'examples' / 'tokenizers' / bug}.py:tokenizer"
        subject = adapt(spec)
        found, by, seconds = 0, {}, []
        for seed in seeds:
            start = time.perf_counter()
            results = property_stage(subject, seed, stop_at_first=True)
            seconds.append(time.perf_counter() - start)
            failed = [r for r in results if r.status == "failed" and r.failure.shrunk]
            if failed:
                found += 1
                by[failed[0].name] = by.get(failed[0].name, 0) + 1
        out["detection"][bug] = {"found": found, "by_check": by, "max_s": max(seconds)}
        print(
            f"{bug:24s} found in {found}/{args.seeds} seeds {by} "
            f"(slowest seed {max(seconds):.1f} s)",
            flush=True,
        )

    with tempfile.TemporaryDirectory() as folder:
        from tokenizers import Tokenizer

        from tokprep.bpe import BPETokenizer

        hf = Tokenizer.from_file(str(hf_gpt2_tokenizer_json(Path(folder))))
        clean = {
            "tiktoken gpt2": "gpt2",
            "BPETokenizer.gpt2()": BPETokenizer.gpt2(),
            "HF tokenizer.json (GPT-2)": hf,
        }
        for label, tokenizer in clean.items():
            subject = adapt(tokenizer)
            start = time.perf_counter()
            full = run_checks(subject, "gpt2", seed=0)
            out["full_run_s"][label] = round(time.perf_counter() - start, 2)
            alarms = [f"seed 0: {r.name}" for r in full.failed]
            for seed in list(seeds)[1:]:
                for result in property_stage(subject, seed, stop_at_first=False):
                    if result.status == "failed":
                        alarms.append(f"seed {seed}: {result.name}: {result.failure.text!r}")
            out["false_alarms"][label] = alarms
            print(
                f"{label:28s} false alarms: {len(alarms)} over {args.seeds} seeds; a full "
                f"default run took {out['full_run_s'][label]:.1f} s",
                flush=True,
            )
            for alarm in alarms[:5]:
                print(f"    {alarm}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
