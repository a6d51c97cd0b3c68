"""Trends: findings keyed by (user, category) compared across consecutive snapshots."""

from __future__ import annotations

import pandas as pd

from zoomaudit import trends


def _findings(*rows) -> pd.DataFrame:
    cols = ["category", "entra_id", "zoom_id", "zoom_user_name"]
    return trends.keyed(pd.DataFrame(rows, columns=cols).assign(source="reconcile"))


def _point(name: str, day: int, *rows) -> trends.Point:
    return trends.Point(name, pd.Timestamp(f"2026-01-{day:02d}", tz="UTC"), _findings(*rows))


DRIFT_A = ("attribute_drift", "a", None, None)
MISSING_B = ("not_provisioned", "b", None, None)
UNMANAGED_Z = ("unmanaged_zoom_user", None, "z9", "x@contoso.example")
PENDING = ("pending_invite", None, None, "New@Contoso.example")


def test_key_prefers_entra_id_then_zoom_id_then_user_name():
    keys = _findings(DRIFT_A, UNMANAGED_Z, PENDING)["key"].tolist()
    assert keys == ["a", "zoom:z9", "name:new@contoso.example"]


def test_compare_names_new_persisting_resolved_and_regressed():
    before = _findings(DRIFT_A, MISSING_B)
    after = _findings(DRIFT_A, UNMANAGED_Z, PENDING)
    diff = trends.compare(before, after, earlier={("zoom:z9", "unmanaged_zoom_user")})
    status = dict(
        zip(diff["key"] + "/" + diff["category"], diff["status"].astype(str), strict=True)
    )
    assert status == {
        "a/attribute_drift": "persisting",
        "b/not_provisioned": "resolved",
        "zoom:z9/unmanaged_zoom_user": "regressed",
        "name:new@contoso.example/pending_invite": "new",
    }


def test_same_user_in_another_category_is_a_new_finding():
    diff = trends.compare(_findings(DRIFT_A), _findings(("not_provisioned", "a", None, None)))
    assert sorted(diff["status"].astype(str)) == ["new", "resolved"]


def test_changes_across_three_snapshots_detect_a_regression():
    points = [_point("s1", 1, DRIFT_A), _point("s2", 2), _point("s3", 3, DRIFT_A)]
    latest = trends.latest_changes(points)
    assert latest[["snapshot_id", "status", "key"]].astype(str).values.tolist() == [
        ["s3", "regressed", "a"]
    ]
    counts = trends.status_counts(points)
    assert counts[
        ["snapshot_id", "new", "regressed", "persisting", "resolved"]
    ].values.tolist() == [["s2", 0, 0, 0, 1], ["s3", 0, 1, 0, 0]]


def test_counts_include_zero_for_categories_absent_from_a_snapshot():
    points = [_point("s1", 1, DRIFT_A, MISSING_B), _point("s2", 2, DRIFT_A)]
    table = trends.counts(points)
    got = table.set_index(["snapshot_id", "category"])["count"].to_dict()
    assert got == {
        ("s1", "attribute_drift"): 1,
        ("s1", "not_provisioned"): 1,
        ("s2", "attribute_drift"): 1,
        ("s2", "not_provisioned"): 0,
    }


def test_a_single_snapshot_has_no_changes():
    points = [_point("s1", 1, DRIFT_A)]
    assert trends.latest_changes(points).empty
    assert trends.headlines(points, trends.latest_changes(points)) == {
        "snapshots compared": 1,
        "findings now": 1,
        "new": 0,
        "regressed": 0,
        "resolved": 0,
    }


def test_history_reads_complete_snapshots_up_to_the_named_one(tmp_path):
    from zoomaudit.redact import write_snapshot
    from zoomaudit.snapshot import Snapshot

    data = tmp_path / "snapshots"
    for i, complete in ((1, True), (2, False), (3, True), (4, True)):
        snap = Snapshot.from_tables(
            {}, taken_at=f"2026-01-0{i}T00:00:00Z", id=f"s{i}", manifest={"complete": complete}
        )
        write_snapshot(snap, data / f"s{i}")
    seen = []
    points = trends.history(
        data, until="s3", analyse=lambda s: seen.append(s.id) or _findings(DRIFT_A)
    )
    assert [p.snapshot_id for p in points] == ["s1", "s3"] == seen
    assert [
        p.snapshot_id for p in trends.history(data, limit=1, analyse=lambda s: _findings())
    ] == ["s4"]


def test_findings_are_cached_per_snapshot_and_code_version(tmp_path):
    from zoomaudit.redact import write_snapshot
    from zoomaudit.snapshot import Snapshot

    data = tmp_path / "snapshots"
    write_snapshot(Snapshot.from_tables({}, taken_at="2026-01-01T00:00:00Z", id="s1"), data / "s1")
    calls = []

    def analyse(snap):
        calls.append(snap.id)
        return _findings(DRIFT_A, UNMANAGED_Z)

    first = trends.history(data, analyse=analyse, cache_dir=tmp_path / "cache")
    second = trends.history(data, analyse=analyse, cache_dir=tmp_path / "cache")
    assert calls == ["s1"]
    assert second[0].snapshot_id == "s1" and second[0].taken_at == first[0].taken_at
    pd.testing.assert_frame_equal(second[0].findings, first[0].findings, check_dtype=False)
    assert trends.history(data, analyse=analyse, cache_dir=None) and calls == ["s1", "s1"]
    # "auto" caches only the default analysis: a custom one is always recomputed
    trends.history(data, analyse=analyse)
    assert calls == ["s1", "s1", "s1"] and not (data / ".trends-cache").exists()
