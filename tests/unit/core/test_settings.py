"""Settings: every setting is documented in the README; errors name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, settings_markdown

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"`(EMC_[A-Z_]+)`", README.read_text()))
    expected = {f"EMC_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set()


def test_generated_table_lists_every_field() -> None:
    table = settings_markdown()
    assert table.count("\n| `EMC_") == len(Settings.model_fields)


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMC_COLLECTOR_PORT", "8123")
    monkeypatch.setenv("EMC_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    settings = Settings()
    assert settings.collector_port == 8123
    assert settings.bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert not settings.uses_local_kafka


def test_bad_proxy_list_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMC_TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip")
    with pytest.raises(ValidationError, match="EMC_TRUSTED_PROXIES"):
        Settings()


def test_admin_token_is_masked() -> None:
    settings = Settings(admin_token="s3cret")
    assert "s3cret" not in repr(settings)


def test_visitor_secret_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.visitor_secret()
    assert len(first) == 64
    assert Settings(data_dir=tmp_path).visitor_secret() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text()
    block = text.split("<!-- settings:start", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert block.split("\n", 1)[1].strip() == settings_markdown().strip()
