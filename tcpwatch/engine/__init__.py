"""The analyzer's engine: connections and relative numbers (flows.py), both endpoints'
RFC 9293 states (states.py over the transition table in transitions.py) and Wireshark's
analysis flags (flags.py, names in registry.py), each a compiled walk (native.py loads
``tcpwatch._seqwalk``, sources in ``tcpwatch/csrc/``).

    pipeline.py     a whole capture: read -> decode -> flows -> states -> flags
    incremental.py  the same walks fed batch by batch, their contexts carried over
                    (``tcpwatch live``), over the growable stores of store.py
"""
