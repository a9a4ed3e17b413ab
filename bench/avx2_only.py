"""Run a bench as on an AVX2-only CPU (AMD Zen 3's instruction sets): every side, every library.

``--as-avx2`` in a bench calls :func:`rerun_as_avx2_only`, which builds ``avx2_only.c`` (with the system's C
compiler, once per source: the library is cached by its source's hash) and runs the same bench again with
the library preloaded, so that the bench and each process it starts (ours and the peer's alike) see a CPU
without AVX-512, VNNI or AMX in every CPUID answer: oneDNN, ONNX Runtime's MLAS, PyTorch and NumPy all
choose their AVX2 kernels. Capping one library (``ONEDNN_MAX_CPU_ISA``) left the peer's ONNX Runtime on
AVX-512 and VNNI, which favoured it. Needs Linux on x86-64 with CPUID faulting ("cpuid_fault" in
/proc/cpuinfo) and a C compiler.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

SOURCE = Path(__file__).with_name("avx2_only.c")
MARK = "BENCH_AVX2_ONLY"  # set in the rerun bench's environment
# glibc picked its string functions before any preloaded library ran: its own switch takes AVX-512 away.
GLIBC_TUNABLES = "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"


def add_argument(parser: argparse.ArgumentParser) -> None:
    """Give a bench the ``--as-avx2`` flag."""
    parser.add_argument(
        "--as-avx2",
        action="store_true",
        help="run every side as on an AVX2-only CPU: no AVX-512, VNNI or AMX for any library",
    )


def rerun_if_asked(args: argparse.Namespace) -> None:
    """With ``--as-avx2``, replace this process with the same bench under the mask (once)."""
    if args.as_avx2 and not active():
        rerun_as_avx2_only(sys.argv)


def active() -> bool:
    """Whether this process runs under the mask."""
    return os.environ.get(MARK) == "1"


def cpu_line() -> str:
    """The CPU a bench ran on, as :func:`neural_style.hardware.describe_cpu` says, and the mask if any."""
    from neural_style.hardware import describe_cpu

    mask = "\nrun as an AVX2-only CPU: no AVX-512, VNNI or AMX in any CPUID answer (bench/avx2_only.c)"
    return describe_cpu() + (mask if active() else "")


def build_library() -> Path:
    """Compile ``avx2_only.c`` into the user's cache (once per source text); return the library's path."""
    source = SOURCE.read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "csci-psets-bench"
    library = cache / f"avx2_only-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if library.exists():
        return library
    compiler = _compiler()
    if compiler is None:
        sys.exit("--as-avx2 needs a C compiler (cc or gcc)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        built = Path(scratch) / library.name
        done = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(SOURCE)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            sys.exit(f"--as-avx2: building {SOURCE.name} failed:\n{done.stderr}")
        built.replace(library)  # whole or absent: another bench may be reading the cache
    return library


def can_mask() -> bool:
    """Whether this machine can run a process under the mask (CPUID faulting and a C compiler)."""
    from neural_style.hardware import cpu_flags

    return "cpuid_fault" in cpu_flags() and _compiler() is not None


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def rerun_as_avx2_only(argv: list[str]) -> None:
    """Replace this process with the same bench (``argv`` less ``--as-avx2``) under the mask."""
    if not can_mask():
        sys.exit("--as-avx2 needs CPUID faulting ('cpuid_fault' in /proc/cpuinfo) and a C compiler")
    env = masked_environment(os.environ)
    rest = [argument for argument in argv if argument != "--as-avx2"]
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *rest], env)


def masked_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """Return ``environment`` with what makes a process started with it see an AVX2-only CPU."""
    library = build_library()
    preload = " ".join(filter(None, [str(library), environment.get("LD_PRELOAD", "")]))
    tunables = ":".join(filter(None, [environment.get("GLIBC_TUNABLES", ""), GLIBC_TUNABLES]))
    return {**environment, "LD_PRELOAD": preload, "GLIBC_TUNABLES": tunables, MARK: "1"}
