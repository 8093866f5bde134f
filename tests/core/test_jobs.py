"""Progress reports and cancellation tokens shared by every long job."""

from __future__ import annotations

import pytest

from sorter.core.jobs import Cancelled, CancelToken, Progress, RateMeter


def test_cancel_token_raises_only_after_cancel() -> None:
    token = CancelToken()
    token.raise_if_cancelled()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.raise_if_cancelled()


def test_progress_fraction_is_bounded_and_unknown_without_total() -> None:
    assert Progress("Scoring", 5, 10).fraction == 0.5
    assert Progress("Scoring", 12, 10).fraction == 1.0
    assert Progress("Scanning", 5, None).fraction is None


def test_rate_meter_gives_rate_and_eta() -> None:
    meter = RateMeter("Scoring", total=100)
    meter.started -= 2.0  # pretend two seconds passed
    p = meter.report(50)
    assert p.rate == pytest.approx(25, rel=0.05)
    assert p.eta_s == pytest.approx(2.0, rel=0.05)
    assert meter.report(0).rate is None
