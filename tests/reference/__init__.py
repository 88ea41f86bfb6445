"""Pure-Python references of the compiled walks (``tcpwatch/csrc/``), for tests only:
slow, one loop per segment, the rules written as RFC 9293 and Wireshark state them; and
the whole-column numpy decoder the frame walk replaced (``linklayer.py``, ``iplayer.py``;
generated frames for it in ``frames_gen.py``)."""
