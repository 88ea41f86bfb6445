"""A differential fuzzer of real traffic: random mixes of kernel TCP connections in
network namespaces, captured, then compared -- tcpwatch against ``tshark -2`` and the
live session against offline analysis.

    mix.py      a seed -> a plan of connections (pure)
    peers.py    the client and server programs that play a plan (run in the namespaces)
    traffic.py  the lab: namespaces, loss and rate rules, tcpdump, the peers -> a capture
    compare.py  the three checks of a capture: tracebacks, tshark, live vs offline
    shrink.py   a failing capture cut to its offending connections, in captures/regress/
    main.py     ``scripts/difftest --seed N --minutes M``
"""
