"""The report notebooks, executed once per session by ``zoomaudit report`` (see conftest)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

from zoomaudit import report

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[2]

NOTEBOOKS = report.list_notebooks()
COMMON = {"snapshot", "data_dir", "out_dir"}


def test_the_five_report_notebooks_exist_with_step_names():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 5
    for name in names:
        assert re.fullmatch(r"\d0_[a-z]+_[a-z_]+", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_type_and_a_help_string(path: Path):
    params = papermill.inspect_notebook(str(path))
    assert COMMON <= set(params), f"{path.stem} lacks {COMMON - set(params)}"
    for name, spec in params.items():
        assert spec["inferred_type_name"] not in ("None", ""), f"{path.stem}.{name} has no type"
        assert len(spec["help"]) >= 15, f"{path.stem}.{name} has no help comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_is_thin_stripped_and_starts_with_its_question(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert "question this answers" in nb.cells[0].source.lower()
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, "outputs stored"
        if cell is tagged[0]:
            continue
        assert len(cell.source.splitlines()) <= 5, cell.source
        assert not re.search(r"^\s*(def|class) ", cell.source, re.M), cell.source
        assert "Settings" not in cell.source and "httpx" not in cell.source


def test_report_command_succeeds_and_runs_every_notebook(report_run):
    assert report_run["returncode"] == 0, report_run["stderr"][-3000:]
    summary = report_run["summary"]
    assert summary["status"] == "ok"
    ran = {n["notebook"]: n for n in summary["notebooks"]}
    assert set(ran) == {p.stem for p in NOTEBOOKS}
    folder = report_run["folder"]
    for name, result in ran.items():
        assert result["status"] == "ok", (name, result["error"])
        assert (folder / f"{name}.ipynb").is_file() and (folder / f"{name}.html").is_file()
        assert result["headlines"], f"{name} glued no headline numbers"
    assert str(folder / "index.html") in report_run["stdout"]


def test_index_links_every_report_with_its_headlines_and_the_manifest(report_run):
    index = (report_run["folder"] / "index.html").read_text()
    for nb in report_run["summary"]["notebooks"]:
        assert f'href="{nb["notebook"]}.html"' in index
        for key, value in nb["headlines"].items():
            assert f"{key}: <strong>{value}</strong>" in index.replace("&#x27;", "'")
    manifest = report_run["summary"]["manifest"]
    assert manifest["taken_at"] in index and report_run["summary"]["kit_version"] in index


def test_findings_files_are_written_beside_the_html_and_linked(report_run):
    folder = report_run["folder"]
    csvs = sorted((folder / "findings").glob("*.csv"))
    names = {p.stem for p in csvs}
    assert {
        "reconcile_findings",
        "licence_findings",
        "readiness_findings",
        "provisioning_failures",
        "trend_changes",
    } <= names
    html = "".join(p.read_text() for p in folder.glob("*.html"))
    for csv in csvs:
        assert (csv.with_suffix(".parquet")).is_file() and csv.with_suffix(".xlsx").is_file()
        assert f'href="findings/{csv.name}"' in html
        assert f'href="findings/{csv.name}"' in (folder / "index.html").read_text()
        assert len(pd.read_csv(csv)) == len(pd.read_parquet(csv.with_suffix(".parquet")))


def test_reconcile_findings_file_holds_the_analysis_result(report_run, history):
    from zoomaudit import reconcile, snapshot

    expected = reconcile.reconcile(snapshot.load(history[-1])).findings
    written = pd.read_parquet(report_run["folder"] / "findings" / "reconcile_findings.parquet")
    assert len(written) == len(expected)
    assert (
        written["category"].value_counts().to_dict()
        == expected["category"].astype(str).value_counts().to_dict()
    )


def test_trends_compare_the_two_snapshots(report_run):
    heads = {n["notebook"]: n["headlines"] for n in report_run["summary"]["notebooks"]}
    trend = heads["50_track_trends"]
    assert trend["snapshots compared"] == 2
    assert trend["new"] + trend["resolved"] > 0  # the demo's changes moved findings


def test_html_is_offline_with_plotly_once_and_no_code(report_run):
    for html_path in report_run["folder"].glob("[0-9]*.html"):
        html = html_path.read_text()
        assert html.count("* plotly.js v") == 1, html_path.name
        assert html.count("dt_src_b64") == 0 and "unpkg.com" not in html
        assert not re.search(r"<script[^>]+src=[\"']?https?:", html), html_path.name
        assert not re.search(r"<link[^>]+href=[\"']?https?:", html), html_path.name
        assert not re.search(r"import[^;]*from\s+['\"]https?:", html), html_path.name
        assert "require.min.js" not in html and "MathJax.js" not in html
        assert "report.setup()" not in html  # code cells are excluded
        assert 'class="plotly-graph-div"' in html or html_path.stem.startswith("40")


def test_papermill_parameters_carry_paths_only(report_run, planted):
    for path in report_run["folder"].glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        params = nb.metadata["papermill"]["parameters"]
        declared = papermill.inspect_notebook(str(ROOT / "notebooks" / path.name))
        assert set(params) <= set(declared)
        assert not {k for k in params if re.search("secret|token|key|password", k)}
        text = json.dumps(params)
        assert not any(v in text for v in planted.values())


def test_planted_secrets_appear_in_no_output_file_or_log(report_run, planted):
    files = [p for p in report_run["folder"].rglob("*") if p.is_file()] + [report_run["log"]]
    assert len(files) > 10
    for path in files:
        data = path.read_bytes()
        for name, value in planted.items():
            assert value.encode() not in data, f"{name} leaked into {path.name}"


def test_executed_notebooks_pass_nbval_lax(report_run, tmp_path):
    """nbval re-runs the EXECUTED copies (they carry the injected parameters, so they read the
    same snapshot); out_dir is blanked so the re-run writes nothing."""
    for path in report_run["folder"].glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if "injected-parameters" in cell.metadata.get("tags", []):
                cell.source = re.sub(r'out_dir = ".*"', 'out_dir = ""', cell.source)
        nbformat.write(nb, tmp_path / path.name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-o",
            "addopts=",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (tmp_path / "nbval.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-3000:]
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 5 * 8, proc.stdout[-500:]


def _tiny_notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}"),
        nbformat.v4.new_code_cell(
            'snapshot: str = "latest"  # the snapshot to read for this test',
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(code),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_a_failing_notebook_fails_the_command_and_is_named(history, tmp_path, monkeypatch, capsys):
    from zoomaudit.cli import main

    folder = tmp_path / "nbs"
    folder.mkdir()
    _tiny_notebook(folder / "10_work_fine.ipynb", "import sys\nprint(snapshot, sys.executable)")
    _tiny_notebook(folder / "60_break_things.ipynb", "1 / 0")
    monkeypatch.setattr(report, "NOTEBOOKS_DIR", folder)
    monkeypatch.setenv("ZOOMAUDIT_NO_KEYRING", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "report",
                str(history[-1]),
                "--data-dir",
                str(history[0].parent),
                "--out",
                str(tmp_path / "reports"),
            ]
        )
    assert exit_info.value.code != 0
    error_line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert len(error_line) == 1
    assert "60_break_things: ZeroDivisionError" in error_line[0]
    assert "10_work_fine" not in error_line[0]
    index = (tmp_path / "reports" / history[-1].name / "index.html").read_text()
    assert "FAILED: ZeroDivisionError" in index and "10_work_fine.html" in index
    fine = (tmp_path / "reports" / history[-1].name / "10_work_fine.ipynb").read_text()
    assert str(history[-1]) in fine  # the snapshot path arrived as the parameter
    assert json.dumps(sys.executable)[1:-1] in fine  # the kernel runs this venv's python


def test_rollout_report_uses_the_candidates_file_and_the_wave_plan(report_run, demo_params):
    heads = {n["notebook"]: n["headlines"] for n in report_run["summary"]["notebooks"]}
    rollout = heads["40_plan_rollout"]
    assert rollout["candidates"] == len(pd.read_csv(demo_params["candidates_file"]))
    assert rollout["waves"] >= 1 and "waves" in demo_params
    members = pd.read_csv(report_run["folder"] / "findings" / "rollout_wave_members.csv")
    assert set(members["wave_name"]) >= {"pilot"}
