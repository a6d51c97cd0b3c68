"""Pseudonyms: stable, keyed, shape-preserving; snapshots redacted at the data level."""

from __future__ import annotations

import json

import pytest

from zoomaudit import redact
from zoomaudit.errors import ConfigError
from zoomaudit.snapshot import Snapshot

KEY = "unit-test-key-0123456789abcdef"


def _snapshot() -> Snapshot:
    return Snapshot.from_tables(
        {
            "entra_users": [
                {
                    "entra_id": "e1",
                    "user_principal_name": "Ana.Alves@contoso.example",
                    "display_name": "Ana Alves",
                    "given_name": "Ana",
                    "surname": "Alves",
                    "mail": "ana.alves@contoso.example",
                    "mail_nickname": "ana.alves",
                    "proxy_addresses": [
                        "SMTP:ana.alves@contoso.example",
                        "smtp:aa@contoso.example",
                    ],
                    "other_mails": ["ana@gmail.example"],
                    "department": "Sales",
                    "employee_id": "4711",
                },
            ],
            "zoom_users": [
                {
                    "zoom_id": "z1",
                    "email": "ana.alves@contoso.example",
                    "first_name": "Ana",
                    "last_name": "Alves",
                    "display_name": "Ana Alves",
                    "type": 2,
                    "status": "active",
                },
            ],
            "provisioning_events": [
                {
                    "event_id": "p1",
                    "source_id": "e1",
                    "source_display_name": "Ana Alves",
                    "source_identity_type": "User",
                    "error_reason": "User Ana Alves (ana.alves@contoso.example) already exists",
                    "modified_properties": json.dumps(
                        [{"displayName": "emails", "newValue": "ana.alves@contoso.example"}]
                    ),
                },
            ],
            "entra_assignments": [
                {
                    "assignment_id": "a1",
                    "principal_id": "g1",
                    "principal_type": "Group",
                    "principal_display_name": "Zoom Pilot",
                },
                {
                    "assignment_id": "a2",
                    "principal_id": "e1",
                    "principal_type": "User",
                    "principal_display_name": "Ana Alves",
                },
            ],
        },
        manifest={"tenant": "contoso", "admin": "boss@contoso.example"},
    )


def test_same_value_same_pseudonym_and_key_matters():
    one, two, other = (
        redact.Pseudonymizer(KEY),
        redact.Pseudonymizer(KEY),
        redact.Pseudonymizer(KEY + "x"),
    )
    assert one.email("ana@contoso.example") == two.email("ana@contoso.example")
    assert one.email("ana@contoso.example") != other.email("ana@contoso.example")
    assert one.email("ana@contoso.example") != one.email("bob@contoso.example")


def test_email_keeps_domain_blanks_and_case_pattern():
    p = redact.Pseudonymizer(KEY)
    lower, mixed = p.email("ana.alves@contoso.example"), p.email(" Ana.Alves@contoso.example ")
    assert lower.endswith("@contoso.example") and lower.startswith("u") and "ana" not in lower
    assert mixed.startswith(" U") and mixed.endswith(" ")
    assert mixed.strip().lower() == lower  # equal ignoring case and blanks, as before


def test_names_are_pseudonymised_word_by_word():
    p = redact.Pseudonymizer(KEY)
    assert p.name("Ana Alves") == f"{p.name('Ana')} {p.name('Alves')}"
    assert "Ana" not in p.name("Ana Alves")
    assert p.apply(redact.NAME, "Núñez") == p.apply(redact.NAME, "Nu\u0301n\u0303ez")


def test_redacted_snapshot_has_no_name_or_address_but_keeps_ids_and_groups():
    snap = _snapshot()
    red = redact.redact_snapshot(snap, KEY)
    dump = json.dumps({n: t.astype(str).to_dict("records") for n, t in red.tables.items()})
    dump += json.dumps(red.manifest)
    for secret in ("Ana", "Alves", "ana.alves", "boss@", "4711", "ana@gmail"):
        assert secret not in dump, secret
    users = red.table("entra_users")
    assert users.loc[0, "entra_id"] == "e1" and users.loc[0, "department"] == "Sales"
    assert users.loc[0, "proxy_addresses"][0].startswith("SMTP:u")
    assignments = red.table("entra_assignments")
    assert "Zoom Pilot" in set(assignments["principal_display_name"])
    # the Zoom e-mail and the Entra mail still join after redaction
    assert red.table("zoom_users").loc[0, "email"] == users.loc[0, "mail"]
    reason = red.table("provisioning_events").loc[0, "error_reason"]
    assert reason.startswith("User N") and "@contoso.example" in reason
    assert red.manifest["redacted"] is True


def test_missing_or_short_key_is_refused_with_a_how_to():
    with pytest.raises(ConfigError, match="ZOOMAUDIT_REDACT_KEY"):
        redact.require_key(None)
    with pytest.raises(ConfigError, match="16 characters"):
        redact.require_key("short")
    assert redact.require_key(KEY) == KEY


def test_redacted_copies_go_to_a_private_scratch_folder(tmp_path):
    snap = _snapshot()
    data = tmp_path / "snapshots"
    src = redact.write_snapshot(snap, data / "20260115T120000Z_test")
    scratch, copy, copies = redact.redacted_copies(src, data, KEY)
    try:
        assert scratch.stat().st_mode & 0o777 == 0o700
        assert not scratch.is_relative_to(tmp_path)
        assert (copy / "manifest.json").is_file() and copy.parent == copies
        assert "Ana" not in (copy / "tables" / "entra_users.parquet").read_bytes().decode(
            "latin-1"
        )
    finally:
        import shutil

        shutil.rmtree(scratch)


def test_parameters_naming_a_person_get_the_same_pseudonym_as_the_data():
    params = redact.redact_params({"explain_user": "Ana.Alves@contoso.example", "days": 3}, KEY)
    red = redact.redact_snapshot(_snapshot(), KEY)
    upn = red.table("entra_users").loc[0, "user_principal_name"]
    assert params == {"explain_user": upn, "days": 3}
