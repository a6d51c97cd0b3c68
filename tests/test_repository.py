"""Repository conventions: environment.yml mirrors pyproject, notebooks are stored stripped."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name, where they differ
CONDA_NAMES = {"isal": "python-isal"}
_REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    m = _REQ.match(requirement)
    assert m, requirement
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject_dependencies():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "zoomaudit"
    assert "conda-forge" in env["channels"]
    conda = {}
    pip_lines = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_lines += dep["pip"]
        else:
            name, spec = _split(dep)
            conda[name] = spec
    assert "-e ." in pip_lines, "environment.yml must install the kit itself with `pip: [-e .]`"
    py_floor = pyproject["project"]["requires-python"]
    assert conda.get("python") == py_floor
    for requirement in pyproject["project"]["dependencies"]:
        name, spec = _split(requirement)
        name = CONDA_NAMES.get(name, name)
        assert name in conda, f"{name} is in pyproject but not in environment.yml"
        assert conda[name] == spec, (
            f"{name}: pyproject says {spec!r}, environment.yml {conda[name]!r}"
        )
    extra = set(conda) - {
        CONDA_NAMES.get(_split(r)[0], _split(r)[0]) for r in pyproject["project"]["dependencies"]
    }
    notebooks = {_split(r)[0] for r in pyproject["project"]["optional-dependencies"]["notebooks"]}
    assert extra <= {"python", "pip"} | notebooks, f"not in pyproject: {sorted(extra)}"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("**/*.ipynb"))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs: run nbstripout"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


def test_reports_folder_keeps_only_its_readme_in_git():
    ignore = (ROOT / ".gitignore").read_text()
    assert "reports/*" in ignore and "!reports/README.md" in ignore
    assert "data/" in ignore and ".env" in ignore
    assert (ROOT / "reports" / "README.md").is_file()


def test_env_example_lists_names_only():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert name.startswith("ZOOMAUDIT_"), line
            assert value == "", f"{name} has a value in .env.example"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make demo" in readme
