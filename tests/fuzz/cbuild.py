"""Compiling tcpwatch/_seqwalk.c by hand (warnings as errors, or with the sanitizers)
against the running Python's headers."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tcpwatch" / "_seqwalk.c"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all"]


def gcc() -> str:
    exe = shutil.which("gcc")
    if exe is None:
        raise FileNotFoundError("gcc is not installed (pip needs it to build tcpwatch)")
    return exe


def compile_c(source: Path, out: Path, *flags: str, shared: bool = True
              ) -> subprocess.CompletedProcess:
    cmd = [gcc(), *flags, "-fPIC", f"-I{sysconfig.get_paths()['include']}", str(source),
           "-o", str(out)]
    cmd[1:1] = ["-shared"] if shared else ["-c"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def runtime(name: str) -> Path:
    """The sanitizer runtime gcc links (libasan.so, libubsan.so)."""
    path = Path(subprocess.run([gcc(), f"-print-file-name={name}"], capture_output=True,
                               text=True, check=True).stdout.strip()).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{name} not found: install gcc's sanitizer runtime (libasan8, "
                                "libubsan1; scripts/setup does)")
    return path


def build_sanitized(folder: Path) -> Path:
    """The extension built with ASan + UBSan into ``folder`` (the normal .so is untouched)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"_seqwalk{sysconfig.get_config_var('EXT_SUFFIX')}"
    res = compile_c(SOURCE, out, "-O1", "-g", *SANITIZE)
    if res.returncode != 0:
        raise RuntimeError(f"sanitized build failed:\n{res.stderr}")
    return out


def sanitizer_env(env: dict[str, str]) -> dict[str, str]:
    """ASan must be the first library loaded into python: LD_PRELOAD it."""
    return {**env, "LD_PRELOAD": str(runtime("libasan.so")),
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=86",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87"}
