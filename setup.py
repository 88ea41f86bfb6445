"""Build of the one C extension (tcpwatch._seqwalk, sources in tcpwatch/csrc/); everything
else is in pyproject.toml."""

from glob import glob

from setuptools import Extension, setup

setup(ext_modules=[Extension("tcpwatch._seqwalk", sorted(glob("tcpwatch/csrc/*.c")),
                             depends=["tcpwatch/csrc/seqwalk.h"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra"])])
