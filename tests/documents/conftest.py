"""A real SMTP server (aiosmtpd) in the test process, and Django's mail pointed at it.

`smtp_server.messages` are the messages it accepted, parsed; `smtp_server.refuse` holds addresses it answers
550 for; `smtp_server.stop()` takes it down (connections are refused) and `start()` brings it back on the same port.
"""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    @property
    def refuse(self) -> set[str]:
        return self.inbox.refuse

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings, monkeypatch):
    """Started, with Django's mail (and any worker process started after it) sending to it; retries without a wait."""
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    settings.EMAIL_RETRY_SECONDS = 0
    settings.EMAIL_MAX_ATTEMPTS = 3
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(server.port))
    monkeypatch.setenv("EMAIL_RETRY_SECONDS", "0")
    monkeypatch.setenv("EMAIL_MAX_ATTEMPTS", "3")
    yield server
    server.stop()


@pytest.fixture
def run_worker(run_worker):
    """The root conftest's real in-process worker, in a thread of its own: after a browser test, Playwright's event
    loop stays open in this thread for the rest of the session, and Procrastinate's worker needs one of its own."""
    import threading

    from django.db import connection

    def run(**options) -> None:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                run_worker(**options)
            except BaseException as error:  # noqa: BLE001 - raised again in the test's thread
                errors.append(error)
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(300)
        assert not thread.is_alive(), "the worker did not empty the queue in 5 minutes"
        if errors:
            raise errors[0]

    return run
