"""Pure-Python references of the compiled walks (``tcpwatch/csrc/``), for tests only:
slow, one loop per segment, the rules written as RFC 9293 and Wireshark state them."""
