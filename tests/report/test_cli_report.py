"""``zoomaudit report`` refuses unsafe requests before running anything."""

from __future__ import annotations

import pytest

from zoomaudit.cli import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in ("ZOOMAUDIT_REDACT_KEY", "ZOOMAUDIT_CLIENT_SECRET", "ZOOMAUDIT_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZOOMAUDIT_NO_KEYRING", "1")
    monkeypatch.chdir(tmp_path)


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(args)
    return info.value.code


def test_redact_without_a_key_is_a_config_error(tmp_path, capsys):
    code = _run(["report", "latest", "--data-dir", str(tmp_path), "--redact"])
    assert code == 2
    assert "ZOOMAUDIT_REDACT_KEY" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_a_secret_value_is_refused_as_a_notebook_parameter(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOOMAUDIT_CLIENT_SECRET", "very-secret-value-123")
    code = _run(
        [
            "report",
            "latest",
            "--data-dir",
            str(tmp_path),
            "-p",
            "explain_user=very-secret-value-123",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "explain_user" in err and "very-secret-value-123" not in err


def test_missing_snapshot_is_one_clear_line(tmp_path, capsys):
    code = _run(
        [
            "report",
            "latest",
            "--data-dir",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "reports"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "no complete snapshot" in err[0]
