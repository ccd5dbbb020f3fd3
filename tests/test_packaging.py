"""The wheel users install: one top-level package, `newsdesk`, holding the folders that live at
the top of the repository (`ingest/` -> `newsdesk.ingest`, ...), and the metadata we declare.

The wheel is built from a copy of the sources pyproject.toml names, so the build leaves no
`build/` or `*.egg-info` in the working tree. It is installed with `pip --target` (no
dependencies: they are this venv's) and imported in a process whose path holds the install
folder and not the repository.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from helpers import REPO

import newsdesk

pytestmark = pytest.mark.slow

MAPPED = ("ingest", "retriever", "ui", "evals")  # repository folders installed under newsdesk.
MODULES = ("ingest.pipeline", "retriever.search", "ui.app", "evals.cli")


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _folders() -> dict[str, str]:
    """Installed package path -> repository folder, as pyproject.toml maps them."""
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    mapping: dict[str, str] = setuptools["package-dir"]  # type: ignore[index]
    return {"newsdesk": "newsdesk"} | {p.replace(".", "/"): d for p, d in mapping.items()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for pattern in ("LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*"):
        for path in REPO.glob(pattern):
            shutil.copy2(path, src / path.name)
    for folder in set(_folders().values()):
        shutil.copytree(
            REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("target")
    pip = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "install", "--no-deps", "--no-index", "--quiet"),
            *("--disable-pip-version-check", "--target", str(target), str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    return target


def test_the_wheel_holds_newsdesk_and_nothing_beside_it(wheel: Path) -> None:
    version = newsdesk.__version__
    assert wheel.name == f"newsdesk-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {PurePosixPath(n).parts[0] for n in names} == {
        "newsdesk",
        f"newsdesk-{version}.dist-info",
    }
    for module in MODULES:
        assert f"newsdesk/{module.replace('.', '/')}.py" in names
    # Every module of every mapped folder made it in (a subpackage missing from the
    # `packages` list would be left out silently).
    for installed_as, folder in _folders().items():
        for path in (REPO / folder).rglob("*.py"):
            rel = path.relative_to(REPO / folder).as_posix()
            if installed_as == "newsdesk" and rel.split("/")[0] in MAPPED:
                continue
            assert f"{installed_as}/{rel}" in names, f"{folder}/{rel} is not in the wheel"


def test_the_wheel_metadata(wheel: Path) -> None:
    version = newsdesk.__version__
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(f"newsdesk-{version}.dist-info/METADATA").decode("utf-8")
        entry_points = zf.read(f"newsdesk-{version}.dist-info/entry_points.txt").decode()
    meta = email.parser.Parser().parsestr(raw, headersonly=True)
    assert meta["Name"] == "newsdesk"
    assert meta["Version"] == version
    assert meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == ">=3.11"
    assert "newsdesk = newsdesk.cli:main" in entry_points


def test_the_installed_wheel_imports_as_newsdesk_only(installed: Path, tmp_path: Path) -> None:
    top = {p.name for p in installed.iterdir()} - {"bin"}  # bin/: pip --target's scripts
    assert top == {"newsdesk", f"newsdesk-{newsdesk.__version__}.dist-info"}
    for module in MODULES:
        assert (installed / "newsdesk" / f"{module.replace('.', '/')}.py").is_file()
    probe = f"""
import importlib, json
out = {{}}
for name in {[f"newsdesk.{m}" for m in MODULES]!r}:
    out[name] = importlib.import_module(name).__file__
for name in {list(MAPPED)!r}:
    try:
        importlib.import_module(name)
        out[name] = "imported"
    except ModuleNotFoundError as exc:
        out[name] = "ModuleNotFoundError: " + str(exc.name)
print(json.dumps(out))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(installed)
    ran = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # not the repository: its folders must not be importable
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    got = json.loads(ran.stdout.strip().splitlines()[-1])
    for module in MODULES:
        # From the wheel, not the editable install of this checkout.
        assert Path(got[f"newsdesk.{module}"]).is_relative_to(installed), got
    for name in MAPPED:
        assert got[name] == f"ModuleNotFoundError: {name}", got
