/* The frame walk: every frame of a batch once, from the link layer through IPv4/IPv6 and
 * the tunnels tshark decodes by default down to the innermost IP header, and what that
 * header carries (a TCP segment, an ICMP error quoting a TCP header, something else).
 * tcpwatch/decode/frames.py calls it; the rules are those of tcpwatch/decode/segments.py's
 * docstring, and tests/reference/decode.py holds the same rules as whole-column numpy (a
 * test checks that both agree on every capture of the suite and on generated frames).
 *
 * Link layer (https://www.tcpdump.org/linktypes.html): Ethernet-like headers (EN10MB,
 * LINUX_SLL, LINUX_SLL2: a fixed length and where the EtherType is) followed by up to
 * three VLAN tags (802.1Q, 802.1ad, 0x9100), a PPPoE session (RFC 2516) or an MPLS label
 * stack (RFC 3032: the IP version nibble after the bottom label says 4 or 6); raw IP (the
 * version nibble, or the link type itself); the BSD NULL/LOOP family word; NFLOG (the
 * NFULA_PAYLOAD TLV, TLVs in the capturing host's byte order).
 *
 * IP: RFC 791 and RFC 8200 (extension headers skipped: hop-by-hop, routing, destination
 * options, mobility, HIP, shim6, experimental in 8-octet units, AH in 4-octet units; a
 * Fragment header marks a fragment).  Lengths come from the IP header, capped by where
 * the enclosing layer ends (the frame's wire length, or the outer payload's end inside a
 * tunnel); a zero length (TSO/GSO) means "up to there".
 *
 * Tunnels (tcpwatch/decode/tunnels.py lists them): IP in IP, IPv6 in IP, GRE version 0
 * (RFC 2784/2890) carrying IPv4, IPv6 or Ethernet, EtherIP (RFC 3378), and by UDP port
 * (the lower port first if tshark dissects it, then the higher one) GRE in UDP, VXLAN,
 * Geneve and Teredo.  An inner header must start inside the outer payload.
 *
 * Reads past the end of buf read 0: the reader pads every batch with zero bytes, and a
 * read past a frame's captured bytes is either refused by a length check or, where the
 * rule reads it anyway (the numpy reference does the same), reads the padding. */
#include "seqwalk.h"

const long ETH_VLAN_TAGS[3] = {ETH_VLAN_8021Q, ETH_VLAN_8021AD, ETH_VLAN_QINQ};
const long ETH_MPLS[2] = {ETH_MPLS_UNICAST, ETH_MPLS_MULTICAST};
/* AF_INET6 in the NULL/LOOP header: Linux, NetBSD/OpenBSD, FreeBSD, macOS */
const long BSD_AF_INET6[4] = {10, 24, 28, 30};
const long IPV6_EXT_8[8] = {0, 43, 60, 135, 139, 140, 253, 254};
/* ICMP errors quoting the offending datagram (RFC 792, RFC 4443) */
const long ICMP_ERRORS[5] = {3, 4, 5, 11, 12};
const long ICMPV6_ERRORS[4] = {1, 2, 3, 4};

typedef struct {
    const uint8_t *b;
    int64_t len;
    const uint8_t *ports;  /* 65536 entries: TUN_* | PORT_DISSECTED_LOW */
} Walk;

typedef struct { int64_t l3; int version; } L3;
typedef struct { int ok, frag; uint32_t proto; int64_t l4, l4_len; } Ip;

static inline uint32_t rd8(const Walk *w, int64_t p) {
    return p >= 0 && p < w->len ? w->b[p] : 0;
}
static inline uint32_t rd16(const Walk *w, int64_t p) {
    return p >= 0 && p + 2 <= w->len ? ((uint32_t)w->b[p] << 8) | w->b[p + 1] : 0;
}
static inline uint32_t le16(const Walk *w, int64_t p) {
    uint32_t v = rd16(w, p);
    return ((v & 0xFF) << 8) | (v >> 8);
}
static inline uint32_t rd32(const Walk *w, int64_t p) {
    return p >= 0 && p + 4 <= w->len ? ((uint32_t)w->b[p] << 24) | ((uint32_t)w->b[p + 1] << 16)
                                           | ((uint32_t)w->b[p + 2] << 8) | w->b[p + 3] : 0;
}
static inline uint32_t bswap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}
static int member(long v, const long *set, int n) {
    for (int k = 0; k < n; k++)
        if (set[k] == v) return 1;
    return 0;
}

/* IP version from the first nibble at p: 4 or 6 where allowed, else 0 */
static int nibble_46(const Walk *w, int64_t p) {
    uint32_t v = rd8(w, p) >> 4;
    return v == 4 || v == 6 ? (int)v : 0;
}
static int nibble_6(const Walk *w, int64_t p) { return (rd8(w, p) >> 4) == 6 ? 6 : 0; }

/* -- link layer ----------------------------------------------------------------------- */

/* past VLAN tags, PPPoE and MPLS to the IP header; version 0: not IP */
static L3 by_ethertype(const Walk *w, int64_t l3, uint32_t et, int64_t end) {
    for (int k = 0; k <= MAX_VLAN_TAGS && member(et, ETH_VLAN_TAGS, 3) && l3 + 4 <= end; k++) {
        et = rd16(w, l3 + 2);
        l3 += 4;
    }
    int version = et == ETH_IPV4 ? 4 : et == ETH_IPV6 ? 6 : 0;
    if (et == ETH_PPPOE_SESSION && l3 + 8 <= end) {
        uint32_t ppp = rd16(w, l3 + 6);
        version = ppp == PPP_IPV4 ? 4 : ppp == PPP_IPV6 ? 6 : 0;
        l3 += 8;
    }
    if (member(et, ETH_MPLS, 2)) {
        for (int k = 0; k < MAX_MPLS_LABELS && l3 + 4 <= end; k++) {
            int bottom = rd8(w, l3 + 2) & 1;
            l3 += 4;
            if (bottom) break;
        }
        version = nibble_46(w, l3);  /* no type field after MPLS */
    }
    return (L3){l3, version};
}

static L3 nflog(const Walk *w, int64_t off, int64_t end) {
    int64_t tlv = off + NFLOG_HEADER, l3 = 0;
    /* the capturing host's byte order: a first length that does not fit little-endian
     * means big-endian */
    int64_t first = le16(w, tlv);
    int big = first < 4 || tlv + first > end, found = 0;
    for (int k = 0; k < NFLOG_MAX_TLVS && tlv + 4 <= end; k++) {
        int64_t length = big ? rd16(w, tlv) : le16(w, tlv);
        uint32_t kind = (big ? rd16(w, tlv + 2) : le16(w, tlv + 2)) & 0x7FFF;
        if (length < 4) break;
        if (kind == NFULA_PAYLOAD) {
            l3 = tlv + 4, found = 1;
            break;
        }
        tlv += (length + 3) & ~(int64_t)3;
    }
    uint32_t family = rd8(w, off);
    int version = family == NFLOG_AF_INET ? 4 : family == NFLOG_AF_INET6 ? 6 : 0;
    return (L3){l3, found && l3 < end ? version : 0};
}

/* one row of the link table: kind, a, b (LINK_ETHER: header length, EtherType offset;
 * LINK_RAW: forced version or 0; LINK_NULL: 1 if in network byte order) */
static L3 link_layer(const Walk *w, const int32_t *lt, int64_t off, int64_t caplen) {
    int64_t end = off + caplen;
    switch (lt[1]) {
    case LINK_ETHER: {
        if (caplen < lt[2]) return (L3){off, 0};
        return by_ethertype(w, off + lt[2], rd16(w, off + lt[3]), end);
    }
    case LINK_RAW:
        return (L3){off, caplen < 1 ? 0 : lt[2] ? lt[2] : nibble_46(w, off)};
    case LINK_NULL: {
        uint32_t family = bswap32(rd32(w, off));  /* as little-endian */
        if (lt[2] || family > 0xFFFF) family = bswap32(family);
        int version = family == BSD_AF_INET ? 4 : member(family, BSD_AF_INET6, 4) ? 6 : 0;
        return (L3){off + 4, caplen < 4 ? 0 : version};
    }
    case LINK_NFLOG:
        return nflog(w, off, end);
    }
    return (L3){off, 0};
}

/* -- IP ------------------------------------------------------------------------------- */

static Ip parse_ip(const Walk *w, int64_t l3, int version, int64_t end, int64_t wire_end) {
    Ip ip = {0, 0, 0, 0, 0};
    if (version == 4) {
        uint32_t ver_ihl = rd8(w, l3);
        int64_t ihl = (int64_t)(ver_ihl & 0xF) * 4, room = wire_end - l3;
        int64_t total = rd16(w, l3 + 2);
        if (total == 0 || total > room) total = room;
        ip.ok = l3 + IPV4_MIN_HEADER <= end && (ver_ihl >> 4) == 4 && ihl >= IPV4_MIN_HEADER
                && total >= ihl;
        ip.frag = ip.ok && (rd16(w, l3 + 6) & IPV4_MF_OFFSET_MASK) != 0;
        ip.proto = rd8(w, l3 + 9);
        ip.l4 = l3 + ihl;
        ip.l4_len = total - ihl;
    } else if (version == 6) {
        int64_t room = wire_end - l3 - IPV6_HEADER, plen = rd16(w, l3 + 4);
        if (plen == 0 || plen > room) plen = room;
        uint32_t nh = rd8(w, l3 + 6);
        int64_t l4 = l3 + IPV6_HEADER;
        int frag = 0;
        for (int k = 0; k < IPV6_MAX_EXT; k++) {
            frag |= nh == IPV6_FRAGMENT;
            int ah = nh == IPV6_AH;
            if (!(ah || member(nh, IPV6_EXT_8, 8)) || l4 + 2 > end) break;
            int64_t hlen = rd8(w, l4 + 1);
            hlen = ah ? (hlen + 2) * 4 : (hlen + 1) * 8;
            nh = rd8(w, l4);
            l4 += hlen;
        }
        ip.ok = l3 + IPV6_HEADER <= end;
        ip.frag = frag && ip.ok;
        ip.proto = nh;
        ip.l4 = l4;
        ip.l4_len = plen - (l4 - l3 - IPV6_HEADER);
    }
    return ip;
}

/* -- tunnels -------------------------------------------------------------------------- */

static L3 ethernet(const Walk *w, int64_t pos, int64_t end) {
    L3 r = by_ethertype(w, pos + ETH_HEADER, rd16(w, pos + 12), end);
    if (pos + ETH_HEADER > end) r.version = 0;
    return r;
}

/* a GRE or Geneve protocol type (an EtherType) at pos */
static L3 by_protocol_type(const Walk *w, uint32_t ptype, int64_t pos, int64_t end) {
    if (ptype == ETH_IPV4) return (L3){pos, nibble_46(w, pos)};
    if (ptype == ETH_IPV6) return (L3){pos, nibble_6(w, pos)};
    if (ptype == ETH_TEB) return ethernet(w, pos, end);
    return (L3){pos, 0};
}

static L3 gre(const Walk *w, int64_t g, int64_t end) {
    uint32_t flags = rd16(w, g);
    int64_t hlen = GRE_BASE + 4 * (((flags & GRE_C) != 0) + ((flags & GRE_K) != 0)
                                   + ((flags & GRE_S) != 0));
    L3 r = by_protocol_type(w, rd16(w, g + 2), g + hlen, end);
    if ((flags & (GRE_R | GRE_VERSION)) != 0 || g + GRE_BASE > end) r.version = 0;
    return r;
}

static L3 udp_tunnel(const Walk *w, int64_t l4, int64_t end) {
    uint32_t a = rd16(w, l4), b = rd16(w, l4 + 2);
    uint32_t low = a < b ? a : b, high = a < b ? b : a;
    uint32_t port = w->ports[low] & PORT_DISSECTED_LOW ? low : high;
    int64_t v = l4 + UDP_HEADER;
    switch (w->ports[port] & ~PORT_DISSECTED_LOW) {
    case TUN_GRE:
        return gre(w, v, end);
    case TUN_VXLAN:
        return ethernet(w, v + VXLAN_HEADER, end);
    case TUN_GENEVE:
        return by_protocol_type(w, rd16(w, v + 2),
                                v + GENEVE_HEADER + (int64_t)(rd8(w, v) & 0x3F) * 4, end);
    case TUN_TEREDO:
        if (rd16(w, v) == TEREDO_AUTH) v += TEREDO_AUTH_FIXED + rd8(w, v + 2) + rd8(w, v + 3);
        if (rd16(w, v) == TEREDO_ORIGIN) v += TEREDO_ORIGIN_LEN;
        return (L3){v, nibble_6(w, v)};
    }
    return (L3){0, 0};
}

/* the datagram the IP payload carries; version 0: not a tunnel */
static L3 inner(const Walk *w, const Ip *ip, int64_t end) {
    L3 r = {0, 0};
    if (!ip->ok || ip->frag) return r;
    int64_t l4 = ip->l4;
    switch (ip->proto) {
    case IPPROTO_IPIP_: r = (L3){l4, nibble_46(w, l4)}; break;
    case IPPROTO_IPV6_: r = (L3){l4, nibble_6(w, l4)}; break;
    case IPPROTO_GRE_: r = gre(w, l4, end); break;
    case IPPROTO_ETHERIP_: r = ethernet(w, l4 + 2, end); break;
    case IPPROTO_UDP_:
        if (l4 + UDP_HEADER <= end) r = udp_tunnel(w, l4, end);
        break;
    default: return r;
    }
    if (r.l3 < l4 || r.l3 >= l4 + ip->l4_len) r.version = 0;
    return r;
}

/* -- one frame ------------------------------------------------------------------------ */

/* the outcome of the innermost IP header (ok, not a fragment); for ST_QUOTE, *q and *qver
 * are the quoted IP header's offset and version and *qip its parse */
static int carried(const Walk *w, const Ip *ip, int64_t end, int64_t *q, int *qver, Ip *qip) {
    if (ip->proto == IPPROTO_TCP_) {
        int64_t thl = ip->l4 + TCP_MIN_HEADER <= end ? (rd8(w, ip->l4 + 12) >> 4) * 4 : 0;
        return thl >= TCP_MIN_HEADER && ip->l4_len >= thl ? ST_TCP : ST_SHORT_TCP;
    }
    if (ip->l4 + ICMP_HEADER > end) return ST_NOT_TCP;
    uint32_t type = rd8(w, ip->l4);
    if (!(ip->proto == IPPROTO_ICMP_ && member(type, ICMP_ERRORS, 5))
        && !(ip->proto == IPPROTO_ICMPV6_ && member(type, ICMPV6_ERRORS, 4)))
        return ST_NOT_TCP;
    *q = ip->l4 + ICMP_HEADER;
    *qver = nibble_46(w, *q);
    *qip = parse_ip(w, *q, *qver, end, ip->l4 + ip->l4_len);
    return qip->ok && !qip->frag && qip->proto == IPPROTO_TCP_
           && qip->l4 + QUOTED_TCP_NEEDED <= end ? ST_QUOTE : ST_NOT_TCP;
}

/* the status of one frame; for ST_TCP and ST_QUOTE, *at holds the IP header (for a quote:
 * the quoted one) and *ip its parse (l4: the TCP header) */
static int frame(const Walk *w, const int32_t *lt, int64_t off, int64_t caplen,
                 int64_t origlen, L3 *at, Ip *ip) {
    int64_t end = off + caplen, wire_end = off + origlen;
    if (!lt) return ST_UNSUPPORTED_LINK;
    *at = link_layer(w, lt, off, caplen);
    if (!at->version) return ST_NOT_IP;
    *ip = parse_ip(w, at->l3, at->version, end, wire_end);
    for (int depth = 0; depth < MAX_DEPTH; depth++) {
        L3 in = inner(w, ip, end);
        if (!in.version) break;
        wire_end = ip->l4 + ip->l4_len;
        *at = in;
        *ip = parse_ip(w, at->l3, at->version, end, wire_end);
    }
    if (!ip->ok) return ST_BAD_IP;
    if (ip->frag) return ST_FRAGMENT;
    int64_t q = 0;
    int qver = 0;
    Ip qip;
    int status = carried(w, ip, end, &q, &qver, &qip);
    if (status == ST_QUOTE) at->l3 = q, at->version = qver, *ip = qip;
    return status;
}

/* walk_frames(buf, off, caplen, origlen, linktype, links, ports, out, status, tcp, sack_at,
 *             addr) -> counts
 *   buf       uint8 (any bytes): the batch's frames, zero-padded
 *   off, caplen, origlen  int64[n]: each frame's first byte in buf, captured and wire
 *             lengths (off + caplen <= len(buf), origlen < 2**32)
 *   linktype  int32[n]: each frame's DLT
 *   links     int32[k * LINK_TABLE_COLS]: the supported DLTs, a row each: dlt, kind
 *             (LINK_*), a, b (see link_layer); tcpwatch/capture/linktypes.py's table
 *   ports     uint8[65536]: per UDP port, the tunnel it carries (TUN_*), with
 *             PORT_DISSECTED_LOW set for a port below the tunnels' that tshark dissects
 *   out       int64[FR_NCOLS * n], FR_NCOLS columns of n (FR_*): the frame's index in the
 *             batch, its captured end, and l3, version, l4, l4_len of its innermost IP
 *             header -- for ST_TCP frames at rows 0, 1, ... in frame order, for ST_QUOTE
 *             ones at rows n - 1, n - 2, ... in frame order, with the IP header quoted in
 *             the ICMP error (l4: the quoted TCP header); other rows are not written
 *   status    uint8[n]: ST_* -- TCP; TCP whose header is not captured or whose data offset
 *             is impossible; not TCP; an ICMP error quoting >= 16 bytes of a TCP header
 *             (also not TCP); an IP fragment; a bad IP header; not IP; an unsupported DLT
 *   tcp       uint32[TCP_NCOLS * n], TCP_NCOLS columns of n: the TCP header of each
 *             ST_TCP frame at rows 0, 1, ... as tcp_headers gives it (other rows are not
 *             written)
 *   sack_at   int64[n]: tcp_headers' sack_at of those rows
 *   addr      uint8[ADDR_BYTES * n]: the source and destination address of the rows of
 *             out (ST_TCP and ST_QUOTE), each row's at [0, 16) and [16, 32) (IPv4: the
 *             first 4 bytes of each), for address_codes
 *   counts    a tuple of N_STATUS ints: the frames of each status
 * Every offset is checked before anything is written. */
PyObject *walk_frames(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *a_buf, *a_off, *a_cap, *a_orig, *a_lt, *a_links, *a_ports, *a_out, *a_st, *a_tcp,
             *a_sack, *a_addr;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOO", &a_buf, &a_off, &a_cap, &a_orig, &a_lt,
                          &a_links, &a_ports, &a_out, &a_st, &a_tcp, &a_sack, &a_addr))
        return NULL;
    Py_buffer buf = {0}, boff = {0}, bcap = {0}, borig = {0}, blt = {0}, blinks = {0},
              bports = {0}, bout = {0}, bst = {0}, btcp = {0}, bsack = {0}, baddr = {0};
    Py_buffer *all[] = {&buf, &boff, &bcap, &borig, &blt, &blinks, &bports, &bout, &bst, &btcp,
                        &bsack, &baddr};
    ArgSpec first[] = {{a_buf, "buf", 'x', 1, 0, -1}, {a_off, "off", 'i', 8, 0, -1}};
    if (check_args("walk_frames", first, N_ARGS(first)) < 0
        || PyObject_GetBuffer(a_off, &boff, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t n = boff.len / 8;
    ArgSpec rest[] = {{a_cap, "caplen", 'i', 8, n, n}, {a_orig, "origlen", 'i', 8, n, n},
                      {a_lt, "linktype", 'i', 4, n, n}, {a_links, "links", 'i', 4, 0, -1},
                      {a_ports, "ports", 'u', 1, 65536, 65536},
                      {a_out, "out", 'i', 8, FR_NCOLS * n, FR_NCOLS * n}, {a_st, "status", 'u', 1, n, n},
                      {a_tcp, "tcp", 'u', 4, TCP_NCOLS * n, TCP_NCOLS * n},
                      {a_sack, "sack_at", 'i', 8, n, n},
                      {a_addr, "addr", 'u', 1, ADDR_BYTES * n, ADDR_BYTES * n}};
    if (check_args("walk_frames", rest, N_ARGS(rest)) < 0
        || PyObject_GetBuffer(a_buf, &buf, PyBUF_SIMPLE) < 0
        || PyObject_GetBuffer(a_cap, &bcap, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_orig, &borig, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_lt, &blt, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_links, &blinks, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_ports, &bports, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_out, &bout, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_st, &bst, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_tcp, &btcp, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_sack, &bsack, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_addr, &baddr, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return release_all(all, N_ARGS(all));
    const int64_t *off = boff.buf, *cap = bcap.buf, *orig = borig.buf;
    const int32_t *lt = blt.buf, *links = blinks.buf;
    Py_ssize_t nlinks = blinks.len / 4 / LINK_TABLE_COLS;
    if (blinks.len / 4 % LINK_TABLE_COLS) {
        release_all(all, N_ARGS(all));
        return value_error("walk_frames", "links is not rows of LINK_TABLE_COLS");
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i] > buf.len || cap[i] < 0 || cap[i] > buf.len - off[i]) {
            release_all(all, N_ARGS(all));
            return value_error("walk_frames", "a frame outside buf");
        }
        if (orig[i] < 0 || orig[i] > UINT32_MAX) {  /* a 32-bit field of every format */
            release_all(all, N_ARGS(all));
            return value_error("walk_frames", "an origlen outside 0 .. 2**32 - 1");
        }
    }
    int64_t *out = bout.buf;
    uint8_t *status = bst.buf;
    uint32_t *tcp_out = btcp.buf;
    int64_t *sack_at = bsack.buf;
    uint8_t *addr = baddr.buf;
    Walk w = {buf.buf, buf.len, bports.buf};
    Py_ssize_t counts[N_STATUS] = {0};
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t tcp = 0, quote = n - 1;
    const int32_t *row = NULL;
    int32_t last = -1;
    int known = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!known || lt[i] != last) {
            last = lt[i], known = 1, row = NULL;
            for (Py_ssize_t k = 0; k < nlinks; k++)
                if (links[k * LINK_TABLE_COLS] == last) row = links + k * LINK_TABLE_COLS;
        }
        L3 at;
        Ip ip;
        int st = frame(&w, row, off[i], cap[i], orig[i], &at, &ip);
        status[i] = (uint8_t)st;
        if (st == ST_TCP)
            tcp_row(w.b, ip.l4, off[i] + cap[i], tcp_out + tcp, n, sack_at + tcp);
        if (st == ST_TCP || st == ST_QUOTE) {
            Py_ssize_t r = st == ST_TCP ? tcp++ : quote--;
            int64_t *o = out + r;
            /* inside the captured bytes: the IP header's parse was ok */
            const uint8_t *h = w.b + at.l3;
            if (at.version == 4) {
                memcpy(addr + ADDR_BYTES * r, h + 12, 4);
                memcpy(addr + ADDR_BYTES * r + 16, h + 16, 4);
            } else {
                memcpy(addr + ADDR_BYTES * r, h + 8, 32);
            }
            o[FR_ROW * n] = i, o[FR_END * n] = off[i] + cap[i];
            o[FR_L3 * n] = at.l3, o[FR_VERSION * n] = at.version;
            o[FR_L4 * n] = ip.l4, o[FR_L4_LEN * n] = ip.l4_len;
        }
        counts[st]++;
    }
    Py_END_ALLOW_THREADS
    release_all(all, N_ARGS(all));
    PyObject *t = PyTuple_New(N_STATUS);
    for (int k = 0; t && k < N_STATUS; k++) {
        PyObject *v = PyLong_FromSsize_t(counts[k]);
        if (!v) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, k, v);
    }
    return t;
}
