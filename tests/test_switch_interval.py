"""The worker's thread switch interval (setting switch_interval_us, app.set_switch_interval)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from ostiary.app import set_switch_interval
from ostiary.config import load_settings


@pytest.fixture
def restore() -> Iterator[None]:
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_default_keeps_pythons_own(restore: None) -> None:
    sys.setswitchinterval(0.005)
    settings = load_settings(environ={})
    assert settings.switch_interval_us == 0
    set_switch_interval(settings.switch_interval_us)
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_a_value_sets_it(restore: None) -> None:
    set_switch_interval(load_settings(environ={"OSTIARY_SWITCH_INTERVAL_US": "1000"}).switch_interval_us)
    assert sys.getswitchinterval() == pytest.approx(0.001)


def test_zero_keeps_pythons_own(restore: None) -> None:
    sys.setswitchinterval(0.005)
    set_switch_interval(load_settings(environ={"OSTIARY_SWITCH_INTERVAL_US": "0"}).switch_interval_us)
    assert sys.getswitchinterval() == pytest.approx(0.005)


@pytest.mark.parametrize("value", [-1, 1, 99, 100_001])
def test_out_of_range_is_refused_and_changes_nothing(restore: None, value: int) -> None:
    sys.setswitchinterval(0.005)
    with pytest.raises(ValueError, match="switch_interval_us"):
        set_switch_interval(value)
    assert sys.getswitchinterval() == pytest.approx(0.005)
