"""Build of the one C extension (tcpwatch._seqwalk); everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("tcpwatch._seqwalk", ["tcpwatch/_seqwalk.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra"])])
