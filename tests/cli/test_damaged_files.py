"""Damaged or foreign state files (settings, queue, journal, report) as a user meets them."""

from __future__ import annotations

import json

import pytest

from sorter.cli import main
from sorter.core.settings import load_settings, settings_path


@pytest.mark.parametrize(
    "content", [[1, 2], None, "x", {"model_path": 5}, {"default_threshold": "high"}]
)
def test_models_use_default_repairs_any_settings_file(content, capsys) -> None:
    settings_path().write_text(json.dumps(content), encoding="utf-8")
    assert main(["models", "use", "default"]) == 0
    assert "The current model is now default" in capsys.readouterr().out
    assert load_settings().model_path is None
    assert isinstance(json.loads(settings_path().read_text(encoding="utf-8")), dict)
