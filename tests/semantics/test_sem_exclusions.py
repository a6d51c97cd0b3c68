"""Exclusions: kept and counted, expiry inclusive of the day, patterns, expired ones reported."""

from __future__ import annotations

from datetime import date

from fixtures import snapshot, zoom

from zoomaudit.reconcile import reconcile


def write(tmp_path, text):
    p = tmp_path / "exclusions.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def zoom_only():
    return snapshot([], [zoom("z1", "room-1@contoso.example", "Room One"),
                         zoom("z2", "svc-build@contoso.example", "Svc Build"),
                         zoom("z3", "bob@contoso.example", "Bob Stone")])  # fmt: skip


def test_expiry_today_applies_yesterday_is_reported(tmp_path):
    p = write(
        tmp_path,
        """
exclusions:
  - user: ROOM-1@contoso.example
    reason: room
    expires: 2026-01-15
  - user: bob@contoso.example
    reason: leaver
    expires: 2026-01-14
""",
    )
    res = reconcile(zoom_only(), exclusions=p, today=date(2026, 1, 15))
    f = res.findings.set_index("zoom_id")
    assert len(f) == 3  # kept, never dropped
    assert f.loc["z1", "excluded"] and f.loc["z1", "exclusion_reason"] == "room"
    assert not f.loc["z3", "excluded"]
    exp = res.expired_exclusions
    assert list(exp["user_or_pattern"]) == ["bob@contoso.example"]
    assert int(exp["would_match"].iloc[0]) == 1
    assert int(res.summary().set_index("category").loc["unmanaged_zoom_user", "excluded"]) == 1


def test_default_day_is_the_snapshot_date(tmp_path):
    p = write(tmp_path, "exclusions:\n  - user: bob@contoso.example\n    reason: x\n"
                        "    expires: 2026-01-15\n")  # fmt: skip
    f = reconcile(zoom_only(), exclusions=p).findings.set_index("zoom_id")
    assert f.loc["z3", "excluded"]


def test_regex_pattern_is_a_search_like_entra_regex_match(tmp_path):
    p = write(tmp_path, 'exclusions:\n  - pattern: "re:^room-\\\\d+@"\n    reason: rooms\n')
    f = reconcile(zoom_only(), exclusions=p).findings.set_index("zoom_id")
    assert f.loc["z1", "excluded"] and not f.loc["z2", "excluded"]


def test_glob_and_regex_patterns_and_category_limit(tmp_path):
    p = write(
        tmp_path,
        """
exclusions:
  - pattern: "svc-*@contoso.example"
    reason: service accounts
  - pattern: "re:^room-\\\\d+@"
    reason: rooms
    category: pending_invite
""",
    )
    f = reconcile(zoom_only(), exclusions=p).findings.set_index("zoom_id")
    assert f.loc["z2", "excluded"]
    assert not f.loc["z1", "excluded"]  # category limited to pending_invite
    assert not f.loc["z3", "excluded"]
