/* The compiled core's shared header: constants, argument checks, resumable contexts,
 * and the entry points each source file defines (module.c registers them).
 *
 *   capture.c        walk_pcap, walk_pcapng: record/block headers of a chunk
 *   tcpheader.c      tcp_headers: the TCP header fields and options of a batch
 *   conversations.c  walk_conversations: Wireshark's tcp.stream, bases, window scales
 *   states.c         walk_states, class_layout: both endpoints' RFC 9293 states
 *   flags.c          analyze_flags: Wireshark's tcp.analysis cascade
 *   common.c         argument checks and the growable per-connection arrays
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
PyObject *walk_conversations(PyObject *self, PyObject *args);
PyObject *pair_ids(PyObject *self, PyObject *args);
PyObject *class_layout(PyObject *self, PyObject *args);
PyObject *walk_states(PyObject *self, PyObject *args);
PyObject *analyze_flags(PyObject *self, PyObject *args);

#endif
