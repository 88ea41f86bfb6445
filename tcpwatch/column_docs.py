"""The segment table's columns described: one table, printed by `tcpwatch columns` and
written into the README (`tcpwatch columns --markdown`; a test keeps the two equal)."""

from __future__ import annotations

#: (column names described together, type, meaning), in table order
SEGMENT_COLUMN_DOCS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (('frame',), 'int64',
     '1-based frame number in the file. Every frame counts, TCP or not, as in '
     'Wireshark.'),
    (('ts',), 'float64',
     'Capture time in epoch seconds. NaN for a pcapng Simple Packet Block, which has '
     'no time.'),
    (('ts_ns',), 'int64',
     'The same time, exact, in integer nanoseconds (-1 when there is none). The '
     "analysis stage uses it for Wireshark's time thresholds."),
    (('src', 'dst'), 'category',
     'IP addresses as text.'),
    (('sport', 'dport'), 'uint16',
     'Ports.'),
    (('ip_version',), 'uint8',
     '4 or 6.'),
    (('flags',), 'uint16',
     'TCP flag bits. Bit 8 is AE (formerly NS).'),
    (('flag_str',), 'category',
     "Flags in tcpdump's notation: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, `FP.`, "
     '`SEW`, …'),
    (('seq', 'ack'), 'uint32',
     'Absolute sequence and acknowledgement numbers.'),
    (('len',), 'uint32',
     'Payload bytes: IP length − IP header − TCP header. Link-layer padding never '
     'counts.'),
    (('win_raw',), 'uint16',
     'The window field as sent.'),
    (('mss', 'wscale'), 'UInt16, UInt8',
     'Values of the MSS and window-scale options. `<NA>` when the option is absent.'),
    (('sack_perm',), 'bool',
     'The SACK-permitted option is present.'),
    (('sack',), 'list<uint32>',
     'SACK blocks, absolute: `[left1, right1, left2, right2, …]`. In CSV: `l-r l-r`.'),
    (('tsval', 'tsecr'), 'UInt32',
     'The timestamps option. `<NA>` when it is absent.'),
    (('truncated',), 'bool',
     'The capture holds fewer bytes than the segment had (snaplen). Header fields and '
     '`len` are still exact.'),
    (('conn',), 'int32',
     "Connection number, equal to Wireshark's `tcp.stream` for the same file."),
    (('role',), 'category',
     '`client` or `server`: who sent this segment.'),
    (('rel_seq', 'rel_ack'), 'uint32',
     "Wireshark's relative `tcp.seq` and `tcp.ack`."),
    (('win',), 'uint32',
     "Advertised window in bytes, equal to Wireshark's `tcp.window_size`."),
    (('state_before_client', 'state_after_client'), 'category',
     "The client's RFC 9293 state before and after this segment."),
    (('state_before_server', 'state_after_server'), 'category',
     'The same for the server.'),
    (('transition',), 'category',
     'What changed, e.g. `client SYN_SENT→ESTABLISHED`. Empty when nothing changed.'),
    (('violation',), 'category',
     'Why the segment breaks the state machine, e.g. data after FIN. Usually empty.'),
    (('states_inferred',), 'bool',
     "The connection's initial states are inferred, because the capture misses its "
     'start.'),
    (('event_client', 'event_server'), 'category',
     'What the segment was for each end: `SND_SYN`, `RCV_FIN_ACK_OF_FIN`, …'),
    (('events',), 'category',
     "Wireshark's analysis flags, separated by `;` "
     '(`retransmission;fast_retransmission`). Details below.'),
    (('dup_ack_num', 'dup_ack_frame'), 'Int32, Int64',
     '`tcp.analysis.duplicate_ack_num` / `duplicate_ack_frame`.'),
    (('bytes_in_flight',), 'Int64',
     '`tcp.analysis.bytes_in_flight`.'),
    (('ack_rtt', 'acked_frame'), 'float64 s, Int64',
     '`tcp.analysis.ack_rtt` (the time since the data this segment acknowledges) and '
     '`tcp.analysis.acks_frame`.'),
)



def markdown() -> str:
    """The table as the README holds it."""
    rows = ["| column | type | meaning |", "|---|---|---|"]
    rows += [f"| {', '.join(f'`{n}`' for n in names)} | {kind} | {meaning} |"
             for names, kind, meaning in SEGMENT_COLUMN_DOCS]
    return "\n".join(rows)
