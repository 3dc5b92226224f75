"""The one error rule: wrong type -> TypeError, bad value -> a ValueError subclass."""

import pytest

from tokprep import errors


@pytest.mark.parametrize(
    "cls",
    [
        errors.ArgumentValueError,
        errors.UnknownTokenError,
        errors.InvalidTokenError,
        errors.DisallowedSpecialTokenError,
        errors.TokenizerFileError,
        errors.DatasetFormatError,
        errors.TextInputError,
    ],
)
def test_every_value_error_is_a_tokprep_value_error(cls):
    assert issubclass(cls, errors.TokprepValueError)
    assert issubclass(cls, ValueError)
    assert issubclass(cls, errors.TokprepError)


def test_lookup_errors_are_also_key_errors_with_readable_messages():
    assert issubclass(errors.UnknownTokenError, KeyError)
    assert issubclass(errors.InvalidTokenError, KeyError)
    e = errors.InvalidTokenError("token ID 7 is not in this vocabulary", 7)
    # KeyError would print the message in quotes; tokprep's errors print it as written.
    assert str(e) == "token ID 7 is not in this vocabulary"
    assert e.token == 7


def test_require_int():
    assert errors.require_int("stride", 3, minimum=1) == 3
    for bad in (True, 1.0, "3", None):
        with pytest.raises(TypeError, match="stride must be an int"):
            errors.require_int("stride", bad)
    with pytest.raises(errors.ArgumentValueError, match=r"stride must be >= 1, got 0\. use 1"):
        errors.require_int("stride", 0, minimum=1, hint="use 1")
