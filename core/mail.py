"""The one module that talks to an SMTP server (issue 18 items 5 and 6).

Contract:
- ``parse_smtp_url`` reads ``EMC_SMTP_URL`` (``smtp://user:pass@host:587`` or ``smtps://…:465``)
  into an ``SmtpTarget``; ``target_of(settings)`` is that, or ``MailOff`` (a ``UserError``
  naming the setting) when e-mail is off.
- ``compose`` is pure: a ``Mail`` (recipients, subject, text body, attachments, a stable
  Message-ID) becomes a MIME ``EmailMessage`` — UTF-8 text, attachments base64 with their
  file names (RFC 2231 encoded when not ASCII).
- ``send`` blocks (call it from a worker thread): connect, STARTTLS when the server offers it
  and ``EMC_SMTP_STARTTLS`` is on, log in when the URL has a user, hand the message over. It
  raises ``MailError`` (with the server's words) on any failure, so the caller counts and
  retries; recipients the server refused while accepting others are returned.

Why stdlib ``smtplib`` in a thread and not aiosmtplib: a few e-mails a week per agency, sent
from a background loop that already runs blocking work in threads (like every database call),
do not justify a dependency. Why STARTTLS refuses to log in on a server without it: a password
must never cross the network in clear unless the operator said so
(``EMC_SMTP_STARTTLS=false``).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from core.errors import UserError
from core.settings import Settings

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAIL_OFF = (
    "e-mail is off: set EMC_SMTP_URL (smtp://user:pass@host:587 or smtps://user:pass@host:465) "
    "and restart the warehouse"
)


class MailOff(UserError):
    """E-mail was asked for but ``EMC_SMTP_URL`` is unset."""


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message (the text says why)."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to send: ``tls`` True is SMTPS (TLS from the first byte)."""

    host: str
    port: int
    tls: bool
    user: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Mail:
    """One e-mail: ``message_id`` is stable per delivery, so a message resent after a crash
    between hand-over and bookkeeping can be recognised by the receiving side."""

    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    message_id: str = ""


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user[:password]@]host[:port]`` (port 587 by default; 25 also common) or
    ``smtps://…`` (port 465). User and password may be percent-encoded. ValueError names
    ``EMC_SMTP_URL``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"EMC_SMTP_URL: scheme {parts.scheme!r} is not smtp or smtps")
    if not parts.hostname:
        raise ValueError("EMC_SMTP_URL: no host (smtp://user:pass@host:port)")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"EMC_SMTP_URL: bad port ({exc})") from exc
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        parts.hostname,
        port or (465 if tls else 587),
        tls,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def target_of(settings: Settings) -> SmtpTarget:
    """The configured server; ``MailOff`` when ``EMC_SMTP_URL`` is unset."""
    if settings.smtp_url is None:
        raise MailOff(MAIL_OFF)
    return parse_smtp_url(settings.smtp_url.get_secret_value())


def compose(mail: Mail, sender: str, date_epoch: float | None = None) -> EmailMessage:
    """The MIME message of ``mail`` from ``sender`` (pure; ``date_epoch`` fixes the Date
    header for tests)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(date_epoch, localtime=False)
    if mail.message_id:
        message["Message-ID"] = mail.message_id
    message.set_content(mail.body, charset="utf-8")
    for item in mail.attachments:
        maintype, _, subtype = item.mime.partition("/")
        message.add_attachment(
            item.content, maintype=maintype, subtype=subtype, filename=item.filename
        )
    return message


def send(
    target: SmtpTarget,
    message: EmailMessage,
    recipients: Sequence[str],
    *,
    timeout_s: float,
    starttls: bool,
) -> dict[str, str]:
    """Hand ``message`` to the server for ``recipients`` (blocking). Returns the recipients
    the server refused while accepting others (address → reply); raises ``MailError`` when
    nothing was accepted or the conversation failed."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    try:
        if target.tls:
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout_s, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=timeout_s)
        with client:
            client.ehlo()
            if not target.tls and starttls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if target.user:
                secure = target.tls or isinstance(client.sock, ssl.SSLSocket)
                if not secure and starttls:
                    raise MailError(
                        f"{target.host}:{target.port} offers no STARTTLS: refusing to send the "
                        "password in clear (use smtps://, or set EMC_SMTP_STARTTLS=false)"
                    )
                client.login(target.user, target.password)
            refused = client.send_message(message, to_addrs=list(recipients))
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = "; ".join(f"{a}: {c} {m!r}" for a, (c, m) in exc.recipients.items())
        raise MailError(f"every recipient refused ({reasons})") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{target.host}:{target.port}: {exc or type(exc).__name__}") from exc
    return {a: f"{c} {m.decode(errors='replace')}" for a, (c, m) in refused.items()}
