"""Hugging Face both ways: reading byte-level BPE `tokenizer.json` files, writing transformers
folders.

Reading (`read_hf_tokenizer_json`, behind `BPETokenizer.from_hf_tokenizer_json`) accepts what a
tiktoken-style encoder can run exactly: model `BPE` over GPT-2's 256 byte characters, no
normalizer, and a pre-tokenizer that is either `ByteLevel` with its own regex (GPT-2's pattern)
or a `Sequence` of `Split` (a regex, "Isolated") then `ByteLevel` without a regex. Special
tokens are the added tokens marked special. Anything else (WordPiece, Unigram, WordLevel,
`Metaspace`, normalizers, `byte_fallback`, dropout, prefixes, non-special added tokens, ...) is
refused with a `TokenizerFileError` that names the file and what was found.

Imported files keep their IDs. Hugging Face's `BpeTrainer` numbers special tokens first (the
first one is ID 0), then the byte alphabet, then merges; other files leave gaps. So an imported
table may have ranks with gaps and special tokens below some ranks; the rules it must follow are
the ones that make the IDs usable as tiktoken ranks (`check_id_table`, and in the file's merge
list, merged tokens numbered in merge order).

How Hugging Face runs BPE, and where it can differ from tiktoken's ranks (which tokprep runs):

- Hugging Face ranks *pairs*: in a word it joins the listed merge with the lowest index, and
  only listed pairs join. tiktoken ranks the *result*: it joins the adjacent pair whose
  concatenation has the lowest rank, whether or not that pair is a listed merge. If the
  merges are listed in the order of the tokens they make (required here), the two agree
  unless (a) two parts spell a token without being a listed merge (tiktoken joins them,
  Hugging Face does not), or (b) two different cuts of one token are joinable at once
  (tiktoken takes the leftmost, Hugging Face the lower merge index).
- tiktoken returns a piece that is itself a token as that token. Hugging Face does the same
  only with `ignore_merges: true`; without it, such a piece is merged pair by pair, which
  reaches the whole token only if the merges lead there.
- tokprep's own exports list every cut of every token and set `ignore_merges`, which closes
  (a) and the whole-piece case. Files from Hugging Face's trainer list one merge per token
  without `ignore_merges`; on the shared corpora and random text they encode as tiktoken does,
  because training applies each merge everywhere, so a token's own merge path never competes
  with another cut. Hand-made or converted files can differ: vocabulary `a b c bc ab abc`
  with merges `b c`, `a b`, `ab c` encodes "abc" as `a|bc` in Hugging Face (no merge `a bc`)
  and as `abc` in tiktoken. The trainer-conformance checker (issue 13) searches for such texts.
- Hugging Face always matches special-token text in raw input (unless the tokenizer's
  `encode_special_tokens` is set); tiktoken's `encode` refuses it unless allowed and
  `encode_ordinary` treats it as text. Equal IDs mean: tiktoken's `encode_ordinary` against
  Hugging Face with `encode_special_tokens = True`, or `encode(..., allowed_special="all")`
  against Hugging Face's default.
- Patterns run on different engines: Hugging Face's Oniguruma reads `X{1,3}+` as
  `(?:X{1,3})+` (Ruby syntax), so a pattern read from a file is rewritten to that meaning
  (`pattern_from_hf`), and its Unicode tables are older than tiktoken's.

The `post_processor` is not read: it acts only when Hugging Face is asked to add special tokens
around a text (`add_special_tokens=True`), which tiktoken's model has no notion of.

Writing (`save_pretrained`): `tokenizer.json` (`tokprep.bpe.export.write_hf_tokenizer_json`),
`tokenizer_config.json`, `special_tokens_map.json`, `vocab.json` and `merges.txt`, all written
atomically; `transformers.AutoTokenizer.from_pretrained(directory)` loads them offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import regex

from tokprep.bpe.export import hf_merges, hf_pattern, rewrite_counted_plus
from tokprep.bpe.gpt2_files import token_to_unicode, unicode_to_token
from tokprep.bpe.patterns import GPT2_ORIGINAL_PATTERN, PRESETS
from tokprep.bpe.ranks import ENDOFTEXT, GPT2_PATTERN
from tokprep.errors import TokenizerFileError
from tokprep.files import PathLike, atomic_files, decode_utf8
from tokprep.special import special_tokens_problem

if TYPE_CHECKING:
    from tokprep.bpe.tokenizer import BPETokenizer

__all__ = [
    "HFTokenizerFile",
    "check_id_table",
    "check_special_ids",
    "pattern_from_hf",
    "read_hf_tokenizer_json",
    "save_pretrained",
]

#: How many IDs an imported table may leave unused (gaps in the ranks, before special tokens).
MAX_UNUSED_IDS = 1 << 20

#: Context lengths written to `tokenizer_config.json` for the encodings that have one.
MODEL_MAX_LENGTH = {"gpt2": 1024, "r50k_base": 1024, "cl100k_base": 8192, "o200k_base": 128_000}

# Characters of many kinds; a pattern read from a file must match all of them (tiktoken drops
# text its pattern does not match, Hugging Face's Split keeps it as a piece).
_PROBE = (
    "Hello, World! It's 2024: don't STOP\t1234567 x\r\n\n  \u00a0caf\u00e9 na\u0308ive "
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u0645\u0631\u062d\u0628\u0627 "
    "\U0001f600\U0001f44d\U0001f3fd $%^&*()[]{}<>/\\|~`'\" \x00\x07\x1f\x7f\u200b\u2028\u3000 "
)


@dataclass(frozen=True)
class HFTokenizerFile:
    """What `read_hf_tokenizer_json` found in a file, in tokprep's terms."""

    ranks: dict[bytes, int]
    pattern: str
    special_tokens: dict[str, int]
    #: Each learned (multi-byte) token's parents, in rank order.
    merges: list[tuple[bytes, bytes]]
    ignore_merges: bool


# --- reading ---------------------------------------------------------------------------------


def pattern_from_hf(pattern: str) -> str:
    """A `Split` regex from a `tokenizer.json` as tokprep (the `regex` module) must run it.

    A preset in the form tokprep exports it (`hf_pattern`), or GPT-2's first published pattern,
    becomes that preset's tiktoken string. Otherwise the only rewrite is Oniguruma's counted
    repeat followed by `+`: `X{1,3}+` means `(?:X{1,3})+` there, not a possessive repeat.
    """
    for preset in PRESETS.values():
        if hf_pattern(preset) == pattern:
            return preset
    if pattern == GPT2_ORIGINAL_PATTERN:
        return GPT2_PATTERN
    return _oniguruma_repeats(pattern)


def _oniguruma_repeats(pattern: str) -> str:
    # Oniguruma's `X{1,3}+` repeats the counted repeat: `(?:X{1,3})+` for `regex`.
    return rewrite_counted_plus(pattern, "(?:", keep_plus=True)


def _field(document: Any, key: str) -> Any:
    return document.get(key) if isinstance(document, Mapping) else None


def _refuse(path: Path, found: str, why: str) -> TokenizerFileError:
    return TokenizerFileError(
        f"{path}: {found}; tokprep reads only byte-level BPE tokenizer.json files (model BPE, "
        f"ByteLevel pre-tokenizer, optionally after a Split regex, no normalizer): {why}"
    )


def _pattern(path: Path, pre_tokenizer: Any) -> str:
    """The split pattern that the file's pre-tokenizer amounts to (see the module docstring)."""
    kind = _field(pre_tokenizer, "type")
    steps = pre_tokenizer.get("pretokenizers") if kind == "Sequence" else [pre_tokenizer]
    if not isinstance(steps, list) or not steps:
        raise _refuse(path, f"pre_tokenizer is {kind!r}", "it needs a ByteLevel pre-tokenizer")
    last = steps[-1]
    if _field(last, "type") != "ByteLevel":
        names = [_field(step, "type") for step in steps]
        raise _refuse(path, f"pre_tokenizer is {names}", "the last step must be ByteLevel")
    if last.get("add_prefix_space"):
        raise _refuse(
            path,
            "ByteLevel has add_prefix_space: true",
            "a space added before the text is not part of tiktoken's model",
        )
    use_regex = last.get("use_regex", True)
    if len(steps) == 1 and use_regex:
        return GPT2_PATTERN  # ByteLevel's own regex is GPT-2's published pattern
    split = steps[0]
    if len(steps) != 2 or use_regex or _field(split, "type") != "Split":
        names = [_field(step, "type") for step in steps]
        raise _refuse(
            path,
            f"pre_tokenizer is {names} (ByteLevel use_regex={use_regex})",
            "it must be ByteLevel alone, or Split then ByteLevel with use_regex false",
        )
    source = _field(split.get("pattern"), "Regex")
    if not isinstance(source, str):
        raise _refuse(path, f"Split pattern is {split.get('pattern')!r}", "it must be a Regex")
    if split.get("behavior") != "Isolated" or split.get("invert"):
        raise _refuse(
            path,
            f"Split has behavior {split.get('behavior')!r}, invert {split.get('invert')!r}",
            'pieces must be the matches ("Isolated", invert false)',
        )
    pattern = pattern_from_hf(source)
    try:
        compiled = regex.compile(pattern)
    except regex.error as e:
        raise TokenizerFileError(
            f"{path}: the Split regex {source!r} does not compile: {e}"
        ) from None
    if compiled.groups:
        raise TokenizerFileError(
            f"{path}: the Split regex {source!r} has capturing groups; write them as (?:...)"
        )
    if "".join(compiled.findall(_PROBE)) != _PROBE:
        raise TokenizerFileError(
            f"{path}: the Split regex {source!r} leaves some characters unmatched (tested on a "
            "sample of letters, digits, spaces, symbols and emoji); tiktoken would drop them"
        )
    return pattern


def _check_model(path: Path, document: Mapping[str, Any]) -> Mapping[str, Any]:
    model: Any = document.get("model")
    kind = _field(model, "type")
    if kind != "BPE":
        raise _refuse(path, f"the model is {kind!r}", "only BPE models are byte-level BPE")
    normalizer = document.get("normalizer")
    if normalizer is not None and not (
        _field(normalizer, "type") == "Sequence" and not normalizer.get("normalizers")
    ):
        raise _refuse(
            path,
            f"normalizer is {_field(normalizer, 'type')!r}",
            "a normalizer changes the text before BPE; tiktoken's model has none",
        )
    for key, allowed in (
        ("byte_fallback", (False, None)),
        ("dropout", (None, 0, 0.0)),
        ("continuing_subword_prefix", (None, "")),
        ("end_of_word_suffix", (None, "")),
    ):
        if model.get(key) not in allowed:
            raise _refuse(path, f"the BPE model has {key}: {model.get(key)!r}", "not byte-level")
    if not isinstance(model.get("vocab"), Mapping) or not isinstance(model.get("merges"), list):
        raise TokenizerFileError(f"{path}: model.vocab must be an object, model.merges a list")
    decoder = document.get("decoder")
    if decoder is not None and _field(decoder, "type") != "ByteLevel":
        raise _refuse(
            path, f"decoder is {_field(decoder, 'type')!r}", "a byte-level BPE decodes bytes"
        )
    return model


def _special_tokens(path: Path, document: Mapping[str, Any]) -> dict[str, int]:
    specials: dict[str, int] = {}
    for entry in document.get("added_tokens") or []:
        content, index = _field(entry, "content"), _field(entry, "id")
        if not isinstance(content, str) or isinstance(index, bool) or not isinstance(index, int):
            raise TokenizerFileError(f"{path}: added token {entry!r} needs a content and an id")
        if not entry.get("special"):
            raise _refuse(
                path,
                f"added token {content!r} (ID {index}) is not special",
                "Hugging Face matches it in ordinary text, which tiktoken's model cannot express",
            )
        flags = [key for key in ("lstrip", "rstrip", "single_word") if entry.get(key)]
        if flags:
            raise _refuse(
                path,
                f"special token {content!r} has {', '.join(flags)}",
                "those change the text around the token",
            )
        if content in specials or index in specials.values():
            raise TokenizerFileError(f"{path}: added token {content!r} (ID {index}) is repeated")
        specials[content] = index
    return specials


def _merge_pair(path: Path, number: int, merge: Any) -> tuple[bytes, bytes]:
    if isinstance(merge, str):
        parts = merge.split(" ")
    elif isinstance(merge, list):
        parts = merge
    else:
        parts = []
    if len(parts) != 2 or not all(isinstance(p, str) and p for p in parts):
        raise TokenizerFileError(f"{path}: model.merges[{number}] = {merge!r} is not a pair")
    where = f"{path}: model.merges[{number}]"
    return unicode_to_token(parts[0], where), unicode_to_token(parts[1], where)


def _ranks_and_merges(
    path: Path, model: Mapping[str, Any], specials: Mapping[str, int]
) -> tuple[dict[bytes, int], list[tuple[bytes, bytes]]]:
    """The mergeable ranks (the vocabulary less the special tokens) and each learned token's
    parents, in rank order, checked against the merge list."""
    ranks: dict[bytes, int] = {}
    for text, index in model["vocab"].items():
        if text in specials:
            if specials[text] != index:
                raise TokenizerFileError(
                    f"{path}: special token {text!r} has ID {specials[text]} in added_tokens "
                    f"but {index} in model.vocab"
                )
            continue
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise TokenizerFileError(f"{path}: model.vocab[{text!r}] = {index!r} is not an ID")
        ranks[unicode_to_token(text, f"{path}: model.vocab")] = index
    parents: dict[bytes, tuple[bytes, bytes]] = {}
    last: tuple[int, bytes] | None = None
    for number, merge in enumerate(model["merges"]):
        left, right = _merge_pair(path, number, merge)
        token = left + right
        rank = ranks.get(token)
        if rank is None or left not in ranks or right not in ranks:
            missing = next(t for t in (left, right, token) if t not in ranks)
            raise TokenizerFileError(
                f"{path}: model.merges[{number}] ({token_to_unicode(left)} "
                f"{token_to_unicode(right)}) uses or makes {token_to_unicode(missing)!r}, "
                "which is not in model.vocab"
            )
        if last is not None and rank < last[0]:
            raise TokenizerFileError(
                f"{path}: model.merges[{number}] makes {token_to_unicode(token)!r} (ID {rank}) "
                f"after an earlier merge made {token_to_unicode(last[1])!r} (ID {last[0]}); "
                "merged tokens must be numbered in merge order to be used as tiktoken ranks"
            )
        last = (rank, token)
        if token not in parents and ranks[left] < rank and ranks[right] < rank:
            parents[token] = (left, right)
    learned = sorted((rank, token) for token, rank in ranks.items() if len(token) > 1)
    for rank, token in learned:
        if token not in parents:
            raise TokenizerFileError(
                f"{path}: token {token_to_unicode(token)!r} (ID {rank}) is in model.vocab but "
                "no merge makes it from two tokens with lower IDs, so BPE can never produce it"
            )
    return ranks, [parents[token] for _, token in learned]


def check_id_table(
    ranks: Mapping[bytes, int],
    special_tokens: Mapping[str, int],
    merges: Sequence[tuple[bytes, bytes]],
    source: str,
) -> None:
    """The rules for a table that keeps a file's own IDs: all 256 bytes, unique non-negative
    IDs (gaps allowed, up to `MAX_UNUSED_IDS` unused), each multi-byte token (in ID order) made
    by its entry of `merges` from two tokens with lower IDs, and special-token IDs that are no
    rank's."""
    missing = [b for b in range(256) if bytes([b]) not in ranks]
    if missing:
        raise TokenizerFileError(
            f"{source}: {len(missing)} of the 256 single-byte tokens are missing (first: "
            f"{bytes([missing[0]])!r}); a byte-level BPE needs every byte (train with "
            "initial_alphabet=ByteLevel.alphabet())"
        )
    by_id: dict[int, bytes] = {}
    for token, rank in ranks.items():
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
            raise TokenizerFileError(f"{source}: token {token!r} has invalid ID {rank!r}")
        if rank in by_id:
            raise TokenizerFileError(
                f"{source}: ID {rank} is used by both {by_id[rank]!r} and {token!r}"
            )
        by_id[rank] = token
    learned = sorted((rank, token) for token, rank in ranks.items() if len(token) > 1)
    if len(merges) != len(learned):
        raise TokenizerFileError(
            f"{source}: {len(merges)} merges for {len(learned)} multi-byte tokens; give one "
            "merge per multi-byte token, in ID order"
        )
    for (rank, token), (left, right) in zip(learned, merges, strict=True):
        lower = ranks.get(left, rank) < rank and ranks.get(right, rank) < rank
        if left + right != token or not lower:
            raise TokenizerFileError(
                f"{source}: token {token!r} (ID {rank}) is not made by its merge "
                f"{left!r} + {right!r} from two tokens with lower IDs, so BPE can never "
                "produce it that way"
            )
    check_special_ids(special_tokens, ranks, source)


def check_special_ids(
    special_tokens: Mapping[str, int], ranks: Mapping[bytes, int], source: str
) -> None:
    """Special-token IDs in a table with a file's own IDs: distinct non-negative ints that are
    no rank's (they may lie below ranks), no more than `MAX_UNUSED_IDS` IDs left unused, and no
    special token a prefix of another."""
    rank_ids = set(ranks.values())
    seen: dict[int, str] = {}
    for text, index in special_tokens.items():
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise TokenizerFileError(f"{source}: special token {text!r} has invalid ID {index!r}")
        if index in rank_ids or index in seen:
            other = f"special token {seen[index]!r}" if index in seen else "a mergeable token"
            raise TokenizerFileError(
                f"{source}: special token {text!r} has ID {index}, which {other} already has"
            )
        seen[index] = text
    # The decoder keeps one entry per ID up to the largest, so IDs stay near the token count.
    limit = len(ranks) + len(special_tokens) + MAX_UNUSED_IDS
    top = max([*rank_ids, *special_tokens.values()], default=0)
    if top >= limit:
        raise TokenizerFileError(
            f"{source}: ID {top:,} leaves over {MAX_UNUSED_IDS:,} IDs unused (the table has "
            f"{len(ranks) + len(special_tokens):,} tokens); tokprep decodes through a table "
            "with one entry per ID, so renumber the tokens"
        )
    if problem := special_tokens_problem(special_tokens):
        raise TokenizerFileError(f"{source}: {problem}")


def read_hf_tokenizer_json(path: PathLike) -> HFTokenizerFile:
    """Read and check a byte-level BPE `tokenizer.json` (see the module docstring)."""
    path = Path(path)
    try:
        document = json.loads(decode_utf8(path.read_bytes(), str(path)))
    except json.JSONDecodeError as e:
        raise TokenizerFileError(f"{path}: line {e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(document, dict) or "model" not in document:
        raise TokenizerFileError(f'{path}: not a Hugging Face tokenizer.json (no "model")')
    model = _check_model(path, document)
    pattern = _pattern(path, document.get("pre_tokenizer"))
    specials = _special_tokens(path, document)
    ranks, merges = _ranks_and_merges(path, model, specials)
    check_id_table(ranks, specials, merges, str(path))
    return HFTokenizerFile(ranks, pattern, specials, merges, bool(model.get("ignore_merges")))


def load_hf_tokenizer_json(
    cls: type[BPETokenizer], path: PathLike, name: str | None = None
) -> BPETokenizer:
    """`BPETokenizer.from_hf_tokenizer_json`: the file's IDs, pattern and special tokens."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.json"
    found = read_hf_tokenizer_json(path)
    if name is None:
        name = path.parent.name if path.name == "tokenizer.json" else path.stem
    tokenizer = cls(
        found.ranks,
        found.pattern,
        found.special_tokens,
        name=name or "tokenizer",
        _file_ids=True,  # check_id_table checked the ranks
    )
    tokenizer._merges = found.merges
    return tokenizer


# --- writing a transformers folder -------------------------------------------------------------


def _json(path: Path, document: Any) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(document, f, ensure_ascii=False, indent=2)
        f.write("\n")


def save_pretrained(
    tokenizer: BPETokenizer, directory: PathLike, *, model_max_length: int | None = None
) -> list[Path]:
    """Write a transformers tokenizer folder for `tokenizer` into `directory`; returns the paths.

    `tokenizer.json` is the full tokenizer (tiktoken's IDs, see `write_hf_tokenizer_json`);
    `vocab.json` and `merges.txt` are the same vocabulary in GPT-2's files (with every cut of
    each token as a merge); `tokenizer_config.json` and `special_tokens_map.json` name
    `<|endoftext|>` as the bos and eos token when the vocabulary has it, and the other special
    tokens as additional ones. `model_max_length` defaults to the encoding's context length
    when tokprep knows it (`MODEL_MAX_LENGTH`), else it is left out (transformers: no limit).
    The five files are written to a temporary folder and moved into `directory` together
    (`tokprep.files.atomic_files`): a failure leaves the folder as it was.

        tok = BPETokenizer.gpt2()
        tok.save_pretrained("gpt2-tok")
        AutoTokenizer.from_pretrained("gpt2-tok")("hello world")["input_ids"]  # [31373, 995]
    """
    from tokprep.bpe.export import write_hf_tokenizer_json

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ranks, specials = dict(tokenizer.mergeable_ranks), dict(tokenizer.special_tokens)
    merges = tokenizer.merges
    roles: dict[str, Any] = {}
    if ENDOFTEXT in specials:
        roles = {"bos_token": ENDOFTEXT, "eos_token": ENDOFTEXT}
    others = [text for text, _ in sorted(specials.items(), key=lambda item: item[1])]
    others = [text for text in others if text != ENDOFTEXT]
    if others:
        roles["additional_special_tokens"] = others
    config: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": {
            str(index): {
                "content": text,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for text, index in sorted(specials.items(), key=lambda item: item[1])
        },
        **roles,
    }
    limit = model_max_length or MODEL_MAX_LENGTH.get(tokenizer.name)
    if limit is not None:
        config["model_max_length"] = limit
    vocab = {token_to_unicode(t): i for t, i in sorted(ranks.items(), key=lambda item: item[1])}
    vocab.update(specials)
    lines = ["#version: 0.2"]
    lines += [f"{token_to_unicode(a)} {token_to_unicode(b)}" for a, b in hf_merges(ranks, merges)]

    with atomic_files() as files:
        staging = files.temp_folder(directory)
        write_hf_tokenizer_json(
            ranks, tokenizer.pattern, specials, staging / "tokenizer.json", merges=merges
        )
        _json(staging / "vocab.json", vocab)
        with open(staging / "merges.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        _json(staging / "special_tokens_map.json", roles)
        _json(staging / "tokenizer_config.json", config)
        names = sorted(path.name for path in staging.iterdir())
    return [directory / name for name in names]


def is_hf_tokenizer_json(path: PathLike) -> bool:
    """Whether `path` looks like a Hugging Face `tokenizer.json` rather than a tokprep JSON
    file: it is named `tokenizer.json`, or its start holds Hugging Face's keys and not tokprep's
    envelope. Only the first 64 KiB are read."""
    path = Path(path)
    if path.name == "tokenizer.json":
        return True
    with path.open("rb") as f:
        head = f.read(1 << 16)
    return b'"format"' not in head[:200] and any(
        key in head for key in (b'"added_tokens"', b'"pre_tokenizer"', b'"model"')
    )
