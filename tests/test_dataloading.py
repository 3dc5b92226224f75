"""GPTDataset and WindowLoader against the textbook's behaviour, re-implemented here as oracles."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, Dataset

from conftest import corpus, corpus_path
from tokprep.dataloading import (
    GPTDataset,
    WindowLoader,
    create_dataloader,
    load_tokens,
    loader_from_tokens,
    prepare,
    torch_dataloader,
)
from tokprep.errors import ArgumentValueError

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


class ListOfWindows(Dataset):
    """The oracle: the textbook's GPTDatasetV1 rule, one pair of tensors stored per window."""

    def __init__(self, ids: list[int], max_length: int, stride: int) -> None:
        self.inputs, self.targets = [], []
        for start in range(0, len(ids) - max_length, stride):
            self.inputs.append(torch.tensor(ids[start : start + max_length]))
            self.targets.append(torch.tensor(ids[start + 1 : start + max_length + 1]))

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[i], self.targets[i]


def textbook_loader(ids, batch_size, max_length, stride, shuffle, drop_last=True):
    return DataLoader(
        ListOfWindows(ids, max_length, stride),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=0,
    )


def assert_same_batches(ours, theirs) -> None:
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        assert x.dtype == y.dtype == torch.long
        assert x.is_contiguous() and y.is_contiguous()
        assert torch.equal(x, tx) and torch.equal(y, ty)


@pytest.fixture(scope="module")
def story_ids() -> list[int]:
    from tokprep.bpe import tiktoken_gpt2

    return tiktoken_gpt2().encode(corpus("the-verdict"), allowed_special={"<|endoftext|>"})


# --- GPTDataset is the textbook's windows ------------------------------------------------------


@given(
    ids=st.lists(st.integers(0, 50_000), min_size=0, max_size=120),
    max_length=st.integers(1, 20),
    stride=st.integers(1, 25),
    kind=st.sampled_from(["list", "tensor", "uint16", "int32"]),
)
def test_windows_equal_the_oracle(ids, max_length, stride, kind):
    source = {
        "list": ids,
        "tensor": torch.tensor(ids, dtype=torch.long),
        "uint16": np.array(ids, dtype=np.uint16),
        "int32": np.array(ids, dtype=np.int32),
    }[kind]
    if len(ids) < max_length + 1:
        with pytest.raises(ArgumentValueError, match=f"max_length \\+ 1 = {max_length + 1}"):
            GPTDataset(source, max_length, stride)
        return
    dataset = GPTDataset(source, max_length, stride)
    oracle = ListOfWindows(ids, max_length, stride)
    assert len(dataset) == len(oracle)
    for i in [*range(len(oracle)), -1]:
        x, y = dataset[i]
        assert x.dtype == torch.long
        assert torch.equal(x, oracle[i][0]) and torch.equal(y, oracle[i][1])
    everything = list(range(len(oracle)))[::-1]
    x, y = dataset.batch(everything)
    assert torch.equal(x, torch.stack([oracle[i][0] for i in everything]))
    assert torch.equal(y, torch.stack([oracle[i][1] for i in everything]))


def test_items_are_copies_not_views_of_the_tokens():
    tokens = torch.arange(10)
    x, _ = GPTDataset(tokens, 4, 2)[0]
    x += 100
    assert tokens[0] == 0


def test_index_errors():
    dataset = GPTDataset(list(range(10)), 4, 3)  # windows at 0 and 3
    assert len(dataset) == 2
    with pytest.raises(IndexError, match="out of range for 2 windows"):
        dataset[2]
    with pytest.raises(IndexError, match=r"0\.\.1"):
        dataset.batch([0, 5])


@pytest.mark.parametrize(
    ("max_length", "stride", "error", "match"),
    [
        (0, 1, ArgumentValueError, "max_length must be >= 1, got 0"),
        (4, 0, ArgumentValueError, "stride must be >= 1, got 0"),
        (4, -2, ArgumentValueError, "stride must be >= 1, got -2"),
        (2.5, 1, TypeError, "max_length must be an int"),
        (20, 1, ArgumentValueError, "10 tokens, fewer than max_length \\+ 1 = 21"),
    ],
)
def test_bad_arguments_are_named(max_length, stride, error, match):
    with pytest.raises(error, match=match):
        GPTDataset(list(range(10)), max_length, stride)


def test_bad_token_arrays():
    with pytest.raises(TypeError, match="integers"):
        GPTDataset(np.zeros(10, dtype=np.float32), 2, 1)
    with pytest.raises(ArgumentValueError, match="1-D"):
        GPTDataset(torch.zeros(2, 10, dtype=torch.long), 2, 1)
    with pytest.raises(TypeError, match="token_ids must be"):
        GPTDataset("not tokens", 2, 1)


# --- the textbook's batches, in its order -------------------------------------------------------


def test_first_batch_of_the_story(story_ids):
    loader = create_dataloader(
        corpus("the-verdict"), batch_size=8, max_length=4, stride=4, shuffle=False
    )
    inputs, targets = next(iter(loader))
    assert inputs[:3].tolist() == [
        [40, 367, 2885, 1464],
        [1807, 3619, 402, 271],
        [10899, 2138, 257, 7026],
    ]
    assert targets[0].tolist() == [367, 2885, 1464, 1807]
    assert inputs.shape == targets.shape == (8, 4)
    assert len(loader) == len(textbook_loader(story_ids, 8, 4, 4, shuffle=False))


@pytest.mark.parametrize(
    ("batch_size", "max_length", "stride"), [(8, 4, 4), (4, 256, 128), (3, 7, 1), (5, 16, 20)]
)
@pytest.mark.parametrize("drop_last", [True, False])
def test_unshuffled_batches_equal_the_textbook(
    story_ids, batch_size, max_length, stride, drop_last
):
    ours = create_dataloader(
        corpus("the-verdict"), batch_size, max_length, stride, shuffle=False, drop_last=drop_last
    )
    theirs = textbook_loader(story_ids, batch_size, max_length, stride, False, drop_last)
    assert_same_batches(ours, theirs)


@pytest.mark.parametrize(
    ("batch_size", "max_length", "stride"), [(8, 4, 4), (4, 256, 128), (2, 32, 3)]
)
def test_shuffled_batches_and_rng_equal_the_textbook(story_ids, batch_size, max_length, stride):
    torch.manual_seed(123)
    theirs = textbook_loader(story_ids, batch_size, max_length, stride, shuffle=True)
    expected = [list(theirs), list(theirs)]  # two epochs: two draws each from the global RNG
    after_textbook = torch.rand(4)
    torch.manual_seed(123)
    ours = create_dataloader(corpus("the-verdict"), batch_size, max_length, stride)
    for epoch in expected:
        assert_same_batches(ours, epoch)
    assert torch.equal(torch.rand(4), after_textbook)  # the global RNG is where it would be


def test_rng_stream_matches_even_unshuffled(story_ids):
    torch.manual_seed(7)
    list(textbook_loader(story_ids, 8, 4, 4, shuffle=False))
    after_textbook = torch.rand(3)
    torch.manual_seed(7)
    list(create_dataloader(corpus("the-verdict"), 8, 4, 4, shuffle=False))
    assert torch.equal(torch.rand(3), after_textbook)


def test_gpt_dataset_inside_a_plain_torch_dataloader(story_ids):
    dataset = GPTDataset(story_ids, 32, 16)
    assert hasattr(dataset, "__getitems__")
    torch.manual_seed(5)
    theirs = list(textbook_loader(story_ids, 6, 32, 16, shuffle=True))
    torch.manual_seed(5)
    ours = list(DataLoader(dataset, batch_size=6, shuffle=True, drop_last=True))
    assert_same_batches(ours, theirs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_plain_dataloader_fetching_whole_batches(story_ids, shuffle):
    dataset = GPTDataset(story_ids, 16, 8)
    x, _ = dataset[[3, 1, 2]]
    assert torch.equal(x, torch.stack([dataset[i][0] for i in (3, 1, 2)]))
    torch.manual_seed(8)
    theirs = list(textbook_loader(story_ids, 5, 16, 8, shuffle=shuffle))
    torch.manual_seed(8)
    loader = torch_dataloader(dataset, 5, shuffle=shuffle)
    assert isinstance(loader, DataLoader)
    assert_same_batches(loader, theirs)


@given(
    n=st.integers(2, 200),
    max_length=st.integers(1, 12),
    stride=st.integers(1, 15),
    batch_size=st.integers(1, 9),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=100)
def test_loader_equals_textbook_loader(n, max_length, stride, batch_size, drop_last, shuffle, seed):
    ids = [(i * 7919) % 50257 for i in range(n)]
    if n < max_length + 1:
        return
    windows = len(range(0, n - max_length, stride))
    if drop_last and windows < batch_size:
        with pytest.raises(ArgumentValueError, match="would yield no batch"):
            loader_from_tokens(ids, max_length=max_length, stride=stride, batch_size=batch_size)
        return
    ours = loader_from_tokens(
        ids,
        max_length=max_length,
        stride=stride,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
    )
    torch.manual_seed(seed)
    theirs = list(textbook_loader(ids, batch_size, max_length, stride, shuffle, drop_last))
    torch.manual_seed(seed)
    assert len(ours) == len(theirs)
    assert_same_batches(ours, theirs)


def test_allowed_special_like_the_textbook():
    text = "Hello.<|endoftext|>" * 20
    with_eot = create_dataloader(text, 2, 4, 4, shuffle=False)
    assert 50256 in with_eot.dataset.tokens.tolist()
    ordinary = create_dataloader(text, 2, 4, 4, shuffle=False, allowed_special=set())
    assert 50256 not in ordinary.dataset.tokens.tolist()
    assert ordinary.dataset.tokens.numel() > with_eot.dataset.tokens.numel()


# --- errors -------------------------------------------------------------------------------------


def test_a_loader_without_batches_is_an_error():
    with pytest.raises(ArgumentValueError, match=r"no batch: 2 windows.*batch_size=8") as e:
        create_dataloader("one two three four five six seven", 8, 4, 2, shuffle=False)
    assert "drop_last=False" in str(e.value)
    loader = create_dataloader("one two three four five six seven", 8, 4, 2, drop_last=False)
    assert len(loader) == 1


def test_loader_argument_errors():
    dataset = GPTDataset(list(range(50)), 4, 4)
    with pytest.raises(ArgumentValueError, match="batch_size must be >= 1"):
        WindowLoader(dataset, batch_size=0)
    with pytest.raises(ArgumentValueError, match="rank=2 must be < world_size=2"):
        WindowLoader(dataset, rank=2, world_size=2, seed=0)
    with pytest.raises(ArgumentValueError, match="needs seed"):
        WindowLoader(dataset, world_size=2)
    with pytest.raises(TypeError, match="GPTDataset"):
        WindowLoader(list(range(50)))


def test_ids_are_range_checked_once_on_the_host():
    with pytest.raises(ArgumentValueError, match=r"token ID 60000 .* >= n_vocab=50257"):
        WindowLoader(GPTDataset([1, 2, 60000, 4, 5], 2, 1), batch_size=1, n_vocab=50257)
    with pytest.raises(ArgumentValueError, match="token ID -3 at position 1 is negative"):
        WindowLoader(GPTDataset([1, -3, 2, 4, 5], 2, 1), batch_size=1)


def test_pin_memory_without_an_accelerator_warns_and_still_works():
    if torch.cuda.is_available():
        pytest.skip("an accelerator is present")
    with pytest.warns(UserWarning, match="no accelerator"):
        loader = loader_from_tokens(
            list(range(40)), max_length=4, stride=4, batch_size=2, pin_memory=True, shuffle=False
        )
    assert next(iter(loader))[0].tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]


# --- seeds, epochs, resume ----------------------------------------------------------------------


def _loader(**options):
    ids = [(i * 31) % 1000 for i in range(2000)]
    defaults = {"max_length": 16, "stride": 8, "batch_size": 7}
    return loader_from_tokens(ids, **{**defaults, **options})


def test_seeded_order_is_repeatable_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    first = list(_loader(seed=42))
    assert torch.equal(torch.get_rng_state(), before)
    assert_same_batches(_loader(seed=42), first)
    other = _loader(seed=42)
    other.set_epoch(1)
    second = list(other)
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, second, strict=True))
    g = torch.Generator().manual_seed(43)  # DistributedSampler's rule: seed + epoch
    assert other.order().tolist() == torch.randperm(len(other.dataset), generator=g).tolist()


@pytest.mark.parametrize("n", [1, 2, 17, 1000, 65537, 338_025])
def test_int32_permutations_equal_torchs_int64_ones(n):
    # The loader keeps its order as int32; RandomSampler draws int64.
    for seed in (0, 123, 2**40 + 7):
        wide = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        narrow = torch.randperm(n, generator=torch.Generator().manual_seed(seed), dtype=torch.int32)
        assert torch.equal(wide, narrow.long())


@pytest.mark.parametrize("seed", [None, 11])
@pytest.mark.parametrize("stop", [0, 1, 5, 20, 35])
def test_resume_gives_exactly_the_remaining_batches(seed, stop):
    torch.manual_seed(99)
    full = list(_loader(seed=seed))
    assert len(full) == 35
    torch.manual_seed(99)
    first = _loader(seed=seed)
    iterator = iter(first)
    for _ in range(stop):
        next(iterator)
    state = first.state_dict()
    assert state["batches"] == stop
    resumed = _loader(seed=seed)
    torch.manual_seed(1234)  # a resumed run's RNG is elsewhere: the state alone decides
    resumed.load_state_dict(state)
    assert_same_batches(resumed, full[stop:])


def test_state_from_another_loader_is_refused():
    state = _loader(seed=1).state_dict()
    with pytest.raises(ArgumentValueError, match="batch_size=7 but this loader has batch_size=8"):
        _loader(seed=1, batch_size=8).load_state_dict(state)


def test_worker_processes_give_the_same_batches():
    assert_same_batches(_loader(seed=3, num_workers=2), list(_loader(seed=3)))


# --- sharding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("shuffle", [False, True])
def test_shards_cover_every_window_once(world_size, shuffle):
    # 48 windows: divisible by every world size here, so nothing is padded or dropped.
    ids = list(range(49 * 2))
    seen: list[int] = []
    counts = set()
    for rank in range(world_size):
        loader = loader_from_tokens(
            ids,
            max_length=2,
            stride=2,
            batch_size=4,
            shuffle=shuffle,
            drop_last=False,
            seed=5,
            rank=rank,
            world_size=world_size,
        )
        batches = list(loader)
        counts.add(len(batches))
        seen += [int(x[0]) // 2 for batch, _ in batches for x in batch]
    assert len(counts) == 1
    assert sorted(seen) == list(range(48))


@pytest.mark.parametrize("drop_last", [True, False])
def test_uneven_shards_get_equal_batch_counts(drop_last):
    ids = list(range(51))  # 50 windows of 1 over 4 ranks
    per_rank = []
    for rank in range(4):
        loader = loader_from_tokens(
            ids,
            max_length=1,
            stride=1,
            batch_size=3,
            seed=0,
            drop_last=drop_last,
            rank=rank,
            world_size=4,
        )
        per_rank.append([int(v) for x, _ in loader for v in x[:, 0]])
    assert len({len(p) for p in per_rank}) == 1
    flat = [v for p in per_rank for v in p]
    if drop_last:  # 12 windows per rank, 4 batches of 3; the 2 left over are dropped
        assert len(flat) == len(set(flat)) == 48
    else:  # 13 per rank: 2 windows padded by wrapping around, every window at least once
        assert len(flat) == 52 and set(flat) == set(range(50))


# --- token files, nanoGPT's random batches, devices ---------------------------------------------


def test_loader_over_a_memory_mapped_token_file(tmp_path, story_ids):
    out = tmp_path / "story.bin"
    prepare([corpus_path("the-verdict")], out, progress=False)
    tokens = load_tokens(out)
    assert tokens.dtype == np.uint16
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no read-only-array warning from torch
        dataset = GPTDataset(tokens, 64, 32)
    assert torch.equal(dataset.tokens[1:].long(), torch.tensor(story_ids))  # [0] is the EOT
    ours = WindowLoader(dataset, batch_size=4, shuffle=False, n_vocab=50257)
    theirs = textbook_loader(tokens.tolist(), 4, 64, 32, shuffle=False)
    assert_same_batches(ours, theirs)


def test_random_batch_is_nanogpts_get_batch():
    data = np.array([(i * 13) % 50257 for i in range(1000)], dtype=np.uint16)
    torch.manual_seed(1337)
    ix = torch.randint(len(data) - 8, (4,))
    x = torch.stack([torch.from_numpy(data[i : i + 8].astype(np.int64)) for i in ix])
    y = torch.stack([torch.from_numpy(data[i + 1 : i + 9].astype(np.int64)) for i in ix])
    torch.manual_seed(1337)
    inputs, targets = GPTDataset(data, 8, 100).random_batch(4)
    assert torch.equal(inputs, x) and torch.equal(targets, y)
    loader = WindowLoader(GPTDataset(data, 8, 100), batch_size=4)
    inputs, _ = loader.random_batch(generator=torch.Generator().manual_seed(1))
    assert inputs.shape == (4, 8)


@pytest.mark.cuda
@CUDA
@pytest.mark.parametrize("on_device", [True, False])
def test_cuda_batches_equal_cpu_batches(story_ids, on_device):
    tokens = np.array(story_ids, dtype=np.uint16)
    cpu = loader_from_tokens(tokens, max_length=32, stride=16, batch_size=8, seed=3)
    gpu = loader_from_tokens(
        tokens,
        max_length=32,
        stride=16,
        batch_size=8,
        seed=3,
        device="cuda",
        tokens_on_device=on_device,
        n_vocab=50257,
    )
    for (x, y), (gx, gy) in zip(cpu, gpu, strict=True):
        assert gx.device.type == "cuda" and gx.dtype == torch.long
        assert torch.equal(gx.cpu(), x) and torch.equal(gy.cpu(), y)
    assert gpu.random_batch()[0].device.type == "cuda"
