"""Docs that run: every ```python block of README.md and docs/*.md is executed, and shown outputs are compared.

Rules for doc writers (docs/index.md repeats the first two in one sentence):

* A fenced block tagged ``python`` is code.  All python blocks of one page run in order, in one
  namespace, in one fresh interpreter (``sys.executable``), in a temporary working directory (files a
  block writes land there) with ``MPLBACKEND=Agg`` and warnings turned into errors (as in the test
  suite).  So a page must be self-contained: define ``img`` before using it, never import from
  ``tests/`` or read ``../shared``.  Anything else (signatures, shell commands, TOML, matrices) must
  not be tagged ``python``: use ``text``, ``bash``, ``toml`` or a bare fence.
* **Output convention**: a block's expected output is a *bare* fenced block (a fence with no
  language tag) that directly follows the python block, with only blank lines in between.  The
  block's captured stdout must equal it.  A python block without such a block after it only has
  to run without raising.  A bare block that is not an output must be separated from a preceding
  python block by some prose, or carry a language tag (``text``).
* Outputs that depend on the optional packages installed (the list of plug-in codecs, the
  message for a missing one) are those of the ``test`` extra: imagecodecs, no torch.
* A python block that cannot run here at all (it needs torch, network access or files the page
  does not make) is preceded by a line ``<!-- docs-test: skip (the reason) -->``: it is then only
  compiled.  Use this rarely; prefer a block that runs.
* Comparison is exact after normalising only what truly varies between runs: durations (a number
  followed by ``ns``, ``us``, ``µs``, ``ms``, ``s`` or ``min``, e.g. ``12.3 ms``, ``0.52 s``) become
  ``<TIME>``, memory addresses (``0x7f3a...``, six or more hex digits) become ``0x<ADDR>``, and the
  temporary working directory (and any other path under the system temp directory) becomes
  ``<TMP>``.  Trailing whitespace of each line and trailing blank lines are ignored.  Everything
  else (PSNR, byte counts, bit strings) is compared exactly: the codecs are deterministic.

A failure names the page and line of the failing block and shows the traceback, or a diff of the
shown output (``-``) against the real one (``+``).  To refresh stale outputs, never edit numbers by
hand: ``python tests/test_docs.py docs/PAGE.md`` prints what each block of the page prints, and
``--write`` puts that into the page's output blocks (to show a new output, put an empty bare block
after the python block first).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md"] + sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))

# each page runs in a fresh interpreter (imports, kernel loading): ~25 s for all pages
pytestmark = pytest.mark.slow

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\b(?P<reason>.*?)-->\s*$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str  # first word of the info string, "" for a bare fence
    code: str
    output: str | None = None  # the expected output (python blocks only), None if not shown
    output_line: int | None = None
    skip: str | None = None  # the reason given by a "<!-- docs-test: skip (...) -->" line before the block


def parse_blocks(page: str, text: str) -> list[Block]:
    """All fenced blocks of a Markdown page, python blocks with their shown output attached."""
    lines = text.splitlines()
    raw: list[tuple[int, int, str, str]] = []  # (open line idx, close line idx, lang, body)
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        lang = (m["info"].split() or [""])[0].lower()
        j = i + 1
        while j < len(lines):
            c = _FENCE.match(lines[j])
            if c and c["fence"][0] == fence[0] and len(c["fence"]) >= len(fence) and not c["info"].strip():
                break
            j += 1
        if j == len(lines):
            raise ValueError(f"{page}:{i + 1}: unclosed code fence")
        body = [ln[indent:] if ln[:indent].strip() == "" else ln.lstrip() for ln in lines[i + 1 : j]]
        raw.append((i, j, lang, "\n".join(body) + ("\n" if body else "")))
        i = j + 1
    blocks = []
    for k, (start, end, lang, body) in enumerate(raw):
        b = Block(page, start + 1, lang, body)
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        m = _SKIP.match(lines[before]) if before >= 0 else None
        if m:
            b.skip = m["reason"].strip() or "no reason given"
        if lang == "python" and k + 1 < len(raw):
            nstart, _, nlang, nbody = raw[k + 1]
            if nlang == "" and all(not ln.strip() for ln in lines[end + 1 : nstart]):
                b.output, b.output_line = nbody, nstart + 1
        blocks.append(b)
    return blocks


def python_blocks(page: str) -> list[Block]:
    return [b for b in parse_blocks(page, (ROOT / page).read_text(encoding="utf-8")) if b.lang == "python"]


# --------------------------------------------------------------------------- normalisation

_TIME = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?\s?(?:ns|us|µs|ms|s|min)\b")
_ADDR = re.compile(r"0x[0-9a-fA-F]{6,}")


def normalise(text: str, tmpdirs: tuple[str, ...] = ()) -> str:
    for d in sorted({d for d in tmpdirs if d}, key=len, reverse=True):
        text = text.replace(d, "<TMP>")
    tmp = re.escape(tempfile.gettempdir().rstrip(os.sep))
    text = re.sub(tmp + r"(?:/[^\s'\"]*)?", "<TMP>", text)
    text = _TIME.sub("<TIME>", text)
    text = _ADDR.sub("0x<ADDR>", text)
    return "\n".join(ln.rstrip() for ln in text.splitlines()).rstrip("\n")


# --------------------------------------------------------------------------- the runner

# Executed by a fresh interpreter: reads {"blocks": [{"page", "line", "code", "run"}, ...]} as JSON
# on stdin, runs the blocks in order in one namespace (blocks with run=false are only compiled), and
# writes one JSON line per block to the file named by argv[1] as soon as the block is done:
# {"index", "stdout", "error"} (error: the traceback text, or null).  It stops at the first block
# that raises.
RUNNER = r'''
import contextlib, io, json, linecache, sys, traceback, warnings
warnings.simplefilter("error")
job = json.load(sys.stdin)
ns = {"__name__": "__main__", "__builtins__": __builtins__}
with open(sys.argv[1], "w", encoding="utf-8") as report:
    for k, b in enumerate(job["blocks"]):
        # pad with blank lines so that tracebacks give the line numbers of the Markdown page
        src = "\n" * b["line"] + b["code"]
        linecache.cache[b["page"]] = (len(src), None, src.splitlines(True), b["page"])
        buf = io.StringIO()
        error = None
        try:
            code = compile(src, b["page"], "exec")
            if b["run"]:
                with contextlib.redirect_stdout(buf):
                    exec(code, ns)
        except BaseException as e:  # the traceback without the runner's own frame
            error = "".join(traceback.format_exception(type(e), e, e.__traceback__.tb_next))
        sys.stdout.flush()
        report.write(json.dumps({"index": k, "stdout": buf.getvalue(), "error": error}) + "\n")
        report.flush()
        if error is not None:
            break
'''


def run_page(page: str, tmp_path: Path, timeout: float = 900) -> tuple[list[Block], list[dict], str]:
    """Run the python blocks of ``page`` in a fresh interpreter in ``tmp_path``.

    Returns the blocks, one result per block that ran (``stdout``, ``error``; fewer results than
    blocks when a block raised, or the interpreter died or timed out), and the tail of the
    interpreter's own stdout and stderr.
    """
    blocks = python_blocks(page)
    job = {"blocks": [{"page": b.page, "line": b.line, "code": b.code, "run": b.skip is None} for b in blocks]}
    report = tmp_path / ".docs-report.jsonl"
    # the checkout's wavecodec, whatever the working directory (as `python -m pytest` imports it)
    path = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(path))
    try:
        proc = subprocess.run([sys.executable, "-c", RUNNER, str(report)], input=json.dumps(job),
                              capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout)
        status, out, err = f"exit status {proc.returncode}", proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        status = f"killed after {timeout:.0f} s"
        out, err = (x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (e.stdout, e.stderr))
    results = []
    if report.exists():
        results = [json.loads(ln) for ln in report.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return blocks, results, f"{status}\n--- stdout\n{out[-4000:]}\n--- stderr\n{err[-4000:]}"


def check_page(page: str, tmp_path: Path) -> list[str]:
    """Run a page's blocks; return one readable message per failing block (empty: all good)."""
    blocks, results, tail = run_page(page, tmp_path)
    problems = []
    tmpdirs = (str(tmp_path), os.path.realpath(tmp_path))
    for b, r in zip(blocks, results):
        where = f"{b.page}:{b.line}"
        if r["error"] is not None:
            problems.append(f"{where}: the python block raised\n{r['error']}"
                            + (f"--- its stdout before that:\n{r['stdout']}" if r["stdout"] else ""))
            continue
        if b.output is None or b.skip is not None:
            continue
        want, got = normalise(b.output, tmpdirs), normalise(r["stdout"], tmpdirs)
        if want != got:
            diff = "\n".join(difflib.unified_diff(
                want.splitlines(), got.splitlines(), f"{b.page}:{b.output_line} (shown output)",
                f"{where} (real output)", lineterm=""))
            problems.append(f"{where}: the python block's output differs from the one shown at line "
                            f"{b.output_line} (after normalisation)\n{diff}")
    if len(results) < len(blocks) and not (results and results[-1]["error"] is not None):
        b = blocks[len(results)]
        problems.append(f"{b.page}:{b.line}: the interpreter died or timed out in this block\n{tail}")
    return problems


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page", PAGES, ids=PAGES)
def test_page_blocks_run_and_outputs_match(page, tmp_path):
    problems = check_page(page, tmp_path)
    if problems:
        pytest.fail(f"{len(problems)} failing block(s) in {page}:\n\n" + "\n\n".join(problems), pytrace=False)


def test_parse_blocks_output_convention():
    text = "\n".join([
        "intro", "```python", "print(1)", "```", "", "```", "1", "```",
        "```python", "x = 2", "```", "some prose", "```", "not an output", "```",
        "```python", "print(3)", "```", "```text", "a signature", "```",
        "  ```python", "  print(4)", "  ```", "", "  ```", "  4", "  ```",
        "<!-- docs-test: skip (needs torch) -->", "", "```python", "import torch", "```",
    ])
    blocks = [b for b in parse_blocks("p.md", text) if b.lang == "python"]
    assert [(b.line, b.code, b.output, b.skip) for b in blocks] == [
        (2, "print(1)\n", "1\n", None), (9, "x = 2\n", None, None), (16, "print(3)\n", None, None),
        (22, "print(4)\n", "4\n", None), (31, "import torch\n", None, "(needs torch)")]


def test_normalise_only_what_varies():
    tmp = tempfile.gettempdir()
    assert normalise("encode 12.3 ms, decode 0.52 s, 3 min\n") == "encode <TIME>, decode <TIME>, <TIME>"
    assert normalise("<Foo object at 0x7f3a12bc4d90>") == "<Foo object at 0x<ADDR>>"
    assert normalise(f"wrote {tmp}/pytest-1/x/out.png") == "wrote <TMP>"
    # quality numbers, sizes, ratios and bits are compared exactly
    text = "16384 bytes 33.73 dB 0.978x 4 symbols 1010 0x1f"
    assert normalise(text) == text


def test_every_page_is_collected():
    assert "README.md" in PAGES and "docs/api.md" in PAGES
    assert all((ROOT / p).is_file() for p in PAGES)


# --------------------------------------------------------------------------- refreshing outputs


def main(argv: list[str]) -> int:
    """``python tests/test_docs.py PAGE... [--write]``: print (or write into the page) each block's real output."""
    write = "--write" in argv
    pages = [a for a in argv if a != "--write"]
    if not pages:
        print(main.__doc__)
        return 2
    status = 0
    for page in pages:
        page = Path(page).resolve().relative_to(ROOT).as_posix()
        with tempfile.TemporaryDirectory() as d:
            blocks, results, tail = run_page(page, Path(d))
        lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
        for b, r in zip(blocks, results):
            print(f"--- {page}:{b.line}" + (f" (output shown at line {b.output_line})" if b.output is not None else ""))
            print(r["error"] or r["stdout"], end="")
            status |= r["error"] is not None
        for b, r in reversed(list(zip(blocks, results))):  # bottom up, so that line numbers stay valid
            if write and r["error"] is None and b.output is not None and b.skip is None:
                indent = re.match(r"\s*", lines[b.output_line - 1]).group()
                n = len(b.output.splitlines())
                lines[b.output_line : b.output_line + n] = [indent + ln if ln else ln
                                                            for ln in r["stdout"].rstrip("\n").split("\n")]
        if len(results) < len(blocks) and not (results and results[-1]["error"] is not None):
            print(tail)
            status = 1
        if write:
            (ROOT / page).write_text("\n".join(lines), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
