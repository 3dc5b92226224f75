"""The preset patterns' Unicode classes are pinned to tiktoken's, whatever `regex` is installed.

Three layers, from the tables up:

1. the shipped tables equal the classes of tiktoken's own regex engine on every code point
   (tiktoken run with one probe pattern per class);
2. every code point, in a context where its class decides the split, encodes to tiktoken's
   IDs under gpt2, cl100k_base and o200k_base;
3. every code point at a class boundary of the tables, and every one where the installed
   `regex` module disagrees with them, in many contexts (contractions in several cases, digits,
   punctuation, each kind of whitespace, upper and lower case, letters of other scripts),
   under a probe vocabulary that shows each join of the code point with its neighbours in the
   token IDs.

The encodings come from the rank files here (gunzip + `parse_tiktoken_bpe`); tiktoken is built
from the same files, offline.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import itertools
import re
from pathlib import Path

import pytest
import regex
import tiktoken

from tokprep.bpe import BPETokenizer, tiktoken_gpt2
from tokprep.bpe.patterns import CL100K_PATTERN, GPT2_ORIGINAL_PATTERN, GPT2_PATTERN, O200K_PATTERN
from tokprep.bpe.pretokenize import WHITESPACE, Splitter
from tokprep.bpe.ranks import ENDOFTEXT, parse_tiktoken_bpe
from tokprep.bpe.unicode_classes import (
    UNICODE_VERSION,
    bmp_stand_ins,
    class_members,
    class_ranges,
    pinned_pattern,
)
from tokprep.bpe.unicode_tables import RANGES
from tokprep.errors import ArgumentValueError

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_unicode_tables.py"
PATTERNS = {"gpt2": GPT2_PATTERN, "cl100k_base": CL100K_PATTERN, "o200k_base": O200K_PATTERN}
CODE_POINTS = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
TIKTOKEN = f"tiktoken {tiktoken.__version__}"


def _script():
    spec = importlib.util.spec_from_file_location("make_unicode_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rank_file(name: str) -> Path | None:
    # TODO(registry): use tokprep.bpe.encodings once it ships these files.
    for folder in (ROOT / "src" / "tokprep" / "data", ROOT.parent / "shared" / "data"):
        if (folder / f"{name}.tiktoken.gz").exists():
            return folder / f"{name}.tiktoken.gz"
    return None


@functools.cache
def encoders(name: str) -> tuple[BPETokenizer, tiktoken.Encoding]:
    """tokprep's and tiktoken's encoder for one encoding, from the same ranks."""
    if name == "gpt2":
        return BPETokenizer.gpt2(), tiktoken_gpt2()
    path = _rank_file(name)
    if path is None:
        pytest.skip(f"{name}.tiktoken.gz is not in src/tokprep/data or ../shared/data")
    ranks = parse_tiktoken_bpe(gzip.decompress(path.read_bytes()), str(path))[0]
    specials = {ENDOFTEXT: 100257 if name == "cl100k_base" else 199999}
    ours = BPETokenizer(ranks, PATTERNS[name], specials, name=name, _validated=True)
    theirs = tiktoken.Encoding(
        name, pat_str=PATTERNS[name], mergeable_ranks=ranks, special_tokens=specials
    )
    return ours, theirs


def _first_difference(ours, theirs, template: str, chars: list[str]) -> str:
    """For a failure message: the first code point whose instance alone encodes differently."""
    for char in chars:
        text = template.format(c=char)
        if ours.encode_ordinary(text) != theirs.encode_ordinary(text):
            return f"U+{ord(char):04X} in {text!r}"
    return "no single instance differs (the difference needs its neighbours)"


# --- 1. the tables are tiktoken's ---------------------------------------------------------------


def test_tables_equal_tiktoken_classes_on_every_code_point():
    script = _script()
    theirs = script.tiktoken_classes()
    for name in RANGES:
        ours = {c for a, b in class_ranges(name) for c in range(a, b + 1)}
        extra, missing = sorted(ours - set(theirs[name])), sorted(set(theirs[name]) - ours)
        assert not extra and not missing, (
            f"\\p{{{name}}}: {len(extra)} code points only in tokprep's Unicode "
            f"{UNICODE_VERSION} tables, {len(missing)} only in {TIKTOKEN}'s; first: "
            f"{[hex(c) for c in (extra + missing)[:5]]}"
        )


def test_tables_are_well_formed():
    for name in RANGES:
        ranges = class_ranges(name)
        assert all(a <= b for a, b in ranges), name
        # sorted, disjoint and not adjacent (the generator merges adjacent ranges)
        assert all(b + 1 < c for (_, b), (c, _) in itertools.pairwise(ranges)), name
    letters = set().union(*(class_members(n) for n in ("Lu", "Ll", "Lt", "Lm", "Lo")))
    assert class_members("L") == letters
    assert class_members("White_Space") == WHITESPACE


def test_make_unicode_tables_check_offline():
    """The shipped module is what the script writes (needs unicodedata2 at the pinned version,
    which is not a project dependency)."""
    try:
        import unicodedata2
    except ImportError:
        pytest.skip(f"unicodedata2=={UNICODE_VERSION} is not installed (not a dependency)")
    if unicodedata2.unidata_version != UNICODE_VERSION:
        pytest.skip(f"unicodedata2 has Unicode {unicodedata2.unidata_version}")
    assert _script().main(["--check"]) == 0


# --- pinning does not depend on the installed regex module --------------------------------------


def test_the_u0558_example_equals_tiktoken():
    # U+0558 became a letter in Unicode 17; tiktoken 0.14's tables (16.0) have it unassigned.
    ours, theirs = encoders("gpt2")
    assert theirs.encode_ordinary("\u0558's") == [145, 246, 6, 82], TIKTOKEN
    assert ours.encode_ordinary("\u0558's") == [145, 246, 6, 82]


@pytest.mark.parametrize(
    "pattern", [GPT2_PATTERN, GPT2_ORIGINAL_PATTERN, CL100K_PATTERN, O200K_PATTERN]
)
def test_presets_never_ask_the_regex_module(monkeypatch, pattern):
    def refuse(*args, **kwargs):
        raise AssertionError("a preset pattern used the installed regex module")

    for name in ("compile", "findall", "finditer", "search", "match", "split"):
        monkeypatch.setattr(regex, name, refuse)
    fresh = Splitter(pattern)  # not the shared one, so nothing was compiled before
    assert fresh.unicode_version == UNICODE_VERSION
    assert isinstance(fresh.reference, re.Pattern)
    assert "\\p{" not in fresh.reference.pattern and "\\s" not in fresh.reference.pattern
    assert "\\S" not in fresh.reference.pattern
    text = "Ünïcode 𝐀𝐁c \u0558's 日本語 ١٢٣ 😀\u3000x"
    assert "".join(fresh.split(text)) == text


def test_pattern_strings_stay_tiktokens():
    for name, pattern in PATTERNS.items():
        ours, theirs = encoders(name)
        assert ours.pattern == pattern == theirs._pat_str
        assert ours.unicode_version == UNICODE_VERSION
    custom = BPETokenizer(encoders("gpt2")[0].mergeable_ranks, r"\p{L}+|\P{L}")
    assert custom.unicode_version is None
    import tokprep.bpe

    assert tokprep.bpe.UNICODE_VERSION == UNICODE_VERSION == _script().UNICODE_VERSION


def test_unicode_classes_docstring_example():
    import doctest

    from tokprep.bpe import unicode_classes

    assert doctest.testmod(unicode_classes).failed == 0


def test_pinned_pattern_rewrites_every_class():
    assert pinned_pattern(r"\s+(?!\S)") == (
        f"[{_body('White_Space')}]+(?![^{_body('White_Space')}])"
    )
    negated = pinned_pattern(r"[^\r\n\p{L}\p{N}]")
    assert negated.startswith("[^\\r\\n\\u0030-\\u0039") and negated.count("[") == 1
    for bad in (r"\w+", r"\P{L}", r"[\S]", r"\p{Greek}", r"[[a]]"):
        with pytest.raises(ValueError):
            pinned_pattern(bad)


def _body(name: str) -> str:
    return "".join(
        f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in class_ranges(name)
    )


def test_stand_ins_share_every_class():
    astral = [chr(c) for c in CODE_POINTS if c > 0xFFFF]
    stand_ins = bmp_stand_ins("".join(astral))
    assert len(stand_ins) == len(astral) and stand_ins.isascii() is False
    assert max(stand_ins) <= "\uffff"
    for name in RANGES:
        members = class_members(name)
        # every character above U+FFFF and its stand-in: both in the class, or both out
        assert all((a in members) == (b in members) for a, b in zip(astral, stand_ins, strict=True))
    assert bmp_stand_ins("plain ü") == "plain ü"


# --- 2. every code point, three encodings ----------------------------------------------------

# One code point per line, before a contraction (the "'" joins the piece before it only after
# punctuation; o200k attaches the contraction to letters) and after a lowercase letter or a
# digit (letters or digits join it; under o200k only its lowercase-like classes join "a"). Each
# code point once per encoding: the sweep costs about one new piece per code point. The
# contexts that tell every class apart are in section 3.
SWEEP = {"gpt2": "a{c}'s\n", "cl100k_base": "1{c}'LL\n", "o200k_base": "a{c}'S\n"}
CHUNK = 1 << 16


@pytest.mark.parametrize("name", list(PATTERNS))
def test_every_code_point_encodes_as_tiktoken(name):
    ours, theirs = encoders(name)
    for start in range(0, len(CODE_POINTS), CHUNK):
        chars = [chr(c) for c in CODE_POINTS[start : start + CHUNK]]
        text = "".join([SWEEP[name].format(c=c) for c in chars])
        if ours.encode_ordinary(text) != theirs.encode_ordinary(text):
            pytest.fail(
                f"{name}: tokprep (Unicode {UNICODE_VERSION}) and {TIKTOKEN} differ in the "
                f"chunk from U+{CODE_POINTS[start]:04X}: "
                + _first_difference(ours, theirs, SWEEP[name], chars)
            )


# --- 3. class boundaries and regex disagreements, many contexts, every join visible --------

WHITE = sorted(WHITESPACE)
OTHER_SCRIPTS = "éΩω日本ǅʰ٣\u0301"
CONTEXTS = [
    "{c}'s",
    "{c}'S",
    "{c}'ll",
    "{c}'LL",
    "x's{c}",
    "X'LL{c}",
    "a'{c}",
    "a{c}A!",
    "A{c}a",
    "!{c}A!",
    "!!{c}a",
    "1{c}1",
    "{c}12a",
    " {c}.",
    "{w}{c}{w}x",
    "x{c}{w}{w}",
    "é{c}ω",
    "日{c}ǅ",
    "ʰ{c}٣",
    "Ω{c}\u0301",
]
NEIGHBOURS = sorted(
    set("".join(CONTEXTS).replace("{c}", "").replace("{w}", ""))
    | set(WHITE)
    | set(OTHER_SCRIPTS)
    | {"\n"}
)


@functools.cache
def probe_ranks() -> dict[bytes, int]:
    """The 256 bytes, each neighbour character, and each neighbour next to each byte >= 0x80:
    a code point of two or more bytes then shows in the IDs whether it joined the piece of the
    character before it and of the one after it."""
    tokens = [bytes([b]) for b in range(256)]
    for char in NEIGHBOURS:
        data = char.encode()
        tokens += [data[:k] for k in range(2, len(data) + 1)]
    tokens += [char.encode() + bytes([b]) for char in NEIGHBOURS for b in range(0x80, 0x100)]
    tokens += [bytes([b]) + char.encode() for char in NEIGHBOURS for b in range(0x80, 0x100)]
    return {token: rank for rank, token in enumerate(dict.fromkeys(tokens))}


@functools.cache
def regex_disagreements() -> list[int]:
    """Code points where the installed `regex` module's classes differ from the pinned ones."""
    text = "".join(map(chr, CODE_POINTS))
    found: set[int] = set()
    for name in RANGES:
        spelled = r"\s" if name == "White_Space" else rf"\p{{{name}}}"
        theirs = {ord(m) for m in regex.findall(spelled, text)}
        found |= theirs ^ {c for a, b in class_ranges(name) for c in range(a, b + 1)}
    return sorted(found)


def boundary_code_points() -> list[int]:
    """The first and last code point of every range in the tables and their outside
    neighbours, every code point the installed `regex` classifies differently, and those
    whose case mappings reach ASCII letters; ASCII
    excepted (its joins are bytes the probe cannot show; the sweep above covers it)."""
    points = set(regex_disagreements())
    # and the characters whose case mappings reach ASCII (U+017F long s, U+212A Kelvin...):
    # the contexts' (?i:'s|'ll...) contractions may match them
    points.update(
        c
        for c in range(0x80, 0x10000)
        if any(x.isascii() for x in chr(c).lower() + chr(c).upper() + chr(c).casefold())
    )
    for name in RANGES:
        for a, b in class_ranges(name):
            points.update((a - 1, a, b, b + 1))
    return sorted(c for c in points if 0x80 <= c < 0x110000 and not 0xD800 <= c < 0xE000)


@pytest.mark.parametrize("name", [*PATTERNS, "gpt2-original"])
def test_class_boundaries_in_many_contexts(name):
    pattern = PATTERNS.get(name, GPT2_ORIGINAL_PATTERN)
    ranks = probe_ranks()
    ours = BPETokenizer(ranks, pattern, {}, name="probe", _validated=True)
    theirs = tiktoken.Encoding("probe", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    points = boundary_code_points()
    for context in CONTEXTS:
        instances = [
            context.format(c=chr(c), w=WHITE[(i + 7 * CONTEXTS.index(context)) % len(WHITE)]) + "\n"
            for i, c in enumerate(points)
        ]
        text = "".join(instances)
        if ours.encode_ordinary(text) != theirs.encode_ordinary(text):
            first = next(
                (t for t in instances if ours.encode_ordinary(t) != theirs.encode_ordinary(t)),
                "no single instance",
            )
            pytest.fail(
                f"{name}: tokprep (Unicode {UNICODE_VERSION}) and {TIKTOKEN} split {context!r} "
                f"differently, first at {first!r}"
            )


def test_boundary_set_holds_the_regex_disagreements():
    # With a `regex` whose tables are tiktoken's there is nothing to add; with a newer one
    # (2026.11.19 has Unicode 17) these are the code points the pinning exists for.
    disagreements = regex_disagreements()
    assert set(disagreements) <= set(boundary_code_points()) | set(range(0x80))
    if regex.match(r"\p{L}", "\u0558"):
        assert 0x0558 in disagreements


# --- a pattern must cover the text (issue 17, section 4) -------------------------------------


def test_empty_pattern_is_refused_at_construction():
    with pytest.raises(ArgumentValueError, match="pattern is empty"):
        BPETokenizer(encoders("gpt2")[0].mergeable_ranks, "")


def test_pattern_that_leaves_text_unmatched_is_refused_not_dropped():
    pattern = r"\p{L}+| "
    ranks = encoders("gpt2")[0].mergeable_ranks
    tokenizer = BPETokenizer(ranks, pattern)
    reference = tiktoken.Encoding(
        "gaps", pat_str=pattern, mergeable_ranks=dict(ranks), special_tokens={}
    )
    assert tokenizer.encode_ordinary("ab cd") == reference.encode_ordinary("ab cd")
    # tiktoken drops the "!" silently; tokprep refuses, naming the pattern, character, offset
    assert reference.decode(reference.encode_ordinary("ab c!d")) == "ab cd"
    with pytest.raises(ArgumentValueError) as caught:
        tokenizer.encode_ordinary("ab c!d")
    message = str(caught.value)
    assert repr(pattern) in message and "'!' (U+0021) at offset 4" in message


def test_custom_pattern_with_groups_splits_into_whole_matches():
    tokenizer = BPETokenizer(encoders("gpt2")[0].mergeable_ranks, r"(a)b|[\s\S]")
    _, theirs = encoders("gpt2")
    reference = tiktoken.Encoding(
        "groups",
        pat_str=r"(a)b|[\s\S]",
        mergeable_ranks=theirs._mergeable_ranks,
        special_tokens={},
    )
    assert tokenizer.encode_ordinary("abxab") == reference.encode_ordinary("abxab")
