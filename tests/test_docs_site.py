"""The documentation site (mkdocs.yml) builds with warnings as errors; links resolve; the quick start is what CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_site_builds_strict_with_the_generated_api_reference(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extra: pip install '.[test]'")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is in the test extra: pip install '.[test]'")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    # every page of docs/ is a page of the site
    for page in DOCS:
        out = site / ("index.html" if page.stem == "index" else f"{page.stem}/index.html")
        assert out.is_file(), page.name
    # the reference is generated from the docstrings: their text is on the page
    import wavecodec

    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    for function in (wavecodec.encode, wavecodec.decode, wavecodec.info, wavecodec.get_codec, wavecodec.register):
        first_line = function.__doc__.strip().splitlines()[0]
        assert first_line.split("``")[0].rstrip() in reference, function.__name__
    assert "InvalidArgumentError" in reference and "ms_ssim" in reference
    assert ":func:" not in reference  # Sphinx roles shown as plain code (docs/_hooks/sphinx_roles.py)


def test_every_page_is_in_the_site_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w.-]+\.md)\s*$", config, flags=re.M))
    assert listed == {p.name for p in DOCS}


_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


@pytest.mark.parametrize("page", ["README.md"] + [f"docs/{p.name}" for p in DOCS])
def test_relative_links_name_existing_files(page):
    # the site leaves links out of docs/ (../benchmarks/...) unchecked (mkdocs.yml): they are checked here
    path = ROOT / page
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # not inside code blocks
    missing = []
    for match in _LINK.finditer(text):
        target = match.group("target").split("#")[0]
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):  # anchors only, URLs
            continue
        if not (path.parent / target).exists():
            missing.append(target)
    assert not missing, f"{page}: links to missing files: {missing}"


def test_quick_start_is_two_commands_from_a_fresh_venv_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    for command in commands:
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install ")
    assert commands[0].endswith("&& wavecodec demo")
    assert "virtual environment" in section
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci  # a line of its own, verbatim
