"""The playground's JSON API against a real server on a free loopback port."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from serve_helpers import request, running_server

from conftest import corpus
from tokprep import load_tokenizer
from tokprep.serve import Limits
from tokprep.serve.playground import Playground, divergent_segments, shown_bytes

TEXTS = [
    "Hello, world!",
    "The Verdict: <script>alert(1)</script> &amp; &lt;",
    "emoji 👍🏽 and 日本語 and caf\u00e9\n\n\tindent",
    "numbers 12345 and 3.14159",
    "",
]


@pytest.fixture(scope="module")
def server():
    with running_server() as server:
        yield server


def utf16_slice(text: str, start: int, end: int) -> str:
    data = text.encode("utf-16-le")
    return data[2 * start : 2 * end].decode("utf-16-le")


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base"])
@pytest.mark.parametrize("text", TEXTS)
def test_encode_equals_the_library_and_spans_cover_the_text(server, name, text) -> None:
    status, view = request(server, "POST", "/api/encode", {"tokenizer": name, "text": text})
    assert status == 200, view
    tokenizer = load_tokenizer(name)
    assert view["ids"] == tokenizer.encode_ordinary(text)
    assert view["tokens"] == len(view["ids"])
    assert view["characters"] == len(text) and view["bytes"] == len(text.encode())
    # The spans (UTF-16 units, as the page slices) are contiguous and spell the text.
    assert (
        "".join(utf16_slice(text, s, e) for s, e in zip(view["starts"], view["ends"], strict=True))
        == text
    )
    assert all(s <= e for s, e in zip(view["starts"], view["ends"], strict=True))
    # A token's span holds the characters whose first byte it holds.
    for token, s, e in zip(view["ids"], view["starts"], view["ends"], strict=True):
        data = tokenizer.decode_single_token_bytes(token)
        if data[:1] and (data[0] < 0x80 or data[0] >= 0xC0) and s == e:
            pytest.fail(f"token {data!r} starts a character but has an empty span")


def test_encode_special_tokens_follow_the_checkbox(server) -> None:
    text = "a <|endoftext|> b"
    _, plain = request(server, "POST", "/api/encode", {"tokenizer": "gpt2", "text": text})
    assert 50256 not in plain["ids"]
    _, special = request(
        server, "POST", "/api/encode", {"tokenizer": "gpt2", "text": text, "special": True}
    )
    assert special["ids"] == load_tokenizer("gpt2").encode(text, allowed_special="all")
    assert 50256 in special["ids"]


def test_word_tokenizers_spans_and_named_errors(server) -> None:
    text = "I had always thought Jack Gisburn rather a cheap genius--"
    status, view = request(server, "POST", "/api/encode", {"tokenizer": "words-v2", "text": text})
    assert status == 200
    assert view["ids"] == load_tokenizer("words-v2").encode(text)
    pieces = [text[s:e] for s, e in zip(view["starts"], view["ends"], strict=True)]
    assert pieces[:3] == ["I", "had", "always"] and pieces[-1] == "--"
    # words-v1 has no <|unk|>: an unknown word is the library's UnknownTokenError
    status, error = request(server, "POST", "/api/encode", {"tokenizer": "words-v1", "text": "zyx"})
    assert status == 422 and error["type"] == "UnknownTokenError" and "'zyx'" in error["error"]


def test_token_bytes_and_merge_chain(server) -> None:
    gpt2 = load_tokenizer("gpt2")
    token = gpt2.encode_ordinary(" Hello")[0]
    status, info = request(server, "POST", "/api/token", {"tokenizer": "gpt2", "id": token})
    assert status == 200 and info["shown"] == " Hello" and info["hex"] == "20 48 65 6c 6c 6f"
    ranks = gpt2._mergeable_ranks

    def check(node) -> bytes:
        data = shown_bytes_inverse(node["shown"])
        assert ranks[data] == node["id"]
        if node["parts"] is None:
            assert len(data) == 1
            return data
        left, right = (check(part) for part in node["parts"])
        assert left + right == data
        assert max(ranks[left], ranks[right]) < node["id"]  # parents come first
        return data

    assert check(info["chain"]) == b" Hello"
    # a token that is not whole UTF-8 is shown as bytes, honestly
    partial = gpt2.encode_ordinary("👍")[0]
    _, info = request(server, "POST", "/api/token", {"tokenizer": "gpt2", "id": partial})
    assert info["utf8"].startswith("partial") and "\\x" in info["shown"]


def shown_bytes_inverse(shown: str) -> bytes:
    out, i = bytearray(), 0
    while i < len(shown):
        if shown.startswith("\\x", i):
            out.append(int(shown[i + 2 : i + 4], 16))
            i += 4
        elif shown.startswith("\\n", i):
            out += b"\n"
            i += 2
        else:
            out += shown[i].encode()
            i += 1
    return bytes(out)


def test_shown_bytes() -> None:
    assert shown_bytes(b"a\\b\n\xe2\x80") == "a\\\\b\\n\\xe2\\x80"
    assert shown_bytes(b"<script>&amp;") == "<script>&amp;"


@pytest.mark.parametrize(
    ("ids", "status", "kind"),
    [
        ([15496, 99999999], 422, "InvalidTokenError"),
        ([-1], 422, "InvalidTokenError"),
        (["x"], 400, "TypeError"),
        ([1.5], 400, "TypeError"),
        ("1, 2", 400, "TypeError"),
    ],
)
def test_decode_bad_ids_give_the_library_errors(server, ids, status, kind) -> None:
    got, error = request(server, "POST", "/api/decode", {"tokenizer": "gpt2", "ids": ids})
    assert (got, error["type"]) == (status, kind), error
    if kind == "InvalidTokenError":
        from tokprep.bpe import BPETokenizer
        from tokprep.errors import InvalidTokenError

        with pytest.raises(InvalidTokenError) as library:
            BPETokenizer.gpt2().decode(ids)
        assert error["error"] == str(library.value)


def test_decode_round_trip(server) -> None:
    ids = load_tokenizer("gpt2").encode_ordinary("héllo <b>")
    status, answer = request(server, "POST", "/api/decode", {"tokenizer": "gpt2", "ids": ids})
    assert status == 200 and answer["text"] == "héllo <b>"
    _, words = request(server, "POST", "/api/decode", {"tokenizer": "words-v2", "ids": [5, 5000]})
    assert words["type"] == "InvalidTokenError"


def test_diff_marks_the_planted_divergence(server) -> None:
    text = "Call me Ishmael. Some 12345 years ago"
    status, answer = request(
        server, "POST", "/api/diff", {"candidate": "digits", "reference": "gpt2", "text": text}
    )
    assert status == 200, answer
    # " 12345": GPT-2 cuts " 123" + "45", the candidate one character at a time; both of the
    # stretches between their common cuts are marked, and nothing else.
    segments = answer["segments"]
    assert not answer["same"] and answer["segments_total"] == len(segments) == 2
    assert [text[s["start"] : s["end"]] for s in segments] == [" 123", "45"]
    reference = [t[2] for s in segments for t in s["reference"]]
    assert reference == load_tokenizer("gpt2").encode(" 12345")
    assert [text[a:b] for s in segments for a, b, _ in s["candidate"]] == list(" 12345")
    assert answer["first_index"] == len(load_tokenizer("gpt2").encode("Call me Ishmael. Some"))
    assert "first divergent token: #7, at character 21" in answer["report"]
    assert "in the reference's pre-token: ' 12345'" in answer["report"]
    _, same = request(
        server, "POST", "/api/diff", {"candidate": "digits", "reference": "gpt2", "text": "no"}
    )
    assert same["same"] and same["report"] is None


def test_divergent_segments_by_cuts_only() -> None:
    a = [(0, 1, (b"a", 1, 0)), (1, 3, (b"bc", 2, 1)), (3, 4, (b"d", 3, 2))]
    b = [(0, 1, (b"a", 9, 0)), (1, 2, (b"b", 4, 1)), (2, 3, (b"c", 5, 2)), (3, 4, (b"d", 3, 3))]
    spans = [(s["start"], s["end"]) for s in divergent_segments(a, b)]
    assert spans == [(0, 1), (1, 3)]  # an ID differs at 0, the cut differs at 1-3
    strip = [(s, e, (k[0], None, k[2])) for s, e, k in a]
    assert [(s["start"], s["end"]) for s in divergent_segments(strip, strip)] == []


def test_windows_are_the_textbooks_cut(server) -> None:
    text = corpus("the-verdict")[:2000]
    ids = load_tokenizer("gpt2").encode_ordinary(text)
    body = {"tokenizer": "gpt2", "text": text, "max_length": 8, "stride": 3}
    status, answer = request(server, "POST", "/api/windows", body)
    assert status == 200
    starts = range(0, len(ids) - 8, 3)
    assert answer["count"] == len(starts)
    for window, i in zip(answer["windows"], starts, strict=False):
        assert window["input"] == ids[i : i + 8] and window["target"] == ids[i + 1 : i + 9]
    assert all(str(t) in answer["pieces"] for w in answer["windows"] for t in w["input"])
    status, error = request(server, "POST", "/api/windows", {**body, "stride": 0})
    assert status == 422 and "stride" in error["error"]


def test_train_steps_and_the_trained_tokenizer(server) -> None:
    from tokprep.testing.trainer_reference import reference_train

    text = corpus("the-verdict")[:3000]
    body = {"text": text, "vocab_size": 300, "tie_break": "lexicographic", "label": "small"}
    status, answer = request(server, "POST", "/api/train", body)
    assert status == 200, answer
    expected = reference_train(text, 300, tie_break="lexicographic")
    assert len(answer["steps"]) == len(expected.merges) == 44
    for step, pair in zip(answer["steps"], expected.merges, strict=True):
        assert step["merged"] == shown_bytes(pair[0] + pair[1])
        counts = [p["count"] for p in step["pairs"]]
        assert counts[0] == step["count"] and sum(p["wins"] for p in step["pairs"]) == 1
    _, names = request(server, "GET", "/api/tokenizers")
    assert "small" in [t["label"] for t in names["tokenizers"]]
    _, view = request(server, "POST", "/api/encode", {"tokenizer": "small", "text": text[:200]})
    ranks = dict(expected.ranks)
    from tokprep.bpe import BPETokenizer

    assert view["ids"] == BPETokenizer(ranks).encode_ordinary(text[:200])


def test_train_on_a_shipped_corpus_by_name_only(server) -> None:
    status, answer = request(
        server, "POST", "/api/train", {"corpus": "the-verdict", "vocab_size": 260}
    )
    assert status == 200 and len(answer["steps"]) == 4
    status, error = request(
        server, "POST", "/api/train", {"corpus": "../../etc/passwd", "vocab_size": 260}
    )
    assert status == 422 and "no shipped corpus" in error["error"]
    status, error = request(server, "GET", "/api/corpus/..%2Fpyproject.toml")
    assert status == 422


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"text": "ab", "vocab_size": 100_000}, 422, "at most"),
        ({"text": "ab", "vocab_size": 300, "tie_break": "best"}, 422, "tie-break profile"),
        ({"text": "ab", "vocab_size": 300, "label": "gpt2"}, 422, "not trained here"),
        ({"text": "ab", "vocab_size": 300, "label": "a b"}, 422, "label"),
        ({"vocab_size": 300}, 400, "'text'"),
        ({"text": 5, "vocab_size": 300}, 400, "text"),
    ],
)
def test_train_refuses_bad_requests(server, body, status, words) -> None:
    got, error = request(server, "POST", "/api/train", body)
    assert got == status and words in error["error"], error


def test_training_time_limit() -> None:
    with running_server((), Limits(max_train_seconds=0.05)) as server:
        started = time.monotonic()
        status, error = request(
            server, "POST", "/api/train", {"corpus": "the-verdict", "vocab_size": 2256}
        )
        assert status == 422 and "0.05 s" in error["error"] and "limit" in error["error"]
        assert time.monotonic() - started < 10


def test_body_size_limit() -> None:
    with running_server((), Limits(max_body_bytes=1000)) as server:
        status, error = request(
            server, "POST", "/api/encode", {"tokenizer": "gpt2", "text": "x" * 2000}
        )
        assert status == 413
        assert "2,0" in error["error"] and "1,000 bytes" in error["error"]
        status, _ = request(server, "POST", "/api/encode", {"tokenizer": "gpt2", "text": "x" * 100})
        assert status == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example:{port}"}, 403),  # DNS rebinding: another name for our address
        ({"Host": "127.0.0.1:1"}, 403),
        ({"Origin": "http://evil.example"}, 403),  # a cross-site POST
        ({"Origin": "https://127.0.0.1:{port}"}, 403),
        ({"Origin": "null"}, 403),
        ({"Host": "localhost:{port}", "Origin": "http://localhost:{port}"}, 200),
        ({"Origin": "http://127.0.0.1:{port}"}, 200),
    ],
)
def test_host_and_origin_are_checked(server, headers, status) -> None:
    port = server.server_address[1]
    headers = {k: v.format(port=port) for k, v in headers.items()}
    got, answer = request(
        server, "POST", "/api/encode", {"tokenizer": "gpt2", "text": "hi"}, headers=headers
    )
    assert got == status, answer
    got, page = request(server, "GET", "/", headers=headers)
    assert got == status
    if status == 403:
        assert "refused" in page["error"]


def test_post_must_be_json(server) -> None:
    status, error = request(
        server,
        "POST",
        "/api/encode",
        raw=b"tokenizer=gpt2&text=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415 and "application/json" in error["error"]
    status, error = request(
        server,
        "POST",
        "/api/encode",
        raw=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    status, error = request(server, "POST", "/api/encode", {"text": "hi"})
    assert status == 400 and "'tokenizer'" in error["error"]
    status, error = request(server, "POST", "/api/encode", {"tokenizer": "nope", "text": "hi"})
    assert status == 422 and error["type"] == "TokenizerSpecError"
    # A request names tokenizers by label only: a spec is never loaded (nor run) from one.
    for spec in ("os:getcwd", f"{__file__}:test_post_must_be_json", "tokprep:gpt2"):
        status, error = request(server, "POST", "/api/encode", {"tokenizer": spec, "text": "hi"})
        assert status == 422 and error["error"].startswith(f"no tokenizer {spec!r}")
    assert request(server, "GET", "/api/encode")[0] == 405
    assert request(server, "GET", "/etc/passwd")[0] == 404
    assert request(server, "POST", "/api/nothing", {})[0] == 404


def test_static_files_and_headers(server) -> None:
    import http.client

    for path, kind in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
    ]:
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{server.server_address[1]}"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200 and response.getheader("Content-Type").startswith(kind)
        assert "script-src 'self'" in response.getheader("Content-Security-Policy")
        assert b"http://" not in body and b"https://" not in body  # nothing from the internet
    # the page never puts token text in the page as HTML
    script = request(server, "GET", "/app.js")[1].decode()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script


def test_playground_never_imports_torch() -> None:
    code = (
        "import sys; from tokprep.serve import Playground; p = Playground.default(); "
        "p.windows('gpt2', 'a b c d e f', 2, 1); p.encode('words-v3', 'x'); "
        "import tokprep.commands.serve; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_command_prints_the_url_first_and_serves() -> None:
    import http.client
    import os

    process = subprocess.Popen(
        [sys.executable, "-m", "tokprep", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request(
            "POST",
            "/api/encode",
            body=json.dumps({"tokenizer": "gpt2", "text": "hi there"}),
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(connection.getresponse().read())
        assert answer["ids"] == load_tokenizer("gpt2").encode("hi there")
    finally:
        process.terminate()
        process.wait(10)


def test_command_warns_on_another_host() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tokprep", "serve", "--port", "0", "--host", "0.0.0.0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("http://")
        assert "warning" in process.stderr.readline()
    finally:
        process.terminate()
        process.wait(10)


def test_a_bad_tokenizer_spec_fails_at_start() -> None:
    from tokprep.errors import TokenizerSpecError

    with pytest.raises(TokenizerSpecError):
        Playground.default(["mine=no/such/file.json"])


def test_the_page_is_served_from_a_wheel_install(tmp_path) -> None:
    """The static files ship as package data: build a wheel, install it into a folder of its
    own, and serve the page from there (not from this source tree)."""
    import os

    from conftest import ROOT

    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", str(ROOT), "-w", str(tmp_path / "wheel"), "--no-deps"]
    subprocess.run([*build, "--no-build-isolation"], check=True, timeout=240)
    (wheel,) = (tmp_path / "wheel").glob("tokprep-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, timeout=240
    )
    code = (
        "import tokprep.serve.server as s; "
        "print(s.__file__); "
        "print(all(len(s._static_file(n)) > 500 for n in ('index.html', 'app.js', 'style.css')))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    where, served = out.stdout.split()
    assert where.startswith(str(target)) and served == "True"


@pytest.mark.parametrize(("max_length", "stride"), [(4, 1), (8, 8), (16, 5), (255, 7)])
def test_windows_equal_the_librarys_dataset(max_length: int, stride: int) -> None:
    """Plain Python in the playground, torch in tokprep.dataloading: the same windows."""
    torch = pytest.importorskip("torch")
    from tokprep.dataloading.dataset import GPTDataset

    text = corpus("the-verdict")[:3000]
    playground = Playground.default(limits=Limits(max_windows_shown=100_000))
    answer = playground.windows("gpt2", text, max_length, stride)
    dataset = GPTDataset(
        torch.tensor(load_tokenizer("gpt2").encode_ordinary(text)), max_length, stride
    )
    assert answer["count"] == len(dataset) == len(answer["windows"])
    for window, (inputs, targets) in zip(answer["windows"], dataset, strict=True):
        assert window["input"] == inputs.tolist() and window["target"] == targets.tolist()
