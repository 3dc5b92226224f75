"""Special tokens in input text, with tiktoken's rule, shared by every tokprep tokenizer.

Text that spells a special token (`"<|endoftext|>"`) is refused unless the caller allows it:

- `allowed_special` ("all" or a set): these spellings become their special token's ID;
- `disallowed_special` ("all" = every special token not allowed, or a collection): finding one
  of these in the text raises `DisallowedSpecialTokenError`;
- anything in neither set is encoded as ordinary text, like `encode_ordinary` does.

Special tokens never overlap at a position: tokprep refuses a set where one token is a prefix
of another (`special_tokens_problem`), because tiktoken then picks one at random (it joins its
special tokens into one regex in hash-map order, and the first alternative that matches wins).
Without prefixes at most one special token can start at any position, so the leftmost match is
the same whatever the order, and tokprep and tiktoken cut the text the same way.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Collection, Iterable, Iterator
from typing import Literal

from tokprep.errors import DisallowedSpecialTokenError

AllowedSpecial = Literal["all"] | Collection[str]

#: What a special token looks like, `<|name|>`: how vocabularies without a list of special
#: tokens (word vocabularies, GPT-2's encoder.json) tell them apart.
SPECIAL_SHAPE = re.compile(r"<\|[^|<>]*\|>")


def special_tokens_problem(tokens: Iterable[str]) -> str | None:
    """What is wrong with a set of special tokens, or None: an empty token, or one token that is
    a prefix of another (`<|a|>` and `<|a|>b`). Callers raise it with their own error class.

    >>> special_tokens_problem(["<|a|>", "<|a|>b"]) is not None
    True
    """
    ordered = sorted(tokens)
    if ordered and ordered[0] == "":
        return "a special token is the empty string; give each special token some text"
    # If a is a prefix of any token, it is a prefix of the token right after it in sorted order.
    for shorter, longer in itertools.pairwise(ordered):
        if longer.startswith(shorter):
            return (
                f"the special tokens {shorter!r} and {longer!r} overlap: the first is a prefix of "
                f"the second, so the text {longer!r} could be either one, and tiktoken would pick "
                "one at random (it tries special tokens in hash-map order). Rename or drop one "
                "of them so that no special token begins with another"
            )
    return None


@functools.lru_cache(maxsize=64)
def special_regex(tokens: frozenset[str]) -> re.Pattern[str]:
    """A pattern matching any of `tokens`. The order of the alternatives (longest first, then
    alphabetical) matters only for sets `special_tokens_problem` refuses."""
    ordered = sorted(tokens, key=lambda t: (-len(t), t))
    return re.compile("|".join(re.escape(t) for t in ordered))


def _as_token_set(name: str, value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Collection):
        raise TypeError(
            f"{name} must be 'all' or a collection of strings such as {{'<|endoftext|>'}}, "
            f"got {type(value).__name__} {value!r}"
        )
    tokens = frozenset(value)
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"{name} must hold strings, got {type(token).__name__} {token!r}")
    return tokens


def check_special(
    text: str,
    special_tokens: Collection[str],
    allowed_special: AllowedSpecial = frozenset(),
    disallowed_special: AllowedSpecial = "all",
) -> frozenset[str]:
    """Apply tiktoken's rule to `text`; return the special tokens to encode as control tokens.

    Raises `DisallowedSpecialTokenError` naming the token, its character offset and both fixes.
    """
    specials = frozenset(special_tokens)
    allowed = (
        specials if allowed_special == "all" else _as_token_set("allowed_special", allowed_special)
    )
    disallowed = (
        specials - allowed
        if disallowed_special == "all"
        else _as_token_set("disallowed_special", disallowed_special)
    )
    if disallowed and (found := special_regex(disallowed).search(text)):
        token = found.group()
        raise DisallowedSpecialTokenError(
            f"the text spells the special token {token!r} at character {found.start()}, and "
            "special tokens are refused unless you allow them.\n"
            f"- To encode it as the special token, pass allowed_special={{{token!r}}} "
            "(or allowed_special='all').\n"
            "- To encode it as ordinary text, pass disallowed_special=() or call "
            "encode_ordinary(text); to do so for this token only, pass "
            f"disallowed_special=(tokenizer.special_tokens_set - {{{token!r}}}).",
            token,
            found.start(),
        )
    return allowed & specials


def split_special(text: str, allowed: frozenset[str]) -> Iterator[tuple[str, bool]]:
    """Yield `(piece, is_special)` in order: ordinary stretches and allowed special tokens.

    Empty ordinary stretches are skipped. Ordinary stretches are pre-tokenized on their own, so
    no pre-token crosses a special token (as in tiktoken).
    """
    if not allowed:
        if text:
            yield text, False
        return
    start = 0
    for match in special_regex(allowed).finditer(text):
        if match.start() > start:
            yield text[start : match.start()], False
        yield match.group(), True
        start = match.end()
    if start < len(text):
        yield text[start:], False
