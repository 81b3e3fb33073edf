"""A fresh clone works by itself: no tracked file reads, imports or links a path outside the repository,
and the LINE OpenAPI files the emulator validates against are vendored inside it."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emulator import schema

ROOT = Path(__file__).resolve().parent.parent

# Ways a path can leave the checkout: a sibling folder next to it, the machine's own layout, or climbing
# above the repository root in code. (Written so that this file does not match itself.)
OUTSIDE = [
    (re.compile(r"\.\./+shared\b"), "a sibling folder of the checkout"),
    (re.compile(r"/work/(?:shared|main)\b"), "an absolute path on the development machine"),
    (re.compile(r"\bROOT\s*\.\s*parent\b"), "the folder above the repository root"),
    (re.compile(r"(?:\.parent){3}"), "three levels up from a module"),
    (re.compile(r"""\.parent\s*/\s*["']shared["']"""), "a sibling folder of the checkout"),
]
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # deleted in the working tree but still in the index
        return None
    if b"\0" in data[:8192]:
        return None  # binary (images, fonts)
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_reaches_outside_the_repository():
    found = []
    for path in tracked_files():
        if (text := text_of(path)) is None:
            continue
        name = path.relative_to(ROOT)
        for lineno, line in enumerate(text.splitlines(), 1):
            for pattern, why in OUTSIDE:
                if pattern.search(line):
                    found.append(f"{name}:{lineno}: {why}: {line.strip()[:120]}")
        if path.suffix.lower() == ".md":  # relative links must stay inside and lead somewhere
            for target in MD_LINK.findall(text):
                if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target, re.I):  # http:, mailto:, in-page anchors
                    continue
                resolved = (path.parent / target.split("#")[0]).resolve()
                if not resolved.is_relative_to(ROOT) or not resolved.exists():
                    found.append(f"{name}: a link that leaves the repository or leads nowhere: {target}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_emulator_reads_the_vendored_openapi_files(monkeypatch):
    monkeypatch.delenv("KYODO_LINE_OPENAPI", raising=False)
    spec = schema.default_openapi_path().resolve()
    assert spec.is_relative_to(ROOT), spec
    assert spec.is_file(), spec
    assert schema.webhook_openapi_path().resolve().is_file()
    # The licence and the record of where the files come from travel with them.
    for name in ("LICENSE", "VENDORED.md"):
        assert (spec.parent / name).is_file(), name
    assert "Apache License" in (spec.parent / "LICENSE").read_text("utf-8")
    assert schema.load_spec_dict(str(spec))["info"]["title"] == "LINE Messaging API"
