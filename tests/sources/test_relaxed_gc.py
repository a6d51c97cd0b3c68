"""relaxed_gc: GC thresholds raised inside a pull and restored after (also on errors)."""

from __future__ import annotations

import gc

import pytest

from zoomaudit.sources.http import relaxed_gc


def test_thresholds_raised_inside_and_restored_after_nested_blocks_and_errors():
    before = gc.get_threshold()
    with relaxed_gc(50_000, 20, 100):
        assert gc.get_threshold() == (50_000, 20, 100)
        with relaxed_gc():  # nested (two pulls at once): the outer block restores
            assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.get_threshold() == (50_000, 20, 100)
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), relaxed_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
