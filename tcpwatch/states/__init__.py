"""RFC 9293 endpoint states inferred from the wire."""
