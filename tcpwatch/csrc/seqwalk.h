/* The compiled core's shared header: constants, argument checks, resumable contexts,
 * and the entry points each source file defines (module.c registers them).
 *
 *   capture.c        walk_pcap, walk_pcapng: record/block headers of a chunk
 *   frames.c         walk_frames, address_codes: link layer, IP, tunnels and ICMP quotes
 *                    of every frame of a batch in one pass; addresses as dense codes
 *   tcpheader.c      tcp_headers: the TCP header fields and options of a batch
 *   conversations.c  walk_conversations: Wireshark's tcp.stream, bases, window scales
 *   states.c         walk_states, class_layout: both endpoints' RFC 9293 states
 *   flags.c          analyze_flags: Wireshark's tcp.analysis cascade
 *   common.c         argument checks and the growable per-connection arrays (mapped)
 *   module.c         contexts (new_context, reset_conns, trim_conns), the method table,
 *                    the exported constants
 *
 * Every constant Python also uses is defined here once and exported by module.c
 * (tcpwatch/engine/native.py checks the Python side against it at import). */
#ifndef TCPWATCH_SEQWALK_H
#define TCPWATCH_SEQWALK_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* capture walks: status codes and limits */
#define OK 0
#define CORRUPT 1
#define MAX_CAPLEN 262144u
#define MAX_BLOCK (16u * 1024u * 1024u)
#define PCAP_RECORD_HEADER 16

/* tcp_headers: the output's columns (tcpwatch/decode/tcpheader.py names them by these)
 * and the bits of its HAS column */
enum { TCP_COL_THL, TCP_COL_SPORT, TCP_COL_DPORT, TCP_COL_SEQ, TCP_COL_ACK, TCP_COL_FLAGS,
       TCP_COL_WIN, TCP_COL_MSS, TCP_COL_WSCALE, TCP_COL_TSVAL, TCP_COL_TSECR, TCP_COL_HAS,
       TCP_COL_SACK_EDGES, TCP_NCOLS };
#define TCP_HAS_MSS 1
#define TCP_HAS_WSCALE 2
#define TCP_HAS_SACK_PERM 4
#define TCP_HAS_TIMESTAMPS 8
#define TCP_MIN_HEADER 20
#define TCP_MAX_OPTION_BYTES 40
void tcp_row(const uint8_t *b, int64_t l4, int64_t end, uint32_t *row, Py_ssize_t stride,
             int64_t *sack_at);

/* walk_frames: link decoders (the kinds of tcpwatch/capture/linktypes.py's table), the
 * per-frame outcomes and the UDP port table's bits (tcpwatch/decode/frames.py builds it) */
enum { LINK_ETHER = 1, LINK_RAW, LINK_NULL, LINK_NFLOG };
enum { ST_TCP, ST_SHORT_TCP, ST_NOT_TCP, ST_QUOTE, ST_FRAGMENT, ST_BAD_IP, ST_NOT_IP,
       ST_UNSUPPORTED_LINK, N_STATUS };
enum { FR_ROW, FR_END, FR_L3, FR_VERSION, FR_L4, FR_L4_LEN, FR_NCOLS };
#define ADDR_BYTES 32  /* a row's source and destination address (walk_frames, address_codes) */
enum { TUN_NONE, TUN_GRE, TUN_VXLAN, TUN_GENEVE, TUN_TEREDO };
#define PORT_DISSECTED_LOW 0x80  /* a port below the tunnels' that tshark dissects */
#define LINK_TABLE_COLS 4        /* dlt, kind, a, b */

/* protocol numbers and header layouts of the frame walk (the Python side that the
 * reference decoder of the tests reads is checked against these by decode/frames.py) */
#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN_8021Q 0x8100
#define ETH_VLAN_8021AD 0x88A8
#define ETH_VLAN_QINQ 0x9100
#define MAX_VLAN_TAGS 2
#define ETH_PPPOE_SESSION 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define ETH_MPLS_UNICAST 0x8847
#define ETH_MPLS_MULTICAST 0x8848
#define MAX_MPLS_LABELS 8
#define ETH_HEADER 14
#define ETH_TEB 0x6558
#define BSD_AF_INET 2
#define NFLOG_HEADER 4
#define NFULA_PAYLOAD 9
#define NFLOG_MAX_TLVS 32
#define NFLOG_AF_INET 2
#define NFLOG_AF_INET6 10
#define IPV4_MIN_HEADER 20
#define IPV4_MF_OFFSET_MASK 0x3FFF
#define IPV6_HEADER 40
#define IPV6_AH 51
#define IPV6_FRAGMENT 44
#define IPV6_MAX_EXT 8
#define MAX_DEPTH 8
#define IPPROTO_ICMP_ 1
#define IPPROTO_IPIP_ 4
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_ETHERIP_ 97
#define UDP_HEADER 8
#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_VERSION 0x0007
#define GRE_BASE 4
#define VXLAN_HEADER 8
#define GENEVE_HEADER 8
#define TEREDO_AUTH 0x0001
#define TEREDO_ORIGIN 0x0000
#define TEREDO_AUTH_FIXED 13
#define TEREDO_ORIGIN_LEN 8
#define ICMP_HEADER 8
#define QUOTED_TCP_NEEDED 16
/* the sets among them (frames.c; exported as tuples) */
extern const long ETH_VLAN_TAGS[3], ETH_MPLS[2], BSD_AF_INET6[4], IPV6_EXT_8[8], ICMP_ERRORS[5],
    ICMPV6_ERRORS[4];

/* TCP header flags (RFC 9293) and the conversation walk's own bits */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10
#define MAX_WSCALE 14
/* flags bit of a TCP header quoted in an ICMP error, not a segment (tcpwatch/engine/flows.py) */
#define F_QUOTED 0x8000
/* conversation state bit: opened by a quoted header, no segment of its own yet */
#define S_QUOTE_ONLY 0x80
#define ROLE_FIRST_SEGMENT 0
#define ROLE_SYNACK 1
#define ROLE_SYN 2

/* segment event classes and the state table's special cells */
/* Event classes: must match tcpwatch.vocab.SegClass (a test checks class_layout()). */
enum { C_NONE, C_ACK, C_DATA, C_DATA_PAST_FIN, C_FIN, C_SYN, C_SYNACK, C_RST, C_ACK_OF_FIN,
       C_FIN_ACK_OF_FIN, C_RST_BAD, N_CLASSES };
#define T_IGNORED 254
#define T_INVALID 255

/* Wireshark's TCP_A_* analysis bits (packet-tcp.c) */
#define A_RETRANSMISSION 0x0001
#define A_LOST_PACKET 0x0002
#define A_ACK_LOST_PACKET 0x0004
#define A_KEEP_ALIVE 0x0008
#define A_DUPLICATE_ACK 0x0010
#define A_ZERO_WINDOW 0x0020
#define A_ZERO_WINDOW_PROBE 0x0040
#define A_ZERO_WINDOW_PROBE_ACK 0x0080
#define A_KEEP_ALIVE_ACK 0x0100
#define A_OUT_OF_ORDER 0x0200
#define A_FAST_RETRANSMISSION 0x0400
#define A_WINDOW_UPDATE 0x0800
#define A_WINDOW_FULL 0x1000
#define A_REUSED_PORTS 0x2000
#define A_SPURIOUS_RETRANSMISSION 0x4000
#define MAX_UNACKED 10000

/* ------------------------------------------------------------------------------------
 * Argument checks.  Every entry point checks the arrays it is given before it reads or
 * writes them: element kind and size (native byte order, from the buffer's format), and
 * length; y* and w* already demand C-contiguous buffers.  Values the walks use as
 * indices are checked where they are read.  A wrong type raises TypeError, a wrong
 * length or value ValueError; nothing is read or written past an array.
 * ------------------------------------------------------------------------------------ */
typedef struct {
    PyObject *obj;      /* the array (Py_None: an optional one, not given) */
    const char *name;
    char kind;          /* 'i' signed integer, 'u' unsigned (or bool), 'f' float, 'x' bytes */
    int size;           /* bytes per element */
    Py_ssize_t min, max;  /* elements; max < 0: no upper bound */
} ArgSpec;

int check_args(const char *fn, const ArgSpec *spec, int n);

/* splitmix64's finalizer: the hash tables' (pairs.c, addresses.c) mixing of a key */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
PyObject *release_all(Py_buffer **bufs, int n);
PyObject *value_error(const char *fn, const char *what);
#define N_ARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------------------------
 * Resumable walks (tcpwatch live).  Each walk below can carry its per-connection state
 * from one call to the next in a context (a capsule from new_context(kind)), so a capture
 * arriving in batches is walked once, batch by batch, with the result of one walk over
 * the whole.  Connection numbers are global across calls; a context grows as they do.
 * reset_conns(ctx, conns) forgets what a walk knew of some connections, so that they can
 * be walked again from their first segment (tcpwatch/live.py does so when a later
 * segment changes what earlier ones mean).
 * ------------------------------------------------------------------------------------ */
enum { CTX_CONV = 1, CTX_STATES = 2, CTX_FLAGS = 3, CTX_PAIRS = 4 };

typedef struct { int kind; Py_ssize_t cap; } CtxHead;

int grow_arrays(void **arrs[], const size_t *elem, const int *fill, int n, Py_ssize_t *cap,
                Py_ssize_t need);
void *map_realloc(void *p, size_t bytes);  /* arrays of grow_arrays, freed by map_free */
void map_free(void *p);
void *ctx_get(PyObject *obj, int kind);

/* What module.c needs of each walk's context, and nothing of its layout. */
typedef struct {
    size_t size;                           /* bytes of the context struct */
    void (*free)(CtxHead *h);              /* free its arrays (not the struct) */
    void (*reset)(CtxHead *h, int32_t c);  /* forget connection c; NULL: numbering is final */
    void (*trim)(CtxHead *h, int32_t c);   /* give back what c no longer needs, or NULL */
} CtxOps;
extern const CtxOps conv_ops, states_ops, flags_ops, pairs_ops;

/* the entry points (documented above each definition) */
PyObject *walk_pcap(PyObject *self, PyObject *args);
PyObject *walk_pcapng(PyObject *self, PyObject *args);
PyObject *tcp_headers(PyObject *self, PyObject *args);
PyObject *walk_frames(PyObject *self, PyObject *args);
PyObject *address_codes(PyObject *self, PyObject *args);
PyObject *walk_conversations(PyObject *self, PyObject *args);
PyObject *pair_ids(PyObject *self, PyObject *args);
PyObject *class_layout(PyObject *self, PyObject *args);
PyObject *walk_states(PyObject *self, PyObject *args);
PyObject *analyze_flags(PyObject *self, PyObject *args);

#endif
