"""The playground in a real headless browser: the distribution's chromium and chromedriver,
driven by selenium with both paths given (Selenium Manager never runs, nothing is downloaded).

Without a browser these tests skip, saying why; with CI=true they fail instead. Screenshots are
kept under $TOKPREP_SERVE_ARTIFACTS (default: tokprep-serve-artifacts in the temp directory);
TOKPREP_UPDATE_SCREENSHOT=1 also copies the comparison to docs/serve-screenshot.png for the
README.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from serve_helpers import MARKUP_SPEC, PLANTED_SPEC, running_server

from conftest import ROOT, corpus
from tokprep import load_tokenizer

CHROMIUM = Path(os.environ.get("TOKPREP_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TOKPREP_CHROMEDRIVER", "/usr/bin/chromedriver"))
ARTIFACTS = Path(
    os.environ.get(
        "TOKPREP_SERVE_ARTIFACTS", Path(tempfile.gettempdir()) / "tokprep-serve-artifacts"
    )
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1500,1000",
)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            return f"{path} is missing: apt-get install {package} (or set TOKPREP_CHROMIUM/...)"
    return None


@pytest.fixture(scope="module")
def server():
    with running_server((PLANTED_SPEC, MARKUP_SPEC)) as server:
        yield server


@pytest.fixture(scope="module")
def driver():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the browser tests: {reason}")
        pytest.skip(f"no headless browser: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager, were it to run: no network
    profile = tempfile.mkdtemp(prefix="tokprep-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.set_script_timeout(30)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, *args, timeout: float = 20.0):
    """Poll a JavaScript expression until it is truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {script}")
        time.sleep(0.02)


SPANS = (
    "return Array.from(document.querySelectorAll(arguments[0] + ' span.tok'), s => s.textContent)"
)
# The page says which text each column shows (cheap to poll); CONTENT checks the page itself:
# every listed column shows the text box's text (a word tokenizer's dropped whitespace is shown
# between its tokens, uncoloured).
SHOWN = (
    "const v = document.querySelector('#text').value;"
    "return arguments[0].every(c => window.tokprep.columns[c].text === v && "
    "window.tokprep.columns[c].shownGeneration === window.tokprep.generation);"
)
CONTENT = (
    "const v = document.querySelector('#text').value;"
    "return arguments[0].every(c => "
    "document.querySelector(`[data-testid=tokens-${c}]`).textContent === v);"
)


def wait_shown(driver, columns: list[int], timeout: float = 20.0) -> None:
    wait_for(driver, SHOWN, columns, timeout=timeout)
    assert driver.execute_script(CONTENT, columns)


def open_page(driver, server) -> None:
    driver.get(server.url)
    wait_for(driver, "return document.body.dataset.ready === '1'")
    driver.execute_script(
        "window.longTasks = [];"
        "new PerformanceObserver(list => window.longTasks.push("
        "...list.getEntries().map(e => e.duration))).observe({type: 'longtask', buffered: true});"
    )


def set_text(driver, text: str) -> None:
    """What a paste does: the value changes and an input event fires."""
    driver.execute_script(
        "const t = document.querySelector('#text'); t.value = arguments[0];"
        "t.dispatchEvent(new Event('input'));",
        text,
    )


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_typed_text_spans_concatenate_and_count_equals_tiktoken(driver, server) -> None:
    from selenium.webdriver.common.by import By

    open_page(driver, server)
    box = driver.find_element(By.ID, "text")
    box.clear()
    typed = "The quick brown fox, naïve café owner: 12345 tokens — “quoted”.\nNew line!"
    box.send_keys(typed)
    wait_shown(driver, [0, 1, 2])
    assert driver.execute_script("return document.querySelector('#text').value") == typed
    spans = driver.execute_script(SPANS, "[data-testid=tokens-0]")
    assert "".join(spans) == typed
    assert len(spans) == len(load_tokenizer("gpt2").encode_ordinary(typed))  # tiktoken's count
    stats = driver.find_element(By.CSS_SELECTOR, '[data-column="0"] .stats').text
    assert stats.startswith(f"{len(spans)} tokens")
    # hovering a token shows its ID, bytes and merge chain
    token = driver.find_elements(By.CSS_SELECTOR, "[data-testid=tokens-0] span.tok")[1]
    from selenium.webdriver import ActionChains

    ActionChains(driver).move_to_element(token).perform()
    inspector = wait_for(
        driver,
        "const i = document.querySelector('#inspector');"
        "return !i.hidden && i.textContent.includes('merge chain') && i.textContent",
    )
    gpt2 = load_tokenizer("gpt2")
    assert f"ID {gpt2.encode_ordinary(typed)[1]}" in inspector and "quick" in inspector


def test_characters_split_across_tokens(driver, server) -> None:
    """GPT-2 cuts some characters between tokens (👍 is three byte-level tokens): the character
    shows once, in the token holding its first byte; the others are empty, marked spans."""
    open_page(driver, server)
    text = "thumbs 👍👍 up, 日本語 and 🏳️‍🌈 flags"
    set_text(driver, text)
    wait_shown(driver, [0, 1, 2])
    spans = driver.execute_script(SPANS, "[data-testid=tokens-0]")
    ids = load_tokenizer("gpt2").encode_ordinary(text)
    assert "".join(spans) == text and len(spans) == len(ids)
    partial = driver.execute_script(
        "return document.querySelectorAll('[data-testid=tokens-0] span.tok.partial').length"
    )
    assert partial == spans.count("") > 0


def test_hostile_tokens_render_as_text(driver, server) -> None:
    from planted import MARKUP as hostile
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    # "markup" (tests/serve/planted.py) has tokens that spell <script...> and &amp;
    open_page(driver, server)
    Select(driver.find_element(By.CSS_SELECTOR, '[data-column="0"] select')).select_by_value(
        "markup"
    )
    set_text(driver, hostile)
    wait_shown(driver, [0, 1, 2])
    spans = driver.execute_script(SPANS, "[data-testid=tokens-0]")
    assert "".join(spans) == hostile
    assert spans[0].startswith("<script>") and any("&amp;" in s for s in spans), spans
    counts = driver.execute_script(
        "return [document.querySelectorAll('#columns script, #columns img').length, "
        "window.pwned === undefined]"
    )
    assert counts == [0, True]
    screenshot(driver, "hostile.png")


def test_decode_box_gives_the_library_error(driver, server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(driver, server)
    field = driver.find_element(By.ID, "decode-ids")
    field.send_keys("15496, 99999999", Keys.ENTER)
    shown = wait_for(driver, "return document.querySelector('#decode-out').textContent")
    assert shown.startswith("InvalidTokenError: token ID 99999999 is not in this vocabulary")


def test_difference_view_marks_the_planted_divergence(driver, server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, server)
    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="diff"]').click()
    Select(driver.find_element(By.ID, "diff-candidate")).select_by_value("digits")
    Select(driver.find_element(By.ID, "diff-reference")).select_by_value("gpt2")
    text = "Call me Ishmael. Some 12345 years ago, never mind how long"
    set_text(driver, text)
    marks = wait_for(
        driver,
        "const m = Array.from(document.querySelectorAll('#diff-text mark.divergent'), "
        "x => [x.textContent, x.classList.contains('first')]);"
        "return document.querySelector('#diff-text').textContent === arguments[0] && m.length && m",
        text,
    )
    assert marks == [[" 123", True], ["45", False]]
    report = driver.find_element(By.ID, "diff-report").text
    assert "first divergent token: #7, at character 21" in report
    screenshot(driver, "differences.png")


def test_windows_view_shows_the_textbooks_pairs(driver, server) -> None:
    from selenium.webdriver.common.by import By

    open_page(driver, server)
    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="windows"]').click()
    stride = driver.find_element(By.ID, "windows-stride")
    stride.clear()
    stride.send_keys("2", "\t")  # a change event
    text = "In the textbook, a DataLoader cuts the token IDs into input and target rows."
    set_text(driver, text)
    rows = wait_for(
        driver,
        "const rows = Array.from(document.querySelectorAll('#windows-table tbody tr'), r => "
        "Array.from(r.querySelectorAll('.ids'), d => d.textContent));"
        "return rows.length && rows",
    )
    ids = load_tokenizer("gpt2").encode_ordinary(text)
    expected = [
        [", ".join(map(str, ids[i : i + 4])), ", ".join(map(str, ids[i + 1 : i + 5]))]
        for i in range(0, len(ids) - 4, 2)
    ]
    assert rows == expected


def test_long_text_stays_responsive(driver, server) -> None:
    from selenium.webdriver.common.by import By

    open_page(driver, server)
    story = corpus("the-verdict")
    long_text = (story * (100_000 // len(story) + 1))[:100_000]
    pasted_at = time.monotonic()
    set_text(driver, long_text)
    wait_shown(driver, [0, 1, 2], timeout=30)
    print(f"a 100,000-character paste, 3 columns: shown in {time.monotonic() - pasted_at:.2f} s")
    box = driver.find_element(By.ID, "text")
    driver.execute_script(
        "const t = arguments[0]; t.focus(); t.selectionStart = t.value.length;", box
    )
    box.send_keys(" and then")
    typed_at = time.monotonic()
    wait_for(driver, SHOWN, [0, 1, 2], timeout=10)
    latency = time.monotonic() - typed_at
    assert driver.execute_script(CONTENT, [0, 1, 2])
    value = driver.execute_script("return document.querySelector('#text').value")
    assert value.endswith(" and then") and len(value) == 100_009
    tasks = driver.execute_script("return window.longTasks")
    print(
        f"100,009 characters, 3 columns: shown {latency:.2f} s after the last key; "
        f"longest main-thread task {max(tasks, default=0):.0f} ms ({len(tasks)} over 50 ms)"
    )
    assert latency < 1.0
    assert max(tasks, default=0) <= 200, tasks
    # An edit in the middle: only the tokens from there on are rendered again, and rightly.
    edited = value[:50_000] + " an edit" + value[50_000:]
    set_text(driver, edited)
    wait_shown(driver, [0, 1, 2])
    spans = driver.execute_script(SPANS, "[data-testid=tokens-0]")
    assert "".join(spans) == edited
    assert len(spans) == len(load_tokenizer("gpt2").encode_ordinary(edited))
    # The observer does see long tasks: a 120 ms busy loop shows up.
    driver.execute_script(
        "setTimeout(() => { const end = performance.now() + 120; "
        "while (performance.now() < end) {} })"
    )
    assert wait_for(driver, "return window.longTasks.some(d => d >= 100)", timeout=5)


def test_training_and_the_readme_screenshot(driver, server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(driver, server)
    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="train"]').click()
    Select(driver.find_element(By.ID, "train-source")).select_by_value("the-verdict")
    vocab = driver.find_element(By.ID, "train-vocab")
    vocab.clear()
    vocab.send_keys("556")
    driver.find_element(By.ID, "train").click()
    title = wait_for(driver, "return document.querySelector('#step-title').textContent", timeout=60)
    assert title.startswith("merge 1 of 300: \u2423t (ID 256), count 462")
    driver.find_element(By.ID, "step-next").click()
    rows = driver.find_elements(By.CSS_SELECTOR, "#step-table tbody tr.wins")
    assert len(rows) == 1
    screenshot(driver, "training.png")
    # The Tokens view: GPT-2 next to the tokenizer just trained on the story.
    driver.find_element(By.CSS_SELECTOR, '#tabs button[data-view="tokens"]').click()
    assert (
        driver.execute_script("return document.querySelector('[data-column=\"1\"] select').value")
        == "verdict-bpe"
    )
    Select(driver.find_element(By.CSS_SELECTOR, '[data-column="2"] select')).select_by_value("")
    set_text(driver, corpus("the-verdict")[:700])
    wait_shown(driver, [0, 1])
    token = driver.find_elements(By.CSS_SELECTOR, "[data-testid=tokens-1] span.tok")[12]
    from selenium.webdriver import ActionChains

    ActionChains(driver).move_to_element(token).perform()
    wait_for(driver, "return document.querySelector('#inspector').textContent.includes('merge')")
    path = screenshot(driver, "gpt2-vs-verdict-bpe.png")
    if os.environ.get("TOKPREP_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "serve-screenshot.png")
