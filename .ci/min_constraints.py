"""Print a pip constraints file pinning every dependency of sr-lightning to its lower bound.

Covers ``[project].dependencies`` and every extra of pyproject.toml (``export``, ``tensorboard``, ``dev``):
``pkg[extra]>=X,<Y`` becomes ``pkg==X``; a dependency without a ``>=`` lower bound is an error that names it.
``make test-min`` installs the package with these constraints and runs the test suite: the lower bounds are honest.

Usage: ``python .ci/min_constraints.py [pyproject.toml] > constraints.txt``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package (pip install tomli)
    import tomli as tomllib

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def lower_bounds(pyproject: Path) -> dict[str, str]:
    """Each dependency's name and lower bound; self-references such as ``sr-lightning[export]`` are skipped."""
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    requirements = list(project["dependencies"]) + [req for extra in extras for req in extra]
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement.split(";")[0])
        if match is None:
            raise ValueError(f"cannot parse the dependency {requirement!r}")
        name, specifiers = match.groups()
        if name.replace("_", "-").lower() == project["name"].replace("_", "-").lower():
            continue
        floor = re.search(r">=\s*([^,\s]+)", specifiers)
        if floor is None:
            raise ValueError(f"the dependency {requirement!r} has no lower bound (>=X)")
        bounds[name] = floor.group(1)
    return bounds


def main(argv: list[str]) -> int:
    pyproject = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        bounds = lower_bounds(pyproject)
    except ValueError as error:
        print(f"{pyproject}: {error}", file=sys.stderr)
        return 1
    print(f"# Lower bounds of {pyproject.name}, written by .ci/min_constraints.py")
    for name, version in bounds.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
