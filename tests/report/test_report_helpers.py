"""Report runner helpers: snapshot resolution, notebook selection, HTML export, safety checks."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import plotly.graph_objects as go
import pytest

from zoomaudit import charts, cli_report, report, report_html, tables
from zoomaudit.errors import ConfigError, ReportError, SnapshotError
from zoomaudit.redact import write_snapshot
from zoomaudit.snapshot import Snapshot


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "snapshots"
    for name, when, complete in (
        ("a", "2026-01-01T00:00:00Z", True),
        ("b", "2026-01-03T00:00:00Z", True),
        ("c", "2026-01-05T00:00:00Z", False),
    ):
        write_snapshot(
            Snapshot.from_tables({}, taken_at=when, id=name, manifest={"complete": complete}),
            data / name,
        )
    return data


def test_latest_is_the_newest_complete_snapshot(data_dir):
    assert report.resolve_snapshot("latest", data_dir).name == "b"
    assert report.resolve_snapshot("c", data_dir).name == "c"
    assert report.resolve_snapshot(str(data_dir / "a"), data_dir).name == "a"
    assert [p.name for p in report.snapshot_dirs(data_dir)] == ["a", "b", "c"]


def test_unknown_snapshot_or_empty_folder_is_one_clear_error(data_dir, tmp_path):
    with pytest.raises(SnapshotError, match="not found"):
        report.resolve_snapshot("nope", data_dir)
    with pytest.raises(SnapshotError, match="no complete snapshot"):
        report.resolve_snapshot("latest", tmp_path / "empty")


def test_notebooks_are_selected_by_number_or_name():
    names = [p.stem for p in report.list_notebooks(["10", "30_audit_licences.ipynb"])]
    assert names == ["10_reconcile_users", "30_audit_licences"]
    with pytest.raises(ReportError, match="no notebook named '99'"):
        report.list_notebooks(["99"])


def test_counts_and_pick_user_skip_in_sync():
    findings = pd.DataFrame(
        {
            "category": ["in_sync", "attribute_drift", "attribute_drift", "unmanaged_zoom_user"],
            "user_principal_name": ["ok@x", "d1@x", "d2@x", pd.NA],
            "entra_id": ["1", "2", "3", pd.NA],
            "zoom_user_name": [pd.NA, pd.NA, pd.NA, "z@x"],
        }
    ).astype("str")
    assert report.counts(findings) == {"attribute_drift": 2, "unmanaged_zoom_user": 1}
    assert report.pick_user(findings) == "d1@x"
    assert report.pick_user(findings, "chosen@x") == "chosen@x"
    assert report.pick_user(findings.iloc[[0, 3]]) == "z@x"


def test_params_parse_json_values_and_refuse_malformed_pairs():
    assert cli_report.parse_params(["waves=w.yaml", "inactive_days=30", 'groups=["A","B"]']) == {
        "waves": "w.yaml",
        "inactive_days": 30,
        "groups": ["A", "B"],
    }
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        cli_report.parse_params(["novalue"])


def test_secret_in_a_written_file_stops_publishing(tmp_path):
    (tmp_path / "a.html").write_text("<p>token-abcdef123</p>")
    report._check_no_secrets(tmp_path, ["other-value"])
    with pytest.raises(ReportError, match="a.html"):
        report._check_no_secrets(tmp_path, ["token-abcdef123"])


def test_publish_replaces_the_previous_folder(tmp_path):
    final, staging = tmp_path / "r", tmp_path / ".r.partial"
    final.mkdir()
    (final / "old.txt").write_text("old")
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    report.publish(staging, final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert [p.name for p in final.iterdir()] == ["new.txt"]


def test_html_export_hides_code_and_links_no_cdn(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title here\n\nSome $x$ math"),
        nbformat.v4.new_code_cell(
            "secret_code_marker = 1",
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<b>out</b>"})],
        ),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    report.export_html(path, tmp_path / "n.html")
    html = (tmp_path / "n.html").read_text()
    assert "<title>Title here</title>" in html and "<b>out</b>" in html
    assert "secret_code_marker" not in html
    assert not re.search(r"<script[^>]+src=", html)
    assert "cdnjs" not in html and "mermaid.esm" not in html


def test_index_page_names_failures_and_headlines():
    summary = {
        "report_id": "s1",
        "snapshot_id": "s1",
        "generated_at": "now",
        "kit_version": "0.1.0",
        "redacted": True,
        "status": "failed",
        "manifest": {"taken_at": "2026-01-01T00:00:00Z", "counts": {"users": 5}},
        "notebooks": [
            {
                "notebook": "10_x",
                "title": "X <b>",
                "status": "failed",
                "error": "ValueError: boom",
                "execute_s": 1.0,
                "headlines": {"users": 3},
            }
        ],
    }
    html = report_html.index_html(summary)
    assert "FAILED: ValueError: boom" in html and "users: <strong>3</strong>" in html
    assert "X &lt;b&gt;" in html and "pseudonyms" in html and "rows: users" in html


def test_explode_and_displayable():
    frame = pd.DataFrame(
        {"id": ["1", "2", "3"], "attrs": ["a, b", pd.NA, ""], "ev": [{"k": 1}, ["x"], None]}
    )
    long = tables.explode(frame, "attrs", name="attribute")
    assert long[["id", "attribute"]].values.tolist() == [["1", "a"], ["1", "b"]]
    shown = tables.displayable(frame)
    assert shown["ev"].tolist()[:2] == ['{"k": 1}', '["x"]'] and pd.isna(shown["ev"].iloc[2])


def test_chart_builders_return_figures_also_for_empty_input():
    frame = pd.DataFrame(
        {
            "category": ["a", "a", "b"],
            "status": ["new", "new", "resolved"],
            "at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-02"], utc=True),
        }
    )
    fig = charts.counts_bar(frame, "category", title="t")
    assert isinstance(fig, go.Figure) and list(fig.data[0].x) == [2, 1]
    assert isinstance(charts.over_time(frame, "at", title="t", color="status"), go.Figure)
    assert isinstance(charts.stacked_share(frame, "category", "status", title="t"), go.Figure)
    empty = charts.counts_bar(frame.iloc[0:0], "category", title="t")
    assert empty.layout.annotations[0].text == "nothing to show"
    assert isinstance(
        charts.funnel(pd.DataFrame({"stage": ["p", "a"], "count": [5, 3]})), go.Figure
    )


def test_offline_renderer_emits_no_script_src_or_mathjax():
    bundle = charts.OfflineRenderer().to_mimebundle(go.Figure(go.Bar(x=[1], y=[2])).to_dict())
    html = bundle["text/html"]
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["type"] == "bar"
    assert "Plotly.newPlot" in html and "<script src" not in html and "mathjax" not in html.lower()


def test_wave_table_without_a_plan_is_empty_with_columns():
    assert list(tables.wave_table(None).columns)[:3] == ["wave", "name", "role"]
    plan = {
        "waves": [
            {
                "number": 1,
                "name": "pilot",
                "role": "Basic",
                "assign": "users",
                "max_users": 50,
                "counts": {"selected": 3, "ready": 2, "blocked": 1},
            }
        ]
    }
    assert tables.wave_table(plan).loc[0, ["name", "ready", "blocked"]].tolist() == ["pilot", 2, 1]


def test_manifest_counts_read_as_received_and_expected():
    assert report_html._count_text({"expected": 5, "received": 5}) == "5 (expected 5)"
    assert report_html._count_text({"expected": None, "received": 7}) == "7"
    assert report_html._count_text(3) == "3"


def test_report_on_an_incomplete_snapshot_is_refused_before_anything_runs(data_dir, tmp_path):
    with pytest.raises(SnapshotError, match="incomplete"):
        report.run("c", data_dir=data_dir, reports_dir=tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


def test_index_lists_every_findings_file():
    summary = {
        "report_id": "s",
        "snapshot_id": "s",
        "generated_at": "now",
        "kit_version": "0",
        "redacted": False,
        "status": "ok",
        "manifest": {},
        "notebooks": [],
        "findings": ["findings/a.csv", "findings/a.parquet", "findings/b.csv"],
    }
    html = report_html.index_html(summary)
    assert '<li>a: <a href="findings/a.csv">CSV</a> · <a href="findings/a.parquet">PARQUET' in html
    assert '<li>b: <a href="findings/b.csv">CSV</a></li>' in html
