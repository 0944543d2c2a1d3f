"""The layers import only downwards: routes → sockets → relay → store, servicepattern.

Read from the source with `ast`, so a new import that points up (the store reaching into
ServicePattern's cookies, the domain raising a socket frame error) fails here at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webchat"

# Which of the project's packages each package must never import.
FORBIDDEN = {
    "servicepattern": {"relay", "sockets", "store", "routes", "simulator"},
    "store": {"servicepattern", "relay", "sockets", "routes", "simulator"},
    "relay": {"sockets", "routes", "simulator"},
    "sockets": {"routes", "simulator"},
    "simulator": {"relay", "sockets", "store", "routes", "servicepattern"},
}


def _imported_packages(path: Path) -> set[str]:
    """The webchat sub-packages a module imports, relative or absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = path.relative_to(PACKAGE).parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's own package
                base = list(own[: len(own) - (node.level - 1)])
                parts = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    parts += [alias.name for alias in node.names]
            elif node.module and node.module.startswith("webchat."):
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                found.add(parts[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("webchat."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_from_above(layer):
    offending = {
        str(path.relative_to(PACKAGE)): sorted(_imported_packages(path) & FORBIDDEN[layer])
        for path in sorted((PACKAGE / layer).rglob("*.py"))
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_check_sees_relative_and_absolute_imports(tmp_path):
    """The import reader itself: both forms are found (else the test above proves nothing)."""
    module = PACKAGE / "store" / "base.py"
    assert "store" not in _imported_packages(module)
    sample = PACKAGE / "relay" / "relay.py"
    assert {"servicepattern", "store"} <= _imported_packages(sample)
