"""Start-up: the commands that need no analysis (help, version, the bundled servers and
their forked children, the scenario drivers) never import the heavy libraries, so they
start in the time Python itself takes.  What a command imports is checked here; how long
it takes is measured by ``scripts/startup.py`` (no timed tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

HEAVY = ("pandas", "numpy", "pyarrow", "scapy", "pyshark")
PROBE = """
import runpy, sys
sys.argv = ["tcpwatch", *{args!r}]
try:
    runpy.run_module("tcpwatch", run_name="__main__")
except SystemExit:
    pass
print("IMPORTED", *sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def imported_by(args: list[str]) -> tuple[str, list[str]]:
    res = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    line = [x for x in res.stderr.splitlines() if x.startswith("IMPORTED")][-1]
    return res.stdout, line.split()[1:]


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["serve", "--help"],
                                  ["analyze", "--help"], ["live", "--help"],
                                  ["states", "--help"], ["record", "--help"]],
                         ids=" ".join)
def test_help_and_version_import_nothing_heavy(args):
    out, heavy = imported_by(args)
    assert heavy == [], heavy
    assert out.strip()


def test_version():
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "--version"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    import tcpwatch

    assert res.returncode == 0 and res.stdout == f"tcpwatch {tcpwatch.__version__}\n"


def test_servers_and_drivers_import_nothing_heavy():
    code = ("import sys, tcpwatch.lab.servers.models, tcpwatch.lab.scenarios.drivers, "
            f"tcpwatch.cli.serve; print(*sorted(m for m in {HEAVY!r} if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr


def test_the_library_still_loads_its_pipeline_on_use():
    code = ("import sys, tcpwatch; tcpwatch.analyze; "
            "print('tcpwatch.engine.pipeline' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.stdout.strip() == "True", res.stderr


WATCHED = (*HEAVY, "pyarrow.compute", "rich", "numpy.ma")


@pytest.mark.parametrize("extra", [["-q", "-o", "x.parquet"], ["-o", "x.parquet"], []],
                         ids=["-q -o x.parquet", "-o x.parquet", "report"])
def test_a_streamed_analysis_never_imports_pandas(tmp_path, extra):
    """``analyze FILE`` with its printed report, ``-o x.parquet``, ``-q``: typed columns
    from the decoder to the Parquet row groups and the printed tables; pandas is only for
    the whole-table views (--segments, --explain, --conn, CSV, JSON Lines) and the
    library's DataFrames."""
    args = ["analyze", "captures/many_short.pcap",  # 400 connections: every report path
            *[str(tmp_path / a) if a.endswith(".parquet") else a for a in extra]]
    code = (f"import sys\nfrom tcpwatch.cli.main import main\ntry:\n    main({args!r})\n"
            "except SystemExit:\n    pass\n"
            f"print('IMPORTED', *sorted(m for m in {WATCHED!r} "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    heavy = res.stdout.split("IMPORTED")[-1].split()
    assert "pandas" not in heavy and "pyarrow" in heavy, res.stdout + res.stderr
    assert "pyarrow.compute" not in heavy  # its import wraps every kernel: 0.2 s
    # np.unique's masked-array check (np.isin calls it) imports numpy.ma: 35 ms
    assert "numpy.ma" not in heavy
    # printed into a pipe, the report is plain text: rich (45 ms) is for terminals
    assert "rich" not in heavy
    if extra:
        assert (tmp_path / "x.parquet").stat().st_size > 0
    else:
        assert "TCP connections in" in res.stdout and "busiest of 400 connections" in res.stdout


@pytest.mark.parametrize("args", [["--help"], ["analyze", "captures/half_close.pcap", "-q"]],
                         ids=" ".join)
def test_the_command_line_is_click_without_typer_or_pydantic(args):
    """typer (0.2x) coerces every parameter through pydantic when it parses: 0.2 s of imports
    on every command.  The command line is plain click."""
    code = (f"import sys\nfrom tcpwatch.cli.main import main\ntry:\n    main({args!r})\n"
            "except SystemExit as exc:\n    print('EXIT', exc.code)\n"
            "print('IMPORTED', *sorted(m for m in ('click', 'pydantic', 'typer') "
            "if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert "EXIT 0" in res.stdout, res.stdout + res.stderr
    assert res.stdout.split("IMPORTED")[-1].split() == ["click"], res.stdout + res.stderr
