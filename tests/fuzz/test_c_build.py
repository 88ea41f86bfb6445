"""The C extension compiles without a single warning under -Wall -Wextra -Werror, in
strict C11 and in GNU C11 (GCC 14 turns several old warnings, such as an integer
initialised with NULL, into errors: -Werror catches them on older compilers too)."""

from __future__ import annotations

import pytest

from .cbuild import CSRC, REPO, SOURCES, WARNINGS, compile_c


@pytest.mark.parametrize("std", ["c11", "gnu11"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_compiles_cleanly(tmp_path, std, opt):
    assert len(SOURCES) >= 6, SOURCES
    res = compile_c(SOURCES, tmp_path / "objects", f"-std={std}", opt, *WARNINGS, shared=False)
    assert res.returncode == 0 and res.stderr == "", res.stderr


def test_a_warning_fails_the_build(tmp_path):
    """The same command rejects the kind of line that broke the build on GCC 14 (a
    pointer where the context struct has an integer)."""
    source = CSRC / "conversations.c"
    bad = tmp_path / "bad.c"
    bad.write_text(source.read_text().replace(
        "ConvCtx local = {.h = {CTX_CONV, 0}};",
        "ConvCtx local = {{CTX_CONV, 0}, NULL, 0, NULL, NULL, NULL};"))
    assert bad.read_text() != source.read_text()
    res = compile_c(bad, tmp_path / "bad", "-std=c11", "-O2", *WARNINGS, shared=False)
    assert res.returncode != 0 and "int-conversion" in res.stderr


def test_setup_builds_with_warnings():
    text = (REPO / "setup.py").read_text()
    assert '"-Wall"' in text and '"-Wextra"' in text
