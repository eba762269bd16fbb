"""Each layer imports only the layers it may (docs/architecture.md): an AST check of every module.

Imports inside functions count too: a lazy import reaches up all the same.
"""

import ast
from collections.abc import Iterator

from tests.support.platform import ROOT

MAY_IMPORT = {
    "domain": {"domain"},
    "common": {"domain", "common"},
    "db": {"domain", "common", "db"},
    "workers": {"domain", "common", "db", "workers"},
    "actors": {"domain", "common", "db", "workers", "actors"},
    "web": {"domain", "common", "db", "workers", "web"},
    "scheduler_jobs": {"domain", "common", "db", "workers", "scheduler_jobs"},
    "cli": {"domain", "common", "db", "workers", "actors", "web", "scheduler_jobs", "cli"},
}


def _modules() -> Iterator[tuple[str, str]]:
    """(path from the root, its layer) for every module of every layer."""
    for layer in MAY_IMPORT:
        for path in sorted((ROOT / layer).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), layer


def _imported_layers(source: str, package: tuple[str, ...]) -> set[str]:
    """The layers a module of `package` imports, relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.add(package[: len(package) - node.level + 1][0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found & set(MAY_IMPORT)


def _violations() -> set[tuple[str, str]]:
    found = set()
    for name, layer in _modules():
        path = ROOT / name
        for imported in _imported_layers(path.read_text(), path.parent.relative_to(ROOT).parts):
            if imported not in MAY_IMPORT[layer]:
                found.add((name, imported))
    return found


def test_no_layer_imports_one_it_may_not() -> None:
    assert _violations() == set()


def test_the_check_sees_lazy_and_relative_imports() -> None:
    source = "def f():\n    from web.app import create_app\n    import db.engine\nfrom . import x\n"
    assert _imported_layers(source, ("common",)) == {"web", "db", "common"}
