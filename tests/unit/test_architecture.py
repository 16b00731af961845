"""The layers hold: `lint-imports` keeps the import-linter contracts of pyproject.toml, and the pure core
(monitor/core and the configuration's section modules) neither reads the clock, the environment or
files nor talks to the terminal. Both checks are shown to fail on a planted violation, so that they
cannot pass by checking nothing.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "monitor"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CLOCK = {("datetime", "now"), ("datetime", "today"), ("date", "today"), ("time", "time"), ("time", "monotonic")}
"""Calls that read the clock (the last two parts of the qualified name); `utcnow` in any form too."""
BUILTINS = {"open", "input", "print"}
ENVIRONMENT = {"os.environ", "os.getenv"}


def pure_modules(package: Path) -> list[Path]:
    """Every module of the core, and the configuration's section modules (the loader reads the file)."""
    core = sorted((package / "core").rglob("*.py"))
    config = sorted(p for p in (package / "config").glob("*.py") if p.name != "loader.py")
    return core + config


class _Scan(ast.NodeVisitor):
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> qualified name, from the imports
        self.found: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for name in node.names:
            if name.asname:  # import a.b as c: c is a.b
                self.aliases[name.asname] = name.name
            else:  # import a.b: a is a
                top = name.name.split(".")[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for name in node.names:
            self.aliases[name.asname or name.name] = f"{node.module}.{name.name}" if node.module else name.name

    def qualified(self, node: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        if name is not None:
            parts = name.split(".")
            if tuple(parts[-2:]) in CLOCK or parts[-1] == "utcnow":
                self.found.append((node.lineno, f"reads the clock: {name}()"))
            elif isinstance(node.func, ast.Name) and node.func.id in BUILTINS and node.func.id not in self.aliases:
                self.found.append((node.lineno, f"calls the builtin {node.func.id}()"))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.qualified(node) in ENVIRONMENT:
            self.found.append((node.lineno, f"reads the environment: {self.qualified(node)}"))
        else:
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if self.aliases.get(node.id) in ENVIRONMENT:
            self.found.append((node.lineno, f"reads the environment: {self.aliases[node.id]}"))


def impurities(path: Path) -> list[str]:
    """What in the module at `path` reads the clock or the environment, opens files or talks to the terminal."""
    scan = _Scan()
    scan.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return [f"{path}:{line}: {what}" for line, what in sorted(scan.found)]


def lint_imports(directory: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the contracts of `directory`/pyproject.toml, on the `monitor` package in `directory`."""
    if not LINT_IMPORTS.is_file():
        pytest.fail(f"{LINT_IMPORTS} is missing: install import-linter into the virtualenv (pip install import-linter)")
    env = {**os.environ, "PYTHONPATH": str(directory)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=directory, env=env, capture_output=True, text=True, timeout=120
    )


# --- the product


def test_the_import_contracts_are_kept() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_pure_modules_are_scanned() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in pure_modules(PACKAGE)}
    assert {"core/presence.py", "core/notices/monthly.py", "config/video.py", "config/__init__.py"} <= names
    assert "config/loader.py" not in names and not any(n.startswith(("adapters/", "services/")) for n in names)


def test_the_core_and_the_configuration_sections_do_no_io() -> None:
    found = [problem for path in pure_modules(PACKAGE) for problem in impurities(path)]
    assert found == []


# --- the checks catch what they are for


def _module(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "module.py"
    path.write_text(source, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("source", "what"),
    [
        pytest.param("import datetime\ndatetime.datetime.now()\n", "datetime.datetime.now()", id="datetime.now"),
        pytest.param("from datetime import datetime\nx = datetime.now(tz)\n", "datetime.now()", id="from-datetime"),
        pytest.param("import datetime as dt\ndt.date.today()\n", "datetime.date.today()", id="date.today"),
        pytest.param("from datetime import date\ndate.today()\n", "datetime.date.today()", id="from-date"),
        pytest.param("from datetime import datetime\ndatetime.today()\n", "datetime.today()", id="datetime.today"),
        pytest.param("from datetime import datetime as D\nD.utcnow()\n", "utcnow()", id="utcnow"),
        pytest.param("import time\nstarted = time.time()\n", "time.time()", id="time.time"),
        pytest.param("import time\ntime.monotonic()\n", "time.monotonic()", id="time.monotonic"),
        pytest.param("from time import monotonic as m\nm()\n", "time.monotonic()", id="from-time"),
        pytest.param("def f(p):\n    return open(p).read()\n", "builtin open()", id="open"),
        pytest.param("answer = input('?')\n", "builtin input()", id="input"),
        pytest.param("print('hello')\n", "builtin print()", id="print"),
        pytest.param("import os\nos.environ['HOME']\n", "os.environ", id="os.environ"),
        pytest.param("import os\nos.environ.get('HOME')\n", "os.environ", id="os.environ.get"),
        pytest.param("import os\nos.getenv('HOME')\n", "os.getenv", id="os.getenv"),
        pytest.param("from os import environ\nenviron['HOME']\n", "os.environ", id="from-os"),
    ],
)
def test_the_scan_reports_each_kind_of_io(tmp_path: Path, source: str, what: str) -> None:
    (problem,) = impurities(_module(tmp_path, source))
    assert what in problem and f"{tmp_path / 'module.py'}:" in problem


def test_the_scan_leaves_pure_code_alone(tmp_path: Path) -> None:
    source = (
        "import datetime as dt\nfrom datetime import time\n"
        "opening = dt.time(9, 0)\nnoon = time(12)\nlater = dt.datetime(2020, 11, 3) + dt.timedelta(minutes=5)\n"
        "def f(book, now):\n    book.open()\n    book.print()\n    return now.date(), now.time()\n"
    )
    assert impurities(_module(tmp_path, source)) == []


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the package and its contracts with a core module that imports the database and reads the clock."""
    copy = tmp_path_factory.mktemp("planted")
    shutil.copytree(PACKAGE, copy / "monitor", ignore=shutil.ignore_patterns("__pycache__", "halls"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "monitor" / "core" / "leak.py").write_text(
        "import datetime\n\nimport sqlmodel\n\n\ndef stamp():\n    return sqlmodel, datetime.datetime.now()\n",
        encoding="utf-8",
    )
    yield copy


def test_lint_imports_fails_on_a_core_module_that_imports_the_database(planted: Path) -> None:
    done = lint_imports(planted)
    assert done.returncode != 0, done.stdout
    assert "monitor.core.leak -> sqlmodel" in done.stdout


def test_the_scan_fails_on_a_core_module_that_reads_the_clock(planted: Path) -> None:
    found = [problem for path in pure_modules(planted / "monitor") for problem in impurities(path)]
    assert found == [f"{planted / 'monitor' / 'core' / 'leak.py'}:7: reads the clock: datetime.datetime.now()"]
