"""Raw frames -> the columnar segment table: link and IP layers (iplayer.py), tunnels
(tunnels.py), TCP headers (segments.py) and TCP headers quoted in ICMP errors
(quoted.py)."""
