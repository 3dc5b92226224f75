"""tokprep.embeddings: the textbook's layers and numbers, sinusoidal and rotary positions, and
every error with its message."""

from __future__ import annotations

import io
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from tokprep.demo import run_demo
from tokprep.embeddings import (
    GPTEmbedding,
    SinusoidalPositionalEncoding,
    apply_rope,
    as_index_tensor,
    check_ids,
    sinusoidal_table,
)
from tokprep.errors import ArgumentValueError, TokprepValueError

# The textbook (ch. 2): torch.manual_seed(123); nn.Embedding(6, 3) looked up at [2, 3, 5, 1].
TEXTBOOK_ROWS = [
    [1.2753, -0.2010, -0.1606],
    [-0.4015, 0.9666, -1.1481],
    [-2.8400, -0.7849, -1.4096],
    [0.9178, 1.5810, 1.3010],
]

# --- the textbook's layers ------------------------------------------------------------------


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_textbook_seeded_example(positional):
    torch.manual_seed(123)
    layer = GPTEmbedding(6, 3, 4, positional=positional)
    rows = layer.tok_emb(torch.tensor([2, 3, 5, 1]))
    torch.testing.assert_close(rows, torch.tensor(TEXTBOOK_ROWS), atol=5e-5, rtol=0)
    if positional == "none":  # nothing is added: forward is the bare lookup
        torch.testing.assert_close(layer(torch.tensor([2, 3, 5, 1])), rows, atol=0, rtol=0)


def test_token_table_is_drawn_before_the_positional_table():
    # The textbook creates nn.Embedding(vocab, dim), then nn.Embedding(context, dim).
    torch.manual_seed(123)
    tok, pos = torch.nn.Embedding(50, 8), torch.nn.Embedding(5, 8)
    torch.manual_seed(123)
    layer = GPTEmbedding(50, 8, 5)
    assert torch.equal(layer.tok_emb.weight, tok.weight)
    assert torch.equal(layer.pos_emb.weight, pos.weight)
    assert sorted(layer.state_dict()) == ["pos_emb.weight", "tok_emb.weight"]


def test_textbook_shapes():
    # vocab 50,257, 256 dimensions, a batch of 8 x 4 IDs (max_length 4).
    torch.manual_seed(123)
    layer = GPTEmbedding(50257, 256, 4)
    inputs = torch.randint(50257, (8, 4))
    positions = layer.pos_emb(torch.arange(4))
    out = layer(inputs)
    assert layer.tok_emb(inputs).shape == (8, 4, 256)
    assert positions.shape == (4, 256)
    assert out.shape == (8, 4, 256)
    torch.testing.assert_close(out, layer.tok_emb(inputs) + positions, atol=0, rtol=0)
    assert layer(inputs[0]).shape == (4, 256)  # (T,) -> (T, emb_dim)
    torch.testing.assert_close(layer(inputs[3]), out[3], atol=0, rtol=0)


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
def test_lookup_equals_one_hot_matmul(positional):
    torch.manual_seed(0)
    layer = GPTEmbedding(11, 5, 7, positional=positional).double()
    ids = torch.tensor([[0, 10, 3, 3, 7], [1, 2, 9, 10, 0]])
    one_hot = torch.nn.functional.one_hot(ids, 11).double()
    expected = one_hot @ layer.tok_emb.weight
    if positional == "learned":
        expected = expected + layer.pos_emb.weight[:5]
    elif positional == "sinusoidal":
        expected = expected + sinusoidal_table(7, 5).double()[:5]
    torch.testing.assert_close(layer(ids), expected, atol=1e-6, rtol=0)


def test_gradients_reach_both_tables():
    torch.manual_seed(0)
    layer = GPTEmbedding(10, 4, 6)
    ids = torch.tensor([[1, 1, 2], [7, 1, 0]])
    layer(ids).sum().backward()
    # d(sum)/d(row) is how often the row was used: token 1 three times, position 0 twice.
    token_counts = torch.bincount(ids.flatten(), minlength=10).float()
    position_counts = torch.tensor([2.0, 2.0, 2.0, 0.0, 0.0, 0.0])
    assert torch.equal(layer.tok_emb.weight.grad, token_counts[:, None].expand(10, 4))
    assert torch.equal(layer.pos_emb.weight.grad, position_counts[:, None].expand(6, 4))


def test_sinusoidal_positions_have_no_parameters_and_follow_dtype():
    layer = GPTEmbedding(10, 4, 6, positional="sinusoidal")
    assert [name for name, _ in layer.named_parameters()] == ["tok_emb.weight"]
    assert list(layer.state_dict()) == ["tok_emb.weight"]
    wide = layer.to(torch.float64)
    assert wide.pos_emb.table.dtype == torch.float64
    assert wide(torch.tensor([1, 2])).dtype == torch.float64


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    layer = GPTEmbedding(10, 64, 8, dropout=0.5)
    ids = torch.arange(8)
    layer.train()
    assert (layer(ids) == 0).float().mean() > 0.3
    layer.eval()
    expected = layer.tok_emb(ids) + layer.pos_emb(ids)
    torch.testing.assert_close(layer(ids), expected, atol=0, rtol=0)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.uint16, torch.int32, torch.uint32]
)
def test_narrow_integer_ids_are_widened(dtype):
    torch.manual_seed(0)
    layer = GPTEmbedding(200, 4, 8)
    ids = torch.tensor([[0, 5, 127], [99, 3, 1]])
    torch.testing.assert_close(layer(ids.to(dtype)), layer(ids), atol=0, rtol=0)
    assert as_index_tensor(ids.to(dtype)).dtype in (torch.int64, torch.int32)


def test_empty_input():
    layer = GPTEmbedding(10, 4, 6)
    assert layer(torch.zeros(0, dtype=torch.long)).shape == (0, 4)
    assert layer(torch.zeros(3, 0, dtype=torch.long)).shape == (3, 0, 4)


def test_gpt2_small_sizes_run():
    torch.manual_seed(0)
    layer = GPTEmbedding(50257, 768, 1024)
    assert sum(p.numel() for p in layer.parameters()) == 50257 * 768 + 1024 * 768
    ids = torch.randint(50257, (2, 1024))
    ids[0, 0], ids[1, -1] = 0, 50256  # both ends of the vocabulary
    with torch.no_grad():
        out = layer(ids)
    assert out.shape == (2, 1024, 768)
    torch.testing.assert_close(out[1, -1], layer.tok_emb.weight[50256] + layer.pos_emb.weight[-1])


def test_same_seed_same_output():
    def run() -> torch.Tensor:
        torch.manual_seed(7)
        return GPTEmbedding(100, 8, 16, dropout=0.1)(torch.arange(16))

    assert torch.equal(run(), run())


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "fragments"),
    [
        (
            torch.tensor([[1, 2, 3], [4, 50257, 0]]),
            ["token ID 50257 at ids[1, 1]", "vocabulary of 50,257 tokens", "0..50256"],
        ),
        (torch.tensor([5, -1, 7]), ["token ID -1 at ids[1]", "vocabulary of 50,257 tokens"]),
        (
            torch.tensor([[60000, 1, 70000]], dtype=torch.int32),
            ["token ID 60000 at ids[0, 0]", "2 entries of ids are out of range"],
        ),
        (torch.tensor([65535], dtype=torch.uint16), ["token ID 65535 at ids[0]"]),
    ],
)
def test_bad_id_names_id_position_and_vocab_size(ids, fragments):
    layer = GPTEmbedding(50257, 4, 8)
    with pytest.raises(ArgumentValueError) as info:
        layer(ids)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert "tokenizer's n_vocab" in message  # the usual cause, and its fix
    assert isinstance(info.value, ValueError) and isinstance(info.value, TokprepValueError)


def test_check_ids_on_its_own():
    check_ids(torch.tensor([0, 9]), 10)
    with pytest.raises(ValueError, match=r"token ID 10 at tokens\[2\]"):
        check_ids(torch.tensor([0, 9, 10]), 10, name="tokens")


def test_too_long_sequence_names_both_lengths():
    layer = GPTEmbedding(100, 4, 1024)
    with pytest.raises(ArgumentValueError) as info:
        layer(torch.zeros(2, 1025, dtype=torch.long))
    message = str(info.value)
    assert "sequence length 1,025" in message and "context_length 1,024" in message
    assert "max_length" in message


@pytest.mark.parametrize("positional", ["sinusoidal", "none"])
def test_context_length_applies_to_every_positional_kind(positional):
    with pytest.raises(ArgumentValueError, match="longer than context_length 4"):
        GPTEmbedding(10, 2, 4, positional=positional)(torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize(
    ("ids", "fragment"),
    [
        (torch.tensor([1.0, 2.0]), "got dtype torch.float32: convert with ids.long()"),
        (torch.tensor([1, 2], dtype=torch.float16), "torch.float16"),
        (torch.tensor([True, False]), "torch.bool: a bool tensor looks like a mask"),
        (torch.tensor([1, 2], dtype=torch.uint64), "torch.uint64"),
        ([1, 2, 3], "must be a torch.Tensor of integer token IDs, got list"),
    ],
)
def test_wrong_id_types_are_type_errors(ids, fragment):
    with pytest.raises(TypeError) as info:
        GPTEmbedding(10, 2, 4)(ids)
    assert fragment in str(info.value)


def test_ids_of_three_dimensions():
    with pytest.raises(ArgumentValueError, match=r"shape \(T,\) or \(B, T\), got \(1, 2, 3\)"):
        GPTEmbedding(10, 2, 4)(torch.zeros(1, 2, 3, dtype=torch.long))


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"vocab_size": 0}, ArgumentValueError, "vocab_size must be >= 1, got 0"),
        ({"vocab_size": 10.0}, TypeError, "vocab_size must be an int"),
        ({"emb_dim": -3}, ArgumentValueError, "emb_dim must be >= 1, got -3"),
        ({"context_length": 0}, ArgumentValueError, "context_length must be >= 1"),
        ({"positional": "rope"}, ArgumentValueError, "'learned', 'sinusoidal', 'none'"),
        ({"positional": None}, TypeError, "positional must be a str"),
        ({"dropout": 1.5}, ArgumentValueError, "in [0, 1], got 1.5"),
        ({"dropout": True}, TypeError, "dropout must be a float"),
    ],
)
def test_constructor_errors(kwargs, error, fragment):
    args = {"vocab_size": 10, "emb_dim": 4, "context_length": 8, **kwargs}
    with pytest.raises(error) as info:
        GPTEmbedding(**args)
    assert fragment in str(info.value)


def test_validate_false_skips_only_the_range_check():
    layer = GPTEmbedding(10, 2, 4, validate=False)
    assert "validate=False" in repr(layer)
    checked = GPTEmbedding(10, 2, 4)
    layer.load_state_dict(checked.state_dict())
    torch.testing.assert_close(layer(torch.tensor([3, 9])), checked(torch.tensor([3, 9])))
    with pytest.raises(IndexError):  # PyTorch's own error: nothing checked before the lookup
        layer(torch.tensor([3, 10]))
    with pytest.raises(ArgumentValueError):  # the length is still checked: it is free
        layer(torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError):
        layer(torch.tensor([1.0]))


# --- sinusoidal positions --------------------------------------------------------------------


@pytest.mark.parametrize(("context_length", "emb_dim"), [(1024, 768), (50, 7), (3, 1)])
def test_sinusoidal_values_equal_the_formula(context_length, emb_dim):
    pe = SinusoidalPositionalEncoding(context_length, emb_dim)
    table = pe(torch.arange(context_length))
    assert table.shape == (context_length, emb_dim) and table.dtype == torch.float32
    for pos in {0, 1, 2, context_length // 3, context_length - 1}:
        for j in {j for j in (0, 1, emb_dim // 2, emb_dim - 2, emb_dim - 1) if 0 <= j < emb_dim}:
            i = j // 2
            angle = pos / 10000 ** (2 * i / emb_dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert abs(table[pos, j].item() - expected) <= 1e-6, (pos, j)


def test_sinusoidal_layer_lookups_and_position_errors():
    pe = SinusoidalPositionalEncoding(8, 4)
    torch.testing.assert_close(pe(torch.tensor([[3, 0]])), pe.table[[3, 0]][None])
    assert pe(torch.arange(4)).shape == (4, 4)
    with pytest.raises(ArgumentValueError) as info:
        pe(torch.tensor([0, 8]))
    assert "position 8 at positions[1]" in str(info.value)
    assert "8 positions (context_length)" in str(info.value)
    with pytest.raises(TypeError):
        pe(torch.tensor([0.5]))


# --- rotary positions --------------------------------------------------------------------------


def _rope_reference(x: torch.Tensor, positions: list[int], base: float = 10000.0) -> torch.Tensor:
    """RoPE as complex multiplication: pair (x[i], x[i + D/2]) as a + bi, times e^(i m theta_i)."""
    half = x.shape[-1] // 2
    theta = base ** (-torch.arange(half, dtype=torch.float64) * 2 / x.shape[-1])
    z = torch.complex(x[..., :half].double(), x[..., half:].double())
    z = z * torch.polar(
        torch.ones((), dtype=torch.float64), torch.tensor(positions).double()[:, None] * theta
    )
    return torch.cat((z.real, z.imag), dim=-1)


def test_rope_matches_the_complex_form_and_the_rotate_half_layout():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64)
    torch.testing.assert_close(apply_rope(x), _rope_reference(x, list(range(5))))
    # Rotate-half pairing, written out for D = 4 at position 1 (theta_0 = 1, theta_1 = 0.01).
    v = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    c0, s0, c1, s1 = math.cos(1), math.sin(1), math.cos(0.01), math.sin(0.01)
    expected = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1]
    torch.testing.assert_close(apply_rope(v, [1])[0], torch.tensor(expected, dtype=torch.float64))
    # Position 0 is the identity.
    torch.testing.assert_close(apply_rope(v, [0]), v, atol=0, rtol=0)


def test_rope_positions_as_tensor_offset_and_per_sequence():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 16)  # (B, heads, T, D)
    offset = apply_rope(x, torch.arange(10, 16))
    torch.testing.assert_close(offset, apply_rope(x, list(range(10, 16))))
    expected = _rope_reference(x, list(range(10, 16)))
    torch.testing.assert_close(offset.double(), expected, atol=1e-5, rtol=1e-5)
    per_sequence = torch.stack((torch.arange(6), torch.arange(100, 106)))[:, None, :]
    out = apply_rope(x, per_sequence)
    torch.testing.assert_close(out[0], apply_rope(x[0]))
    torch.testing.assert_close(out[1], apply_rope(x[1], torch.arange(100, 106)))
    torch.testing.assert_close(apply_rope(x, base=500000.0)[:, :, 0], x[:, :, 0])


def test_rope_keeps_dtype_and_computes_in_float32():
    torch.manual_seed(0)
    x = torch.randn(64, 32)
    positions = torch.arange(1000, 1064)
    out16 = apply_rope(x.to(torch.bfloat16), positions)
    assert out16.dtype == torch.bfloat16
    # Only the input/output rounding of bfloat16 remains: angles were not computed in bf16.
    reference = apply_rope(x.to(torch.bfloat16).float(), positions)
    torch.testing.assert_close(out16.float(), reference, atol=0.05, rtol=0.02)


def test_rope_preserves_norms():
    torch.manual_seed(0)
    x = torch.randn(3, 128, 64)
    out = apply_rope(x, torch.randint(0, 100_000, (128,)))
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1), atol=1e-4, rtol=1e-5)


@given(
    m=st.integers(0, 4096),
    n=st.integers(0, 4096),
    shift=st.integers(-4096, 4096),
    half=st.integers(1, 32),
    seed=st.integers(0, 2**16),
)
def test_rope_dot_product_depends_only_on_the_offset(m, n, shift, half, seed):
    generator = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, 2 * half, dtype=torch.float64, generator=generator)
    m2, n2 = m + shift, n + shift  # the same distance m - n, anywhere (even negative)
    score = (apply_rope(q, [m]) * apply_rope(k, [n])).sum()
    moved = (apply_rope(q, [m2]) * apply_rope(k, [n2])).sum()
    assert abs(score - moved) <= 1e-9 * (1 + q.norm() * k.norm())
    q_norm = apply_rope(q, [m]).norm()
    assert abs(q_norm - q.norm()) <= 1e-12 * (1 + q.norm())


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "fragment"),
    [
        ((torch.zeros(4, 5),), {}, ArgumentValueError, "must be even"),
        ((torch.zeros(4, 6, dtype=torch.long),), {}, TypeError, "floating-point"),
        ((torch.zeros(6),), {}, ArgumentValueError, "(..., T, D), got (6,)"),
        ((torch.zeros(4, 6), [0, 1, 2]), {}, ArgumentValueError, "positions of shape (3,)"),
        ((torch.zeros(4, 6), torch.ones(4, dtype=torch.bool)), {}, TypeError, "torch.bool"),
        ((torch.zeros(4, 6),), {"base": 0.5}, ArgumentValueError, "base must be"),
        (([[0.0, 1.0]],), {}, TypeError, "x must be a torch.Tensor"),
    ],
)
def test_rope_errors(args, kwargs, error, fragment):
    with pytest.raises(error) as info:
        apply_rope(*args, **kwargs)
    assert fragment in str(info.value)


# --- CUDA ----------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_parity_and_named_errors():
    torch.manual_seed(0)
    layer = GPTEmbedding(50257, 768, 1024, positional="learned")
    ids = torch.randint(50257, (4, 1024))
    expected = layer(ids)
    gpu = layer.to("cuda")
    torch.testing.assert_close(gpu(ids.cuda()).cpu(), expected, atol=0, rtol=0)
    gpu.validate = False
    torch.testing.assert_close(gpu(ids.cuda()).cpu(), expected, atol=0, rtol=0)
    gpu.validate = True
    bad = ids.clone()
    bad[2, 17] = 50257
    with pytest.raises(ArgumentValueError, match=r"token ID 50257 at ids\[2, 17\]"):
        gpu(bad.cuda())
    x = torch.randn(2, 4, 16, 64)
    torch.testing.assert_close(apply_rope(x.cuda()).cpu(), apply_rope(x), atol=1e-5, rtol=1e-5)
    pe = SinusoidalPositionalEncoding(1024, 768).cuda()
    torch.testing.assert_close(pe(torch.arange(1024, device="cuda")).cpu(), pe.table.cpu())


# --- demo ----------------------------------------------------------------------------------


def test_demo_prints_the_textbook_embedding_shapes():
    out = io.StringIO()
    run_demo(out=out)
    text = out.getvalue()
    assert "torch.Size([8, 4, 256])" in text
    assert "torch.Size([4, 256])" in text
    assert "token ID 50257 at ids[0, 0]" in text
