"""Real traffic for captures: network namespaces, a capturing tcpdump, traffic drivers.

This sits beside the pipeline, not in it: it produces captures, the pipeline reads them.
"""
