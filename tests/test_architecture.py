"""The layout of docs/architecture.md, kept true: which package may import which, nothing heavy at import
time, no environment or logging set up by library code, and foreign internals read only by their adapters.

Static checks read every module's syntax tree (imports inside functions included); the import-time check
imports each module in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("core", "vectorstore", "ingest", "prompts", "app", "evaluation", "bench")
MAY_IMPORT = {
    "core": set(),
    "prompts": set(),
    "vectorstore": {"core"},
    "ingest": {"core", "vectorstore"},
    "app": {"core", "vectorstore", "ingest", "prompts"},
    "evaluation": {"core", "vectorstore", "ingest", "app"},
    "bench": {"core", "vectorstore", "ingest", "app", "evaluation"},
}
"""Dependencies point one way, app -> ingest -> vectorstore -> core (docs/architecture.md)."""

HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "gradio", "langchain_core", "trafilatura",
         "pypdf", "feedparser", "tantivy", "numpy", "httpx", "fastapi", "starlette", "uvicorn", "mcp", "openai",
         "datasketch")
ENTRY_POINTS = {"core/entrypoint.py"}
"""Where the environment and logging may be set: each package's `__main__.py`, and this helper they call."""
ADAPTERS = {
    ("ingest/fetch.py", "_pool"): "httpx.HTTPTransport's connection pool, replaced by one with the vetting backend",
}
"""The only reads of another library's private attributes, each behind one function with its own test
(tests/test_library_adapters.py)."""


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_dependencies_point_one_way() -> None:
    wrong = []
    for path in modules():
        package = _name(path).split("/")[0]
        ours = _imports(ast.parse(path.read_text(encoding="utf-8"))) & set(PACKAGES)
        for imported in sorted(ours - MAY_IMPORT[package] - {package}):
            wrong.append(f"{_name(path)} imports {imported}")
    assert wrong == [], "docs/architecture.md says which package may import which"


def test_the_rule_catches_a_wrong_import() -> None:
    tree = ast.parse("def f():\n    from app.ui import build_ui\n")
    assert _imports(tree) & set(PACKAGES) - MAY_IMPORT["core"] == {"app"}


def _is_environment_write(node: ast.AST) -> bool:
    target = ast.unparse(node)
    if isinstance(node, ast.Call):
        called = target.split("(")[0]
        return called in ("os.environ.setdefault", "os.environ.update", "os.putenv", "logging.basicConfig") \
            or called.endswith((".set_verbosity", ".set_verbosity_error", "disable_progress_bar"))
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        return "os.environ[" in target
    return False


def test_library_code_never_writes_the_environment_or_configures_logging() -> None:
    found = []
    for path in modules():
        if path.name == "__main__.py" or _name(path) in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{_name(path)}:{n.lineno}: {ast.unparse(n)[:80]}" for n in ast.walk(tree)
                  if _is_environment_write(n)]
    assert found == []


def test_foreign_private_attributes_are_read_only_by_their_adapters() -> None:
    found = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            attribute = node.attr if isinstance(node, ast.Attribute) else None
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("getattr", "setattr") and len(node.args) > 1:
                name = node.args[1]
                attribute = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None
                owner = ast.unparse(node.args[0])
            else:
                owner = ast.unparse(node.value) if isinstance(node, ast.Attribute) else ""
            if not attribute or not attribute.startswith("_") or attribute.startswith("__"):
                continue
            if owner.split(".")[0] in ("self", "cls") or (_name(path), attribute) in ADAPTERS:
                continue
            found.append(f"{_name(path)}:{node.lineno}: {owner}.{attribute}")
    assert found == [], "read another library's internals behind an adapter listed in ADAPTERS, with a test"


IMPORT_PROBE = """
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


@pytest.mark.slow
def test_nothing_heavy_is_imported_with_any_module() -> None:
    names = [_name(p).removesuffix(".py").replace("/", ".").removesuffix(".__init__") for p in modules()
             if p.name != "__main__.py"]
    run = subprocess.run([sys.executable, "-c", IMPORT_PROBE, json.dumps(names), json.dumps(HEAVY)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout) == [], "heavy libraries are imported inside the functions that need them"


def test_the_checks_catch_what_they_are_for() -> None:
    statement = [ast.parse(code).body[0] for code in (
        'os.environ.setdefault("HF_HUB_OFFLINE", "1")', 'os.environ["X"] = "1"', "logging.basicConfig(level=10)",
        "transformers_logging.set_verbosity_error()", 'os.environ.get("X")', "logger.info('x')")]
    nodes = [s.value if isinstance(s, ast.Expr) else s for s in statement]
    assert [_is_environment_write(n) for n in nodes] == [True, True, True, True, False, False]
