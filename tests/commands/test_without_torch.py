"""`pip install tokprep` without torch: tokenizers, the kit and the tokenizer commands work;
torch's parts name the extra that installs it. Also what the package ships (py.typed)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `sys.modules["torch"] = None` makes every `import torch` fail as if torch were not installed.
NO_TORCH = "import sys; sys.modules['torch'] = None\n"
INSTALL = "pip install 'tokprep[torch]'"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", NO_TORCH + code], capture_output=True, text=True, timeout=120
    )


def test_tokenizer_commands_and_the_library_work_without_torch(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Hello world", encoding="utf-8")
    code = f"""
from tokprep.cli import main
import tokprep, tokprep.bpe, tokprep.testing, tokprep.dataloading
assert tokprep.load_tokenizer("gpt2").encode("Hello world") == [15496, 995]
for argv in (["encode", "Hello world"], ["count", {str(text)!r}], ["info"],
             ["check", "gpt2", "--check", "goldens", "--quiet"]):
    assert main(argv) == 0, argv
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("15496 995\n")


def test_torch_parts_name_the_extra_without_torch(tmp_path):
    code = """
from tokprep.errors import MissingDependencyError
for statement in ("from tokprep.dataloading import GPTDataset", "import tokprep.embeddings"):
    try:
        exec(statement)
    except MissingDependencyError as e:
        print(e)
    else:
        raise SystemExit(statement + " worked without torch")
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tokprep.dataloading.GPTDataset needs torch")
    assert lines[1].startswith("tokprep.embeddings needs torch")
    assert all(line.endswith(INSTALL) for line in lines)


def test_demo_runs_without_torch_and_says_how_to_add_it(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Hello there, general Kenobi. " * 20, encoding="utf-8")
    result = _python(
        f"from tokprep.cli import main; raise SystemExit(main(['demo', '--text', {str(text)!r}]))"
    )
    assert result.returncode == 0, result.stderr
    skipped = [line for line in result.stdout.splitlines() if "skipped:" in line]
    assert len(skipped) == 2 and all(INSTALL in line for line in skipped)


def test_torch_is_an_extra_and_the_extras_are_in_the_readme():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.startswith("torch")]
    assert any(d.startswith("tiktoken") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for extra in ("torch", "testing", "bench", "ray", "parquet", "zstd"):
        assert extra in extras, extra
        assert f"tokprep[{extra}]" in readme, extra
    assert extras["parquet"][0].startswith("pyarrow")
    assert extras["zstd"][0].startswith("zstandard")


def test_the_package_ships_py_typed():
    assert (resources.files("tokprep") / "py.typed").is_file()
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert "py.typed" in setuptools["setuptools"]["package-data"]["tokprep"]


def test_bench_skips_torch_parts_without_torch(tmp_path):
    out = tmp_path / "bench"
    result = _python(
        "from tokprep.cli import main; raise SystemExit(main(['bench', '--quick', '--only', "
        f"'embeddings', '--out', {str(out)!r}]))"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    skipped = [line for line in result.stdout.splitlines() if "embeddings_cpu: skipped" in line]
    assert skipped and skipped[0].endswith(INSTALL)
