"""The C extension built with AddressSanitizer and UndefinedBehaviorSanitizer (into a
temporary folder; the normal build is untouched) runs every capture in the repo, the
fuzz corpus, the entry-point checks, a fuzz slice and generated frames without a single
report."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .cbuild import REPO, SANITIZE, build_sanitized, compile_c, sanitizer_env

REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    return build_sanitized(tmp_path_factory.mktemp("asan"))


def run_python(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          env=sanitizer_env(dict(os.environ)), timeout=timeout)


def test_pipeline_under_asan_and_ubsan(sanitized):
    res = run_python("-m", "tests.fuzz.sanitized_run", str(sanitized))
    report = [m for m in REPORTS if m in res.stderr or m in res.stdout]
    assert res.returncode == 0 and not report, (res.returncode, res.stdout[-3000:],
                                                res.stderr[-6000:])
    assert "sanitized run: OK" in res.stdout
    assert "captures:" in res.stdout and "fuzz inputs: 60" in res.stdout
    assert "generated frame batches: 150" in res.stdout


BUGGY = """
#include <stdlib.h>
int overflow(int i) { volatile int *p = malloc(4 * sizeof(int)); int v = p[i];
                      free((void *)p); return v; }
int shift(int a, int b) { return a << b; }
"""


@pytest.mark.parametrize(("call", "words"), [("overflow(4)", "heap-buffer-overflow"),
                                             ("shift(1, 40)", "shift exponent")])
def test_the_sanitizers_do_report(tmp_path, call, words):
    """The same build flags and environment catch a heap overflow and undefined behaviour
    (so a clean run above means something)."""
    src = tmp_path / "buggy.c"
    src.write_text(BUGGY)
    lib = tmp_path / "buggy.so"
    res = compile_c(src, lib, "-O0", "-g", *SANITIZE)
    assert res.returncode == 0, res.stderr
    res = run_python("-c", f"import ctypes; ctypes.CDLL({str(lib)!r}).{call}", timeout=60)
    assert res.returncode != 0 and words in res.stderr, res.stderr[-2000:]
