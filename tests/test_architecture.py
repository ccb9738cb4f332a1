"""ARCHITECTURE.md as checked contracts: the layers (import-linter), private names, unit sizes."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "aigc_sdk"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: Longest function or method body allowed in the package, in lines.
MAX_FUNCTION_LINES = 100


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.is_file():
        pytest.fail("lint-imports is not installed (the dev extra brings import-linter)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "aigc_sdk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_layers_are_kept() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_layer_violation_fails_the_lint(tmp_path: Path) -> None:
    root = _copy_package(tmp_path)
    # the registry (which knows specs only) reaching up into the pipelines
    (root / "aigc_sdk" / "registry" / "upward.py").write_text("from aigc_sdk.pipelines import news_clip\n")
    result = _lint_imports(root)
    assert result.returncode != 0
    assert "aigc_sdk.registry.upward -> aigc_sdk.pipelines" in result.stdout


def test_the_core_imports_no_heavy_library(tmp_path: Path) -> None:
    root = _copy_package(tmp_path)
    (root / "aigc_sdk" / "registry" / "heavy.py").write_text("def f() -> None:\n    import torch\n")
    result = _lint_imports(root)
    assert result.returncode != 0
    assert "aigc_sdk.registry.heavy -> torch" in result.stdout


def _private_imports(path: Path) -> list[str]:
    """``from aigc_sdk.x import _name`` (or of a private module) from outside the package that owns it."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("aigc_sdk"):
            continue
        target = str(node.module)
        names = [f"{target}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            for depth, part in enumerate(parts):
                owner = ".".join(parts[:depth])
                private = part.startswith("_") and not part.startswith("__") and part not in ("_internal", "_version")
                if private and owner != package and not package.startswith(owner + "."):
                    found.append(f"{module}:{node.lineno} imports {name}")
                    break
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _private_imports(path)]
    assert found == []


def _long_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = int(node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_a_screenful_or_two() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _long_functions(path)]
    assert found == []


def test_the_scheduler_class_stays_small() -> None:
    from aigc_sdk.runtime import scheduler

    tree = ast.parse(Path(scheduler.__file__).read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GpuScheduler"]
    assert int(cls.end_lineno or 0) - cls.lineno + 1 <= 600
