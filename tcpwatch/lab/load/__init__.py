"""``scripts/loadtest``: the bundled servers under load and abuse, measured (loopback only).

``clients`` holds the clients (asyncio), ``server`` runs a bundled server and reads its
memory, fds and children from /proc, ``run`` puts the phases together and reports.
"""
