"""``core.mail``: the SMTP URL, the composed message (pure), and the off switch."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from core import mail
from core.settings import Settings


def test_parse_smtp_url() -> None:
    assert mail.parse_smtp_url("smtp://relay.gov.vn") == mail.SmtpTarget("relay.gov.vn", 587, False)
    assert mail.parse_smtp_url("smtps://u%40x:p%2Fw@mail.gov.vn:2465") == mail.SmtpTarget(
        "mail.gov.vn", 2465, True, "u@x", "p/w"
    )
    assert mail.parse_smtp_url("smtps://mail.gov.vn").port == 465
    with pytest.raises(ValueError, match="EMC_SMTP_URL"):
        mail.parse_smtp_url("http://mail.gov.vn")
    with pytest.raises(ValueError, match="EMC_SMTP_URL: bad port"):
        mail.parse_smtp_url("smtp://mail.gov.vn:99999")


def test_settings_validate_and_mask_the_url() -> None:
    settings = Settings(smtp_url="smtp://u:pw-Zq81x@h:25")  # type: ignore[arg-type]
    assert "pw-Zq81x" not in repr(settings)
    assert mail.target_of(settings).password == "pw-Zq81x"
    with pytest.raises(ValueError, match="EMC_SMTP_URL"):
        Settings(smtp_url="ftp://h")  # type: ignore[arg-type]
    off = Settings(smtp_url="")  # type: ignore[arg-type]
    with pytest.raises(mail.MailOff, match="EMC_SMTP_URL"):
        mail.target_of(off)


def test_compose_vietnamese_text_and_attachments() -> None:
    message = mail.compose(
        mail.Mail(
            ("a@b.vn", "c@d.vn"),
            "Báo cáo quý I năm 2026: Tỉnh Bắc Giang",
            "Tổng số hồ sơ tiếp nhận: 30\n",
            (mail.Attachment("biểu mẫu.xlsx", b"PK\x03\x04xlsx", mail.XLSX_MIME),),
            "<abc@openemc>",
        ),
        "OpenEMC <x@y.vn>",
        date_epoch=0,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["To"] == "a@b.vn, c@d.vn"
    assert parsed["Subject"] == "Báo cáo quý I năm 2026: Tỉnh Bắc Giang"
    assert parsed["Message-ID"] == "<abc@openemc>"
    assert parsed["Date"] == "Thu, 01 Jan 1970 00:00:00 -0000"
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == "Tổng số hồ sơ tiếp nhận: 30\n"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "biểu mẫu.xlsx"
    assert attachment.get_content_type() == mail.XLSX_MIME
    assert attachment.get_payload(decode=True) == b"PK\x03\x04xlsx"


def test_send_to_nothing_listening_is_a_mail_error() -> None:
    from tests.conftest import free_port

    target = mail.SmtpTarget("127.0.0.1", free_port(), False)
    message = mail.compose(mail.Mail(("a@b.vn",), "s", "b"), "x@y.vn")
    with pytest.raises(mail.MailError, match=r"127\.0\.0\.1"):
        mail.send(target, message, ["a@b.vn"], timeout_s=2, starttls=True)
