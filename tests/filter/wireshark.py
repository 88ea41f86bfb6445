"""Frames tshark's own display-filter engine selects, for many filters in one run.

A Lua tap per filter (``Listener.new("frame", FILTER)``, run by ``tshark -2 -q -X
lua_script:``) records the frame numbers that filter passes on the second pass, as ``-Y
FILTER`` would print them: the same filter compiler, the same dissection, one read of the
capture instead of one per filter.  ``tests/filter/test_tshark_agreement.py`` also checks
a few filters with a plain ``tshark -2 -Y`` against this."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

LUA = """
local filters = {{
{filters}
}}
local hits = {{}}
for i, f in ipairs(filters) do
  hits[i] = {{}}
  local tap = Listener.new("frame", f)
  function tap.packet(pinfo) table.insert(hits[i], pinfo.number) end
end
local last = Listener.new("frame", nil)
function last.draw()
  for i in ipairs(filters) do print("F" .. i .. ":" .. table.concat(hits[i], " ")) end
end
"""


def _long_string(text: str) -> str:
    return f"[==[{text}]==]"


def start(capture: Path, filters: list[str], script: Path) -> subprocess.Popen:
    """Start tshark on ``capture`` with one tap per filter (finish with ``frames``)."""
    exe = shutil.which("tshark")
    assert exe is not None, "tshark is not installed"
    body = ",\n".join(_long_string(f) for f in filters)
    script.write_text(LUA.format(filters=body))
    return subprocess.Popen([exe, "-2", "-n", "-q", "-r", str(capture), "-X",
                             f"lua_script:{script}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def frames(proc: subprocess.Popen, n: int) -> list[set[int]]:
    """Each filter's frame numbers, in the order the filters were given."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    found: dict[int, set[int]] = {}
    for line in out.splitlines():
        if line.startswith("F") and ":" in line:
            i, _, nums = line[1:].partition(":")
            found[int(i) - 1] = {int(x) for x in nums.split()}
    assert sorted(found) == list(range(n)), f"tshark answered {len(found)} of {n}: {err}"
    return [found[i] for i in range(n)]


def start_display_filter(capture: Path, text: str) -> subprocess.Popen:
    """Start ``tshark -2 -Y TEXT`` (finish with ``display_filter_frames``)."""
    return subprocess.Popen(["tshark", "-2", "-n", "-r", str(capture), "-Y", text, "-T",
                             "fields", "-e", "frame.number"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def display_filter_frames(proc: subprocess.Popen) -> set[int]:
    """The frame numbers ``tshark -Y`` printed."""
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return {int(x) for x in out.split()}
