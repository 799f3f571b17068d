"""The availability rule for tests that need a server: skip locally, fail in CI."""

from __future__ import annotations

import socket

import pytest

from tests import conftest
from tests.conftest import require_service


def test_a_missing_service_skips_the_test_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"Nothing is not reachable at 127\.0\.0\.1:1"):
        require_service("Nothing", "127.0.0.1", 1)


def test_a_missing_service_fails_the_test_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=r"127\.0\.0\.1:1 .*and CI=true requires it"):
        require_service("Nothing", "127.0.0.1", 1)


def test_a_listening_service_lets_the_test_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        assert require_service("Something", "127.0.0.1", server.getsockname()[1]) is None
    finally:
        server.close()
