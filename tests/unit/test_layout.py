"""The layout of src/shared is its architecture: each layer imports only the layers below it, so
there are no cycles and the enricher's cold start never loads the alerter's code."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "src" / "shared"

# Each part of src/shared and the parts it may import (besides itself). Top to bottom: the
# handlers' services, their settings and ports, the adapters, contracts, domain, platform.
MAY_IMPORT: dict[str, set[str]] = {
    "platform": set(),
    "domain": {"platform"},
    "contracts": {"domain", "platform"},
    "ports": {"contracts", "domain", "platform"},
    "adapters": {"ports", "contracts", "domain", "platform"},
    "config": {"domain", "platform"},
    "metrics": {"contracts", "domain", "platform", "alerting"},  # alerting: type hints only
    "alerting": {"metrics", "config", "ports", "adapters", "contracts", "domain", "platform"},
    "enrichment": {"metrics", "config", "ports", "adapters", "contracts", "domain", "platform"},
    "fleet": {
        "alerting",
        "metrics",
        "config",
        "ports",
        "adapters",
        "contracts",
        "domain",
        "platform",
    },
}


def _part(module: str) -> str:
    return module.split(".")[1] if module.startswith("shared.") else module


def _imports(path: Path, *, runtime_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    hidden: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                hidden |= {id(child) for child in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("shared")}
    return found


def _modules() -> list[tuple[str, Path]]:
    return [
        (
            _part(
                "shared." + path.relative_to(SHARED).with_suffix("").as_posix().replace("/", ".")
            ),
            path,
        )
        for path in sorted(SHARED.rglob("*.py"))
        if path.name != "__init__.py" or path.parent != SHARED
    ]


def test_every_part_of_src_shared_has_a_place_in_the_layers() -> None:
    assert {part for part, _ in _modules()} == set(MAY_IMPORT)


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for part, path in _modules()
        for module in _imports(path, runtime_only=False)
        if (other := _part(module)) != part and other not in MAY_IMPORT[part]
    ]
    assert wrong == []


def test_the_enricher_never_loads_the_alerters_code() -> None:
    # What the enricher's handler loads at run time (TYPE_CHECKING imports aside), transitively.
    seen: set[str] = set()
    todo = ["handlers.enricher"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        base = ROOT / "src" / module.replace(".", "/")
        path = base.with_suffix(".py") if base.with_suffix(".py").exists() else base / "__init__.py"
        if path.exists():
            todo.extend(_imports(path, runtime_only=True))
    assert not [module for module in seen if module.startswith(("shared.alerting", "shared.fleet"))]


def test_the_package_lists_every_part() -> None:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = {
        ".".join((top.name, *init.parent.relative_to(top).parts))
        for top in (SHARED, ROOT / "sagewatch")
        for init in top.rglob("__init__.py")
    }
    assert on_disk <= set(listed)
