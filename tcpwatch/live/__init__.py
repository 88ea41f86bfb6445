"""What ``tcpwatch live`` shows while it captures: the per-connection board (board.py),
its rendering (view.py) and the kernel's own socket states beside it (kernel.py).

The capture itself is ``capture/sniffer.py``; the annotations come from the same
incremental engine as offline analysis (``engine/incremental.py``).
"""
