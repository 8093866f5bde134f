"""`sorter self-test` wiring: options reach the self-test, the exit code comes back."""

from __future__ import annotations

import pytest

from sorter import selftest
from sorter.cli import main


@pytest.fixture
def calls(monkeypatch) -> list[dict]:
    seen: list[dict] = []

    def fake_run(window, *, timeout_s, device):
        seen.append({"window": window, "timeout_s": timeout_s, "device": device})
        return 1 if device == "cuda" else 0

    monkeypatch.setattr(selftest, "run_self_test", fake_run)
    return seen


def test_no_window_skips_the_window_check(calls) -> None:
    assert main(["self-test", "--no-window", "--device", "cpu", "--timeout", "9"]) == 0
    assert calls == [{"window": None, "timeout_s": 9.0, "device": "cpu"}]


def test_default_checks_the_window_in_a_subprocess_and_returns_failures(calls) -> None:
    assert main(["self-test", "--device", "cuda"]) == 1
    assert callable(calls[0]["window"])


def test_bad_device_is_a_usage_error(calls) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["self-test", "--device", "tpu"])
    assert exc.value.code == 2
    assert calls == []
