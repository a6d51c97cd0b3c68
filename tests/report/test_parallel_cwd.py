"""Notebooks run in parallel threads: each kernel works in the report folder, and the runner
never changes the process's working directory (papermill's ``cwd=`` would, and races)."""

from __future__ import annotations

import os

import nbformat

from zoomaudit import report


def _notebook(path, name: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('snapshot = ""\ndata_dir = ""\nout_dir = ""')
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        f"import os, pathlib, time\ntime.sleep(0.5)\n"
        f"pathlib.Path(out_dir, {name!r} + '.txt').write_text(os.getcwd())"
    )
    nb.cells = [params, body]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_parallel_notebooks_write_into_their_report_folder_without_chdir(tmp_path, monkeypatch):
    sources = tmp_path / "src"
    sources.mkdir()
    paths = []
    for name in ("a", "b", "c"):
        _notebook(sources / f"{name}.ipynb", name)
        paths.append(sources / f"{name}.ipynb")
    out = tmp_path / "report"
    out.mkdir()
    snap = tmp_path / "snap"
    snap.mkdir()
    calls = []
    real_chdir = os.chdir
    monkeypatch.setattr(os, "chdir", lambda p: (calls.append(p), real_chdir(p)))
    before = os.getcwd()
    results = report._execute_all(paths, out, snap, tmp_path, {}, jobs=3)
    assert [r["status"] for r in results] == ["ok", "ok", "ok"], results
    # papermill's file handler re-enters the current directory around reads and writes;
    # nothing may move the process anywhere else
    assert {str(p) for p in calls} <= {before} and os.getcwd() == before
    for name in ("a", "b", "c"):
        assert (out / f"{name}.txt").read_text() == str(out.resolve())
