"""Timing the services do not promise: both sources may finish at the same moment, so the
snapshot writer's threads must not trip over each other."""

from __future__ import annotations

from pathlib import Path

from zoomaudit.snapshot import SnapshotWriter


def test_two_writer_threads_creating_the_same_folder_do_not_fail(tmp_path, monkeypatch):
    """Entra and Zoom tables are written on two threads; when both create ``tables/`` at
    once, one of them finds it already made between its check and its mkdir."""
    writer = SnapshotWriter(tmp_path, "t")
    try:
        first = writer._dir("tables")
        # the other thread's view: "not there yet" when it checked, there when it creates it
        monkeypatch.setattr(Path, "is_dir", lambda self: False)
        assert writer._dir("tables") == first
    finally:
        monkeypatch.undo()
        writer.abort()
