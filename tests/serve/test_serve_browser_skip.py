"""Without a browser the browser tests skip, saying why, except under CI=true, where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BROWSER_TESTS = Path(__file__).with_name("test_serve_browser.py")


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 error")])
def test_missing_browser(ci: str, outcome: str, tmp_path: Path) -> None:
    env = {**os.environ, "TOKPREP_CHROMIUM": str(tmp_path / "no-chromium"), "CI": ci}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(BROWSER_TESTS),
            "-k",
            "test_typed_text",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert outcome in run.stdout, run.stdout
    assert "no-chromium is missing: apt-get install chromium" in run.stdout
    assert (run.returncode == 0) == (ci != "true")
