"""Bundled servers: the socket wrappers, framing and serving models of the project's notes.

They sit beside the pipeline and generate the real traffic that tcpwatch explains.
"""
