"""``pip install`` from a git URL builds a package that holds the whole library (every module and data file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked_package_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "sr_lightning"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return {name for name in listed if not name.endswith((".pyc", ".md"))}


def test_a_wheel_built_from_the_git_url_holds_every_file_of_the_package(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    # What `pip install "sr-lightning @ git+<url>"` builds (the committed tree), without fetching dependencies.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(tmp_path),
         f"git+file://{REPO}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("sr_lightning-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("sr_lightning/")}
    missing = _tracked_package_files() - packaged
    assert not missing, f"the wheel lacks {sorted(missing)}"
    assert "sr_lightning/py.typed" in packaged
