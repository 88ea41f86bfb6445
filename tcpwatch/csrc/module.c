/*
 * tcpwatch._seqwalk (module.c): the few loops of tcpwatch that are sequential by nature, compiled.
 *
 *   walk_pcap        record headers of a pcap chunk      (record N+1 starts where N ends)
 *   walk_pcapng      block headers of a pcapng chunk     (idem, byte order per section)
 *   walk_frames      link layer, IP, tunnels and ICMP quotes of every frame of a batch
 *   address_codes    a batch's addresses as codes into the distinct ones
 *   tcp_headers      the TCP header fields and options of a batch
 *   walk_conversations  Wireshark's tcp.stream assignment, base seq and window scale,
 *                       one pass in file order (see tcpwatch/engine/flows.py for the rules)
 *   walk_states      both endpoints' RFC 9293 states (tcpwatch/engine/states.py)
 *   analyze_flags    Wireshark's tcp.analysis flags (tcpwatch/engine/flags.py)
 *   new_context, reset_conns, trim_conns
 *                    carry the last three walks' state across calls (live), forget it
 *                    for some connections, free what a finished connection no longer needs
 *
 * Everything else in tcpwatch is whole-column numpy.  These functions only read a few
 * header words per record; they never allocate by a length read from the file, and they
 * write into buffers the caller allocated (numpy arrays passed through the buffer
 * protocol; each entry point checks their element types and lengths first, see
 * check_args).  A zero-length output buffer means "count only".
 */
#include "seqwalk.h"

static const CtxOps *ops_of(int kind) {
    return kind == CTX_CONV ? &conv_ops : kind == CTX_STATES ? &states_ops
         : kind == CTX_FLAGS ? &flags_ops : kind == CTX_PAIRS ? &pairs_ops : NULL;
}

static void ctx_destroy(PyObject *capsule) {
    CtxHead *h = PyCapsule_GetPointer(capsule, "tcpwatch._seqwalk.ctx");
    if (!h) return;
    ops_of(h->kind)->free(h);
    PyMem_Free(h);
}

/* new_context(kind: 1 conversations, 2 states, 3 flags) -> capsule */
static PyObject *new_context(PyObject *Py_UNUSED(self), PyObject *args) {
    int kind;
    if (!PyArg_ParseTuple(args, "i", &kind)) return NULL;
    const CtxOps *ops = ops_of(kind);
    if (!ops) {
        PyErr_SetString(PyExc_ValueError, "new_context: unknown kind");
        return NULL;
    }
    CtxHead *h = PyMem_Calloc(1, ops->size);
    if (!h) return PyErr_NoMemory();
    h->kind = kind;
    PyObject *cap = PyCapsule_New(h, "tcpwatch._seqwalk.ctx", ctx_destroy);
    if (!cap) PyMem_Free(h);
    return cap;
}

/* (ctx, conns:int32): apply the context's reset (trim: its trim) to each connection it
 * has room for (one it never walked knows nothing) */
static PyObject *each_conn(PyObject *args, const char *fn, int trim) {
    PyObject *octx;
    Py_buffer bc;
    if (!PyArg_ParseTuple(args, "Oy*", &octx, &bc)) return NULL;
    ArgSpec spec[] = {{bc.obj, "conns", 'i', 4, 0, -1}};
    if (check_args(fn, spec, 1) < 0) { PyBuffer_Release(&bc); return NULL; }
    CtxHead *h = PyCapsule_GetPointer(octx, "tcpwatch._seqwalk.ctx");
    void (*op)(CtxHead *, int32_t) = NULL;
    if (h) {
        op = trim ? ops_of(h->kind)->trim : ops_of(h->kind)->reset;
        if (!op)
            PyErr_Format(PyExc_ValueError, "%s: %s", fn, trim ? "not a states or flags context"
                         : "conversation numbering is final");
    }
    const int32_t *conns = bc.buf;
    for (Py_ssize_t i = 0; op && i < bc.len / 4; i++)
        if (conns[i] >= 0 && conns[i] < h->cap) op(h, conns[i]);
    PyBuffer_Release(&bc);
    if (!op) return NULL;
    Py_RETURN_NONE;
}

/* reset_conns(ctx, conns:int32): the states or flags walk forgets these connections */
static PyObject *reset_conns(PyObject *Py_UNUSED(self), PyObject *args) {
    return each_conn(args, "reset_conns", 0);
}

/* trim_conns(states or flags ctx, conns:int32): connections that are over give back what
 * a late segment of theirs does not need (states.c, flags.c: states_trim, flags_trim) */
static PyObject *trim_conns(PyObject *Py_UNUSED(self), PyObject *args) {
    return each_conn(args, "trim_conns", 1);
}

static PyMethodDef methods[] = {
    {"trim_conns", trim_conns, METH_VARARGS,
     "Give back what a states or flags context holds of connections that are over."},
    {"new_context", new_context, METH_VARARGS,
     "A context carrying one walk's per-connection state from call to call."},
    {"reset_conns", reset_conns, METH_VARARGS,
     "Forget what a states or flags context knows of some connections."},
    {"analyze_flags", analyze_flags, METH_VARARGS,
     "Wireshark's tcp.analysis flags, dup-ack numbers, bytes in flight and ACK RTTs."},
    {"walk_states", walk_states, METH_VARARGS,
     "Walk both endpoints of every connection through the compiled state table."},
    {"class_layout", class_layout, METH_VARARGS, "Event class numbers used by walk_states."},
    {"walk_pcap", walk_pcap, METH_VARARGS, "Walk pcap record headers."},
    {"walk_pcapng", walk_pcapng, METH_VARARGS, "Walk pcapng block headers."},
    {"walk_frames", walk_frames, METH_VARARGS,
     "Link layer, IP, tunnels and ICMP quotes of every frame of a batch, in one pass."},
    {"address_codes", address_codes, METH_VARARGS,
     "Source and destination addresses as codes into the distinct addresses."},
    {"tcp_headers", tcp_headers, METH_VARARGS,
     "The TCP header fields and recorded options of a batch of segments."},
    {"pair_ids", pair_ids, METH_VARARGS,
     "Dense ids of (lower, higher) endpoint pairs, stable from call to call."},
    {"walk_conversations", walk_conversations, METH_VARARGS,
     "Assign Wireshark tcp.stream numbers, base seqs and window scales in file order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_seqwalk",
                                    "Compiled sequential walks of tcpwatch.", -1, methods,
                                    NULL, NULL, NULL, NULL};

/* Every constant Python also uses, exported from here -- the one place they are defined
 * for the compiled side; tcpwatch/engine/native.py checks the Python side against them. */
PyMODINIT_FUNC PyInit__seqwalk(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    static const struct { const char *name; long value; } consts[] = {
        {"F_FIN", F_FIN}, {"F_SYN", F_SYN}, {"F_RST", F_RST}, {"F_ACK", F_ACK},
        {"OK", OK}, {"CORRUPT", CORRUPT}, {"PCAP_RECORD_HEADER", PCAP_RECORD_HEADER},
        {"MAX_BLOCK", (long)MAX_BLOCK},
        {"F_QUOTED", F_QUOTED}, {"MAX_WSCALE", MAX_WSCALE}, {"MAX_CAPLEN", (long)MAX_CAPLEN},
        {"ROLE_FIRST_SEGMENT", ROLE_FIRST_SEGMENT}, {"ROLE_SYNACK", ROLE_SYNACK},
        {"ROLE_SYN", ROLE_SYN}, {"CTX_CONV", CTX_CONV}, {"CTX_STATES", CTX_STATES},
        {"CTX_FLAGS", CTX_FLAGS}, {"CTX_PAIRS", CTX_PAIRS},
        {"T_IGNORED", T_IGNORED}, {"T_INVALID", T_INVALID},
        {"N_CLASSES", N_CLASSES}, {"MAX_UNACKED", MAX_UNACKED},
        {"A_RETRANSMISSION", A_RETRANSMISSION}, {"A_LOST_PACKET", A_LOST_PACKET},
        {"A_ACK_LOST_PACKET", A_ACK_LOST_PACKET}, {"A_KEEP_ALIVE", A_KEEP_ALIVE},
        {"A_DUPLICATE_ACK", A_DUPLICATE_ACK}, {"A_ZERO_WINDOW", A_ZERO_WINDOW},
        {"A_ZERO_WINDOW_PROBE", A_ZERO_WINDOW_PROBE},
        {"A_ZERO_WINDOW_PROBE_ACK", A_ZERO_WINDOW_PROBE_ACK},
        {"A_KEEP_ALIVE_ACK", A_KEEP_ALIVE_ACK}, {"A_OUT_OF_ORDER", A_OUT_OF_ORDER},
        {"A_FAST_RETRANSMISSION", A_FAST_RETRANSMISSION}, {"A_WINDOW_UPDATE", A_WINDOW_UPDATE},
        {"A_WINDOW_FULL", A_WINDOW_FULL}, {"A_REUSED_PORTS", A_REUSED_PORTS},
        {"A_SPURIOUS_RETRANSMISSION", A_SPURIOUS_RETRANSMISSION},
        {"TCP_COL_THL", TCP_COL_THL}, {"TCP_COL_SPORT", TCP_COL_SPORT},
        {"TCP_COL_DPORT", TCP_COL_DPORT}, {"TCP_COL_SEQ", TCP_COL_SEQ},
        {"TCP_COL_ACK", TCP_COL_ACK}, {"TCP_COL_FLAGS", TCP_COL_FLAGS},
        {"TCP_COL_WIN", TCP_COL_WIN}, {"TCP_COL_MSS", TCP_COL_MSS},
        {"TCP_COL_WSCALE", TCP_COL_WSCALE}, {"TCP_COL_TSVAL", TCP_COL_TSVAL},
        {"TCP_COL_TSECR", TCP_COL_TSECR}, {"TCP_COL_HAS", TCP_COL_HAS},
        {"TCP_COL_SACK_EDGES", TCP_COL_SACK_EDGES}, {"TCP_NCOLS", TCP_NCOLS},
        {"TCP_HAS_MSS", TCP_HAS_MSS}, {"TCP_HAS_WSCALE", TCP_HAS_WSCALE},
        {"TCP_HAS_SACK_PERM", TCP_HAS_SACK_PERM}, {"TCP_HAS_TIMESTAMPS", TCP_HAS_TIMESTAMPS},
        {"TCP_MIN_HEADER", TCP_MIN_HEADER},
        {"LINK_ETHER", LINK_ETHER}, {"LINK_RAW", LINK_RAW}, {"LINK_NULL", LINK_NULL},
        {"LINK_NFLOG", LINK_NFLOG}, {"LINK_TABLE_COLS", LINK_TABLE_COLS},
        {"ST_TCP", ST_TCP}, {"ST_SHORT_TCP", ST_SHORT_TCP}, {"ST_NOT_TCP", ST_NOT_TCP},
        {"ST_QUOTE", ST_QUOTE}, {"ST_FRAGMENT", ST_FRAGMENT}, {"ST_BAD_IP", ST_BAD_IP},
        {"ST_NOT_IP", ST_NOT_IP}, {"ST_UNSUPPORTED_LINK", ST_UNSUPPORTED_LINK},
        {"N_STATUS", N_STATUS}, {"FR_ROW", FR_ROW}, {"FR_END", FR_END}, {"FR_L3", FR_L3},
        {"FR_VERSION", FR_VERSION}, {"FR_L4", FR_L4}, {"FR_L4_LEN", FR_L4_LEN},
        {"FR_NCOLS", FR_NCOLS}, {"ADDR_BYTES", ADDR_BYTES}, {"TUN_GRE", TUN_GRE}, {"TUN_VXLAN", TUN_VXLAN},
        {"TUN_GENEVE", TUN_GENEVE}, {"TUN_TEREDO", TUN_TEREDO},
        {"PORT_DISSECTED_LOW", PORT_DISSECTED_LOW},
        {"ETH_IPV4", ETH_IPV4}, {"ETH_IPV6", ETH_IPV6}, {"MAX_VLAN_TAGS", MAX_VLAN_TAGS},
        {"ETH_PPPOE_SESSION", ETH_PPPOE_SESSION}, {"PPP_IPV4", PPP_IPV4},
        {"PPP_IPV6", PPP_IPV6}, {"MAX_MPLS_LABELS", MAX_MPLS_LABELS},
        {"ETH_HEADER", ETH_HEADER}, {"ETH_TEB", ETH_TEB}, {"BSD_AF_INET", BSD_AF_INET},
        {"NFLOG_HEADER", NFLOG_HEADER}, {"NFULA_PAYLOAD", NFULA_PAYLOAD},
        {"NFLOG_MAX_TLVS", NFLOG_MAX_TLVS}, {"NFLOG_AF_INET", NFLOG_AF_INET},
        {"NFLOG_AF_INET6", NFLOG_AF_INET6}, {"IPV4_MIN_HEADER", IPV4_MIN_HEADER},
        {"IPV4_MF_OFFSET_MASK", IPV4_MF_OFFSET_MASK}, {"IPV6_HEADER", IPV6_HEADER},
        {"IPV6_AH", IPV6_AH}, {"IPV6_FRAGMENT", IPV6_FRAGMENT},
        {"IPV6_MAX_EXT", IPV6_MAX_EXT}, {"MAX_DEPTH", MAX_DEPTH},
        {"IPPROTO_ICMP", IPPROTO_ICMP_}, {"IPPROTO_IPIP", IPPROTO_IPIP_},
        {"IPPROTO_TCP", IPPROTO_TCP_}, {"IPPROTO_UDP", IPPROTO_UDP_},
        {"IPPROTO_IPV6", IPPROTO_IPV6_}, {"IPPROTO_GRE", IPPROTO_GRE_},
        {"IPPROTO_ICMPV6", IPPROTO_ICMPV6_}, {"IPPROTO_ETHERIP", IPPROTO_ETHERIP_},
        {"UDP_HEADER", UDP_HEADER}, {"GRE_C", GRE_C}, {"GRE_R", GRE_R}, {"GRE_K", GRE_K},
        {"GRE_S", GRE_S}, {"GRE_VERSION", GRE_VERSION}, {"GRE_BASE", GRE_BASE},
        {"VXLAN_HEADER", VXLAN_HEADER}, {"GENEVE_HEADER", GENEVE_HEADER},
        {"TEREDO_AUTH", TEREDO_AUTH}, {"TEREDO_ORIGIN", TEREDO_ORIGIN},
        {"TEREDO_AUTH_FIXED", TEREDO_AUTH_FIXED}, {"TEREDO_ORIGIN_LEN", TEREDO_ORIGIN_LEN},
        {"ICMP_HEADER", ICMP_HEADER}, {"QUOTED_TCP_NEEDED", QUOTED_TCP_NEEDED},
    };
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    static const struct { const char *name; const long *values; int n; } sets[] = {
        {"ETH_VLAN_TAGS", ETH_VLAN_TAGS, 3}, {"ETH_MPLS", ETH_MPLS, 2},
        {"BSD_AF_INET6", BSD_AF_INET6, 4},
        {"IPV6_EXT_8", IPV6_EXT_8, 8}, {"ICMP_ERRORS", ICMP_ERRORS, 5},
        {"ICMPV6_ERRORS", ICMPV6_ERRORS, 4},
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        PyObject *t = PyTuple_New(sets[i].n);
        for (int k = 0; t && k < sets[i].n; k++)
            PyTuple_SET_ITEM(t, k, PyLong_FromLong(sets[i].values[k]));
        if (!t || PyModule_AddObject(m, sets[i].name, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
