"""``--precision auto``: bf16 only where the CPU computes it natively; the CPU's fact is passed in."""

from __future__ import annotations

import logging

import pytest

from neural_style.errors import UsageError
from neural_style.precision import resolve_precision


def test_auto_is_bf16_on_a_cpu_with_native_bf16():
    assert resolve_precision("auto", native_bf16=True) == "bf16"


def test_auto_is_fp32_on_a_cpu_without_native_bf16(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("auto", native_bf16=False) == "fp32"
    assert caplog.records == []


def test_explicit_bf16_without_native_bf16_warns_in_one_line(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("bf16", native_bf16=False) == "bf16"
    (record,) = caplog.records
    assert "slower" in record.getMessage()
    assert "\n" not in record.getMessage()


def test_explicit_bf16_with_native_bf16_is_quiet(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("bf16", native_bf16=True) == "bf16"
    assert caplog.records == []


@pytest.mark.parametrize("native", [True, False])
def test_explicit_fp32_is_kept(native):
    assert resolve_precision("fp32", native_bf16=native) == "fp32"


@pytest.mark.parametrize("native", [True, False])
def test_onnx_models_resolve_auto_to_fp32_silently(native, caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_precision("auto", onnx=True, native_bf16=native) == "fp32"
    assert caplog.records == []


def test_onnx_models_refuse_bf16():
    with pytest.raises(UsageError, match="fp32 only"):
        resolve_precision("bf16", onnx=True)


def test_auto_on_a_gpu_is_fp32():
    assert resolve_precision("auto", device="cuda", native_bf16=True) == "fp32"


def test_unknown_precision_is_refused():
    with pytest.raises(UsageError, match="auto, fp32, bf16"):
        resolve_precision("fp8")
