"""Wireshark-equivalent flow-control and loss analysis."""
