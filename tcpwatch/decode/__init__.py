"""Raw frames -> the columnar segment table: link layer, IP and tunnels walked once per
frame (frames.py; the UDP tunnel ports in tunnels.py), TCP headers (tcpheader.py), the
table (segments.py) and TCP headers quoted in ICMP errors (quoted.py)."""
