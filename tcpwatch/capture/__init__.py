"""Reading captures: pcap/pcapng files (and, later, live sniffing) -> raw frame arrays."""
