"""House rules that a linter does not check (issue 9): read in the code, kept by a test.

- Settings are read as `settings.NAME`: each has one default, in config/settings.py.
  `getattr(settings, "NAME", default)` would write a second one that can drift.
- A name with a leading underscore is private to its module: another module that
  imports it couples to what may change without notice.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    *("accounts", "comms", "config", "core", "customers"),
    *("incidents", "integrations", "reviews", "roles", "statuspage"),
]


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def test_no_setting_is_read_with_a_default_of_its_own():
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "settings"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], found


def test_no_module_imports_another_modules_private_names():
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}")
    assert found == [], found


def test_the_rules_are_checked_against_real_code():
    # Guards the guard: the walk reads every app (a wrong root would find nothing and pass).
    assert sum(1 for _ in _modules()) > 100
