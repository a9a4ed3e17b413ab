"""The machine: the device from the flags or a name (a missing GPU is a clear error), the precision.

``--precision auto`` is bf16 only where the CPU computes it natively; the CPU's fact is passed in.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import torch

from neural_style.errors import UsageError
from neural_style.hardware import (
    REPORTED_FLAGS,
    cpu_flags,
    describe_cpu,
    detected_cpu_features,
    device_kind,
    pick_device,
    resolve_device,
    resolve_precision,
)
from tests.bench_modules import load_bench_module

avx2_only = load_bench_module("avx2_only")


@pytest.mark.parametrize(
    ("name", "kind"), [("cpu", "cpu"), ("cpu:0", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda")]
)
def test_device_kind_reads_the_name(name, kind):
    assert device_kind(name) == kind


def test_device_kind_accepts_a_torch_device():
    assert device_kind(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("name", ["tpu", "mps", "cuda:x", "cuda:", ""])
def test_other_devices_are_a_usage_error(name):
    with pytest.raises(UsageError, match="use 'cpu' or 'cuda'"):
        device_kind(name)


def test_resolve_device_refuses_a_missing_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="--cuda 0"):
        resolve_device("cuda")


def test_resolve_device_returns_a_torch_device():
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(("cuda", "kind"), [(False, "cpu"), (True, "cuda")])
def test_pick_device_takes_cuda_at_its_word(cuda, kind):
    assert pick_device(cuda=cuda) == kind


def test_accel_without_an_accelerator_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    with pytest.raises(UsageError, match="--accel: no accelerator"):
        pick_device(accel=True)


def test_accel_picks_a_cuda_accelerator(monkeypatch):
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda: torch.device("cuda"))
    assert pick_device(accel=True) == "cuda"


def test_an_accelerator_this_engine_cannot_use_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda: torch.device("xpu"))
    with pytest.raises(UsageError, match="xpu device is not supported"):
        pick_device(accel=True)


def test_mps_without_apples_backend_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(UsageError, match="--mps"):
        pick_device(mps=True)


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


@pytest.mark.skipif("avx2" not in cpu_flags(), reason="an x86 CPU with AVX2")
def test_the_features_this_process_detects_agree_with_the_os_on_an_unmasked_cpu():
    assert {"AVX2", "FMA3"} <= detected_cpu_features()


@pytest.mark.skipif("avx512_bf16" not in cpu_flags(), reason="needs a CPU with AVX512_BF16")
@pytest.mark.skipif(not avx2_only.can_mask(), reason="needs CPUID faulting and a C compiler")
def test_auto_is_fp32_where_the_process_sees_no_native_bf16_though_the_os_lists_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # where the mask's library is built
    program = "from neural_style.hardware import resolve_precision; print(resolve_precision('auto'))"
    command = [sys.executable, "-c", program]
    masked = avx2_only.masked_environment(dict(os.environ))
    resolved = subprocess.run(command, env=masked, capture_output=True, text=True, timeout=120, check=True)
    assert resolved.stdout.split() == ["fp32"]


def test_the_bench_cpu_line_names_the_int8_and_bf16_features_the_os_lists():
    # VNNI decides whether the int8 engines run at all, so a figure without it cannot be read.
    assert {"avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16"} <= set(REPORTED_FLAGS)
    shown = describe_cpu().partition("features: ")[2].split()
    assert [flag for flag in REPORTED_FLAGS if flag in cpu_flags()] == [
        f for f in shown if f in REPORTED_FLAGS
    ]
