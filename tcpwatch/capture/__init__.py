"""Capture I/O: pcap/pcapng files read in chunks (pcapfile.py, record walks in walk.py,
link types in linktypes.py) and written (pcapwriter.py), and frames sniffed from a
packet socket (sniffer.py, socket options in packetsock.py) -> raw frame arrays."""
