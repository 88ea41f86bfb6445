"""Compiling the C extension's sources (tcpwatch/csrc/*.c) by hand (warnings as errors,
or with the sanitizers) against the running Python's headers."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CSRC = REPO / "tcpwatch" / "csrc"
SOURCES = sorted(CSRC.glob("*.c"))
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all"]


def gcc() -> str:
    exe = shutil.which("gcc")
    if exe is None:
        raise FileNotFoundError("gcc is not installed (pip needs it to build tcpwatch)")
    return exe


def compile_c(sources: Path | list[Path], out: Path, *flags: str, shared: bool = True,
              include: Path = CSRC) -> subprocess.CompletedProcess:
    """One shared library from ``sources``; with ``shared=False`` each source compiled
    to an object file in ``out`` (a folder), the messages of all of them together."""
    sources = [sources] if isinstance(sources, Path) else sources
    base = [gcc(), *flags, "-fPIC", f"-I{sysconfig.get_paths()['include']}", f"-I{include}"]
    if shared:
        return subprocess.run([*base, "-shared", *map(str, sources), "-o", str(out)],
                              capture_output=True, text=True, timeout=300)
    out.mkdir(parents=True, exist_ok=True)
    runs = [subprocess.run([*base, "-c", str(s), "-o", str(out / f"{s.stem}.o")],
                           capture_output=True, text=True, timeout=300) for s in sources]
    bad = [r for r in runs if r.returncode != 0]
    return subprocess.CompletedProcess(runs[0].args, bad[0].returncode if bad else 0,
                                       "".join(r.stdout for r in runs),
                                       "".join(r.stderr for r in runs))


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
    res = compile_c(SOURCES, out, "-O1", "-g", *SANITIZE)
    if res.returncode != 0:
        raise RuntimeError(f"sanitized build failed:\n{res.stderr}")
    return out


def sanitizer_env(env: dict[str, str]) -> dict[str, str]:
    """ASan must be the first library loaded into python: LD_PRELOAD it."""
    return {**env, "LD_PRELOAD": str(runtime("libasan.so")),
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=86",
            "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87"}
