"""The shape of ssoenv/ (issue 11), read from the real import statements: every
`import` and `from ... import` in every module, function-local ones included
(a lazy import is still a dependency), resolved to modules of the package.

- the import graph has no cycle;
- only ssoenv/cli.py imports from ssoenv.commands, and a command module imports
  nothing from a sibling command module (what two commands share lives in core);
- boto3/botocore are imported only by ssoenv/identity.py;
- a module imports only from its own layer of the README's module map or below.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ssoenv"

# Edges allowed to break the rules below (none: add one only with the reason beside it).
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()
KNOWN_SIBLING_IMPORTS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names(path: Path) -> set[str]:
    """Every module `path` imports, absolute, at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            # `from ssoenv import tokens` imports the module ssoenv.tokens
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def graph() -> dict[str, set[str]]:
    """module -> the package modules it imports (a module's package __init__ aside)."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in imported_names(path):
            if imported in known and imported != name and imported != "ssoenv":
                targets.add(imported)
        edges[name] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def without_known(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    out = {k: set(v) for k, v in edges.items()}
    for a, b in KNOWN_CYCLE_EDGES:
        out.get(a, set()).discard(b)
    return out


def test_the_walk_sees_function_local_and_relative_imports():
    """The reader itself: lazy imports count, relative ones resolve."""
    edges = graph()
    assert "ssoenv.identity" in edges["ssoenv.login"]  # imported inside functions only
    assert "ssoenv.emulator.server" in edges["ssoenv.emulator"] or any(
        m.startswith("ssoenv.emulator.") for m in edges["ssoenv.emulator.cli"])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_has_no_cycle():
    cycle = find_cycle(without_known(graph()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_cli_imports_the_commands():
    offenders = sorted(f"{name} imports {target}"
                       for name, targets in graph().items() if not name.startswith("ssoenv.commands")
                       and name != "ssoenv.cli"
                       for target in targets if target.startswith("ssoenv.commands"))
    assert offenders == []


def test_command_modules_import_no_sibling_command():
    def command(module: str) -> str:  # ssoenv.commands.admin.common -> admin
        return module.split(".")[2] if module.count(".") >= 2 else ""

    # A command may be a package (admin): its own modules import each other freely.
    offenders = sorted(f"{name} imports {target}"
                       for name, targets in graph().items() if name.startswith("ssoenv.commands.")
                       for target in targets if target.startswith("ssoenv.commands")
                       and command(target) != command(name)
                       and (name, target) not in KNOWN_SIBLING_IMPORTS)
    assert offenders == []


def test_only_identity_imports_boto3_and_botocore():
    offenders = sorted(f"{module_name(path)} imports {imported}"
                       for path in modules().values() if path != PACKAGE / "identity.py"
                       for imported in imported_names(path)
                       if imported.split(".")[0] in ("boto3", "botocore"))
    assert offenders == []


# The layers of the README's module map, lowest first: a module imports only from its own
# layer or below. A new module must be placed here (the test names any that is not).
LAYERS = [
    ("base", {"ssoenv", "ssoenv.errors", "ssoenv.paths", "ssoenv.text", "ssoenv.shellout", "ssoenv.log",
              "ssoenv.terminal", "ssoenv.settings", "ssoenv.shapes", "ssoenv.subcommands", "ssoenv.quickexit",
              "ssoenv.lifeline"}),
    ("files", {"ssoenv.cache", "ssoenv.awsconfig", "ssoenv.tokens"}),
    ("aws", {"ssoenv.identity", "ssoenv.login", "ssoenv.awscli", "ssoenv.pacing", "ssoenv.chain"}),
    ("accounts", {"ssoenv.catalog", "ssoenv.listing", "ssoenv.sync", "ssoenv.targets", "ssoenv.creds", "ssoenv.outrank",
                  "ssoenv.switch"}),
    ("features", {"ssoenv.shells", "ssoenv.picker", "ssoenv.frecency", "ssoenv.preview", "ssoenv.complete",
                  "ssoenv.console", "ssoenv.credserver", "ssoenv.sandbox", "ssoenv.demo", "ssoenv.emulator",
                  "ssoenv.export", "ssoenv.fanout"}),
    ("cli", {"ssoenv.cli", "ssoenv.__main__", "ssoenv.commands"}),
]


def layer_of(module: str) -> int | None:
    """The layer of `module`: its own entry, else its package's (ssoenv.emulator.server is
    in ssoenv.emulator's); `ssoenv` itself covers only the package's __init__."""
    while module:
        for index, (_, names) in enumerate(LAYERS):
            if module in names:
                return index
        module = module.rpartition(".")[0] if module.count(".") > 1 else ""
    return None


def test_every_module_has_a_layer():
    assert [m for m in modules() if layer_of(m) is None] == []


def test_modules_import_only_their_layer_or_below():
    offenders = []
    for name, targets in graph().items():
        mine = layer_of(name)
        for target in targets:
            theirs = layer_of(target)
            if mine is not None and theirs is not None and theirs > mine and (name, target) not in KNOWN_CYCLE_EDGES:
                offenders.append(f"{name} ({LAYERS[mine][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert sorted(offenders) == []
