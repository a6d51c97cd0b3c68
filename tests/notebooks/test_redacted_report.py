"""``report --redact``: no name or address of the snapshot reaches any report file."""

from __future__ import annotations

import pandas as pd
import pytest

from zoomaudit import report, snapshot

pytestmark = pytest.mark.notebooks

KEY = "test-redaction-key-0123456789abcdef"


def _personal_values(snap) -> set[str]:
    users = snap.table("entra_users")
    zoom = snap.table("zoom_users")
    values = set()
    for series in (
        users["user_principal_name"],
        users["mail"],
        users["display_name"],
        zoom["email"],
        zoom["display_name"],
    ):
        values |= {str(v).strip() for v in series.dropna() if len(str(v).strip()) >= 6}
    return values


@pytest.fixture(scope="module")
def redacted(history, tmp_path_factory):
    out = tmp_path_factory.mktemp("redacted")
    summary = report.run(
        history[-1],
        data_dir=history[0].parent,
        reports_dir=out,
        notebooks=["10", "20"],
        redact_key=KEY,
        jobs=2,
    )
    return summary


def test_redacted_report_runs_into_its_own_folder(redacted, history):
    assert redacted["status"] == "ok", redacted["notebooks"]
    assert redacted["report_id"] == history[-1].name + "-redacted" and redacted["redacted"]


def test_no_name_or_address_of_the_snapshot_appears_in_any_file(redacted, history):
    folder = report.Path(redacted["path"]).parent
    personal = set()
    for path in history:
        personal |= _personal_values(snapshot.load(path))
    assert len(personal) > 100
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix != ".xlsx"]
    assert len(files) >= 6
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaked = [v for v in personal if v in text]
        assert not leaked, f"{path.name} shows {leaked[:3]}"


def test_pseudonyms_keep_domains_and_joins(redacted, history):
    folder = report.Path(redacted["path"]).parent
    findings = pd.read_parquet(folder / "findings" / "reconcile_findings.parquet")
    upns = findings["user_principal_name"].dropna()
    assert len(upns) > 50
    assert upns.str.fullmatch(r"[uU][0-9a-fA-F]{10}@[a-z0-9.-]+").all(), upns.head().tolist()
    original = snapshot.load(history[-1]).table("entra_users")
    domains = set(original["user_principal_name"].str.rsplit("@", n=1).str[-1].str.lower())
    assert set(upns.str.rsplit("@", n=1).str[-1].str.lower()) <= domains
    # same categories as the unredacted analysis: joins still work after pseudonymisation
    from zoomaudit import reconcile

    plain = reconcile.reconcile(snapshot.load(history[-1])).findings
    assert (
        findings["category"].value_counts().to_dict()
        == plain["category"].astype(str).value_counts().to_dict()
    )
