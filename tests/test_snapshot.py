"""Snapshot writing: atomic rename, owner-only files, listing, latest, incomplete refusal."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pandas as pd
import pytest

from zoomaudit import snapshot
from zoomaudit.errors import SnapshotError
from zoomaudit.snapshot import SnapshotWriter, latest, list_snapshots, load

USERS = pd.DataFrame(
    {
        "entra_id": ["a", "b"],
        "user_principal_name": ["a@x", "b@x"],
        "other_mails": [["o@x"], []],
        "account_enabled": [True, None],
    }
)


def write(data_dir, when: datetime, *, complete=True, label="contoso") -> snapshot.Path:
    with SnapshotWriter(data_dir, label, taken_at=when) as w:
        w.raw("entra", "users", b'{"value": [{"id": "a"}]}')
        w.raw("entra", "users", b'{\n "value": []\n}')
        w.table("entra_users", USERS)
        w.schema("zoom.job.1", {"id": "s", "synchronizationRules": []})
        manifest = {
            "complete": complete,
            "counts": {"entra_users": {"expected": 2, "received": 2}},
        }
        if not complete:
            manifest["incomplete_reason"] = "users: expected 3, received 2"
        return w.commit(manifest)


def test_written_snapshot_loads_with_typed_tables_and_raw_pages(tmp_path):
    import gzip

    path = write(tmp_path, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert path.name == "20260102T030405Z_contoso"
    snap = load(path)
    assert snap.id == path.name and snap.complete
    users = snap.table("entra_users")
    assert list(users["entra_id"]) == ["a", "b"]
    assert str(users["account_enabled"].dtype) == "boolean"
    assert snap.schemas["zoom.job.1"]["id"] == "s"
    lines = gzip.decompress((path / "raw/entra/users.jsonl.gz").read_bytes()).splitlines()
    assert len(lines) == 2  # one page per line, even when the page had newlines


def test_files_are_owner_only(tmp_path):
    path = write(tmp_path, datetime(2026, 1, 2, tzinfo=UTC))
    for root, dirs, files in os.walk(path):
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700
        for f in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_interrupted_write_leaves_nothing_and_keeps_earlier(tmp_path):
    earlier = write(tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RuntimeError):
        with SnapshotWriter(tmp_path, "contoso") as w:
            w.table("entra_users", USERS)
            raise RuntimeError("network gone")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert load(earlier).complete


def test_same_second_does_not_overwrite(tmp_path):
    when = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = write(tmp_path, when), write(tmp_path, when)
    assert a != b and load(b).id == b.name


def test_list_and_latest_skip_incomplete_unless_allowed(tmp_path):
    write(tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    newest = write(tmp_path, datetime(2026, 1, 3, tzinfo=UTC), complete=False)
    (tmp_path / ".tmp-half-done").mkdir()
    infos = list_snapshots(tmp_path)
    assert [i.complete for i in infos] == [True, False]
    assert infos[0].counts["entra_users"]["received"] == 2
    assert latest(tmp_path).taken_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert latest(tmp_path, allow_incomplete=True).path == newest
    with pytest.raises(SnapshotError, match="incomplete"):
        load(newest)


def test_latest_without_snapshots_says_what_to_do(tmp_path):
    with pytest.raises(SnapshotError, match="zoomaudit pull"):
        latest(tmp_path / "none")
