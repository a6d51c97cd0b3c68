"""explain(): one person's story, found by UPN, e-mail, proxy address or ids, any case."""

from __future__ import annotations

import pytest
from fixtures import BASIC, snapshot, user, zoom

from zoomaudit.errors import LookupFailedError
from zoomaudit.explain import explain

MAIL_USERNAME = [
    {"job_id": "zoom.job", "object_mapping": "Provision Azure Active Directory Users",
     "target_attribute": "userName", "expression": "[mail]", "source_type": "Attribute",
     "matching_priority": 1},
]  # fmt: skip


def test_found_by_upn_mail_proxy_and_ids_in_any_case():
    u = user("u1", "Ana Ruiz", proxy_addresses=["SMTP:ana.ruiz@contoso.example",
                                               "smtp:ana@old.example"])  # fmt: skip
    z = zoom("z1", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    snap = snapshot([u], [z], direct=[("u1", BASIC)])
    for q in (
        "ANA.RUIZ@contoso.example",
        "ana@OLD.example",
        "u1",
        "z1",
        " ana.ruiz@contoso.example ",
    ):
        e = explain(snap, q)
        assert e.entra_id == "u1" and e.zoom_key == "z1" and e.category == "in_sync", q


def test_zoom_user_shown_is_the_matched_one_not_the_holder_of_the_query_text():
    # userName comes from mail; another Zoom user happens to hold the UPN
    u = user("u1", "Ana Ruiz", upn="ana@contoso.example", mail="ana.ruiz@contoso.example")
    zm = zoom("zm", "ana.ruiz@contoso.example", "Ana Ruiz", user_type="Basic")
    zo = zoom("zo", "ana@contoso.example", "Ana Other", user_type="Basic")
    snap = snapshot([u], [zm, zo], direct=[("u1", BASIC)], mappings=MAIL_USERNAME)
    e = explain(snap, "ana@contoso.example")
    assert e.entra_id == "u1" and e.zoom_key == "zm"


def test_zoom_only_pending_invite_and_unknown_query():
    snap = snapshot([], [zoom(None, "new@contoso.example", "New Hire", status="pending")])
    e = explain(snap, "NEW@contoso.example")
    assert e.entra_id is None and e.category == "pending_invite"
    with pytest.raises(LookupFailedError):
        explain(snap, "nobody@contoso.example")
