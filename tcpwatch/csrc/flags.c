/* ------------------------------------------------------------------------------------
 * Wireshark's TCP sequence analysis (tcp_analyze_sequence_number in packet-tcp.c, as in
 * the tshark that Debian 12 ships, 4.0.x), re-expressed over columns.  One pass in file
 * order; per connection and direction the state Wireshark keeps in tcp_flow_t.  The
 * flag bits and their names are tcpwatch.engine.registry; the rules are documented
 * there, in Wireshark's order.
 * ------------------------------------------------------------------------------------ */
#include "seqwalk.h"

#define GT_SEQ(a, b) ((int32_t)((b) - (a)) < 0)
#define LT_SEQ(a, b) ((int32_t)((a) - (b)) < 0)
#define LE_SEQ(a, b) ((int32_t)((a) - (b)) <= 0)
/* Wireshark's dupacknum = -1 (a guint32) after an "ACKed unseen segment" whose missing
 * data left nothing to wind maxseqtobeacked back to */
#define DUPACK_UNSEEN 0xFFFFFFFFu

typedef struct { int64_t frame; uint32_t seq, nextseq; int64_t ts; } Unacked;

typedef struct {
    uint32_t base;  /* Wireshark's base_seq of this direction (for the SYN+ACK re-base) */
    int base_set;
    uint32_t sack_bytes;  /* bytes SACKed by this direction's last segment */
    uint32_t nextseq, maxseqtobeacked, lastack, window;
    int64_t nextseqframe, lastnondupack;
    int64_t nextseqtime, lastacktime;  /* ns, as Wireshark's nstime arithmetic */
    uint32_t dupacknum;  /* unsigned as in Wireshark: DUPACK_UNSEEN (its -1) counts as >= 2 */
    uint32_t lastsegmentflags;
    int win_scale;  /* -1 unknown, -2 not used, else shift */
    int is_first_ack;  /* from its SYN until its first ACK without SYN: window unscaled */
    int valid_bif;
    /* the direction's first SYN+ACK: seen, its ISN, whether the first pass flagged it,
     * and its row in call synack_call */
    int synack_seen, synack_flagged;
    uint32_t synack_seq;
    int64_t synack_call;
    Py_ssize_t synack_row;
    /* the segments sent and not yet acknowledged, oldest first: ual[head .. head+n_ual) */
    Unacked *ual;
    Py_ssize_t head, n_ual, cap_ual;
    /* ual_sorted: each entry starts at or after the previous one's end, and the whole
     * list lies within 2^30 of sequence space, so that the wrap-aware comparisons with
     * an ACK near it order the entries as their position does: an ACK then drops a
     * prefix of the list (Wireshark's newest-first scan of every entry gives the same) */
    int ual_sorted;
    /* the list's span for bytes in flight, kept up to date (span_ok) so that a segment
     * does not scan the whole list: the smallest seq and the largest nextseq, relative
     * to span_base (the direction's base when they were taken; compared unsigned) */
    uint32_t span_first, span_last, span_base;
    int span_ok;
} Flow;

#define SORTED_SPAN (1u << 30)

/* the span of f's unacked list, from scratch (the list is not empty) */
static void span_scan(Flow *f) {
    const Unacked *q = f->ual + f->head;
    uint32_t b = f->base, first = q[0].seq - b, last = q[0].nextseq - b;
    for (Py_ssize_t k = 1; k < f->n_ual; k++) {
        if (q[k].nextseq - b > last) last = q[k].nextseq - b;
        if (q[k].seq - b < first) first = q[k].seq - b;
    }
    f->span_first = first; f->span_last = last; f->span_base = b; f->span_ok = 1;
}

/* a sorted list's span from its ends, unless its relative numbers wrap around */
static void span_ends(Flow *f) {
    const Unacked *q = f->ual + f->head;
    uint32_t b = f->base;
    f->span_ok = 0;
    if (!f->n_ual) return;
    f->span_first = q[0].seq - b;
    f->span_last = q[f->n_ual - 1].nextseq - b;
    f->span_base = b;
    f->span_ok = f->span_first <= f->span_last;
}

/* append u to f's list (0; -1: out of memory), keeping ual_sorted and the span */
static int ual_append(Flow *f, Unacked u) {
    if (f->head + f->n_ual == f->cap_ual) {
        if (f->head && f->head >= f->n_ual) {  /* half or more is dropped entries */
            memmove(f->ual, f->ual + f->head, f->n_ual * sizeof(Unacked));
            f->head = 0;
        } else {
            Py_ssize_t cap = f->cap_ual ? 2 * f->cap_ual : 8;
            Unacked *p = PyMem_Realloc(f->ual, cap * sizeof(Unacked));
            if (!p) return -1;
            f->ual = p;
            f->cap_ual = cap;
        }
    }
    Unacked *q = f->ual + f->head;
    uint32_t b = f->base;
    if (f->n_ual == 0) {
        f->ual_sorted = 1;
        f->span_first = u.seq - b; f->span_last = u.nextseq - b;
        f->span_base = b; f->span_ok = 1;
    } else {
        f->ual_sorted = f->ual_sorted && LE_SEQ(q[f->n_ual - 1].nextseq, u.seq)
                        && u.nextseq - q[0].seq < SORTED_SPAN;
        if (f->span_ok && f->span_base == b) {
            if (u.nextseq - b > f->span_last) f->span_last = u.nextseq - b;
            if (u.seq - b < f->span_first) f->span_first = u.seq - b;
        } else {
            f->span_ok = 0;
        }
    }
    q[f->n_ual++] = u;
    return 0;
}

/* r's list after an ACK: acknowledged entries dropped, a partly acknowledged one cut;
 * sets the row's acked frame and RTT from the entry the ACK ends exactly */
static void ual_ack(Flow *r, uint32_t ack, int64_t now, int64_t *acked, double *rtt) {
    Unacked *q = r->ual + r->head;
    Py_ssize_t n = r->n_ual;
    if (!n) return;
    /* the ACK within 2^29 of the list (itself within 2^30): all of them within 2^31,
     * where the wrap-aware comparisons are those of plain numbers */
    uint32_t margin = SORTED_SPAN / 2;
    if (r->ual_sorted
        && ack - (q[0].seq - margin) <= (q[n - 1].nextseq - q[0].seq) + 2 * margin) {
        /* a prefix goes, the next entry may be cut */
        Py_ssize_t k = 0;
        for (; k < n && LE_SEQ(q[k].nextseq, ack); k++) {
            if (ack == q[k].nextseq) {
                *acked = q[k].frame;
                /* like tshark, no RTT when it is exactly 0 (acks_frame still set) */
                *rtt = now == q[k].ts ? NAN : (double)(now - q[k].ts) / 1e9;
            }
        }
        int cut = k < n && GT_SEQ(ack, q[k].seq);
        if (cut) q[k].seq = ack;
        if (k || cut) {
            r->head += k;
            r->n_ual -= k;
            if (!r->n_ual) r->head = 0;
            span_ends(r);
        }
        return;
    }
    /* Wireshark's scan, newest first over every entry */
    int changed = 0;
    for (Py_ssize_t k = n - 1; k >= 0; k--) {
        Unacked *u = &q[k];
        int drop = 0;
        if (ack == u->nextseq) {
            *acked = u->frame;
            *rtt = now == u->ts ? NAN : (double)(now - u->ts) / 1e9;
            drop = 1;
        } else if (GT_SEQ(ack, u->seq) && LE_SEQ(ack, u->nextseq)) {
            u->seq = ack;
            changed = 1;
        } else if (!GT_SEQ(u->nextseq, ack)) {
            drop = 1;
        }
        if (drop) { u->frame = -1; changed = 1; }
    }
    if (!changed) return;
    /* the entries kept, in order; whether they are sorted now, and their span */
    Py_ssize_t j = 0;
    int sorted = 1;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (q[k].frame < 0) continue;
        q[j] = q[k];
        if (j) sorted = sorted && LE_SEQ(q[j - 1].nextseq, q[j].seq)
                        && q[j].nextseq - q[0].seq < SORTED_SPAN;
        j++;
    }
    r->n_ual = j;
    if (!j) r->head = 0;
    r->ual_sorted = sorted;
    if (j) span_scan(r); else r->span_ok = 0;
}

/* what the walk knows of one connection: its two flows, its iRTT (ns, 0: none yet) and
 * the time of its last pure SYN */
typedef struct {
    Flow flow[2];
    int64_t first_rtt, mru_syn;
} Slot;

typedef struct {
    CtxHead h;  /* h.cap: room for connections */
    /* connection c is pool[slot[c]] (-1: not seen, or forgotten); a connection's slot is
     * taken at its first segment and given back when its context is reset or trimmed,
     * so the pool holds the open connections, and the context 4 bytes for every other */
    int32_t *slot;
    Slot *pool;
    Py_ssize_t pool_cap, pool_used;  /* slots allocated, slots ever handed out */
    int32_t *free_slots;             /* given back, taken first (pool_cap entries) */
    Py_ssize_t n_free;
    int64_t calls;
} FlagsCtx;

/* a slot for a connection's two flows, zeroed; -1 when out of memory */
static int32_t slot_take(FlagsCtx *x) {
    if (x->n_free) return x->free_slots[--x->n_free];
    if (x->pool_used == x->pool_cap) {
        Py_ssize_t cap = x->pool_cap;
        void **a[] = {(void **)&x->pool, (void **)&x->free_slots};
        size_t e[] = {sizeof(Slot), sizeof(int32_t)};
        int fill[] = {0, 0};
        if (grow_arrays(a, e, fill, 2, &cap, x->pool_used + 1) < 0) return -1;
        x->pool_cap = cap;
    }
    return (int32_t)x->pool_used++;
}

/* give connection c's slot back (its unacked lists freed, the slot zeroed) */
static void slot_release(FlagsCtx *x, int32_t c) {
    int32_t s = x->slot[c];
    if (s < 0) return;
    for (int k = 0; k < 2; k++) PyMem_Free(x->pool[s].flow[k].ual);
    memset(&x->pool[s], 0, sizeof(Slot));
    x->free_slots[x->n_free++] = s;
    x->slot[c] = -1;
}

static void flags_reset(CtxHead *h, int32_t c) {
    slot_release((FlagsCtx *)h, c);
}

static void flags_free(CtxHead *h) {
    FlagsCtx *x = (FlagsCtx *)h;
    if (x->pool)
        for (Py_ssize_t k = 0; k < x->pool_used; k++) {
            PyMem_Free(x->pool[k].flow[0].ual);
            PyMem_Free(x->pool[k].flow[1].ual);
        }
    map_free(x->pool); map_free(x->free_slots); map_free(x->slot);
}

static int flags_reserve(FlagsCtx *x, Py_ssize_t n_conn) {
    void **a[] = {(void **)&x->slot};
    size_t e[] = {sizeof(int32_t)};
    int fill[] = {-1};
    return grow_arrays(a, e, fill, 1, &x->h.cap, n_conn);
}

PyObject *analyze_flags(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer bconn, bdir, bflags, bseq, back, blen, bwin, bws, bts, bframe, bfirst;
    Py_buffer bsoff, bsval;
    Py_buffer oflags, odupn, odupf, obif, oacked, ortt;
    PyObject *octx = Py_None;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*y*y*w*w*w*w*w*w*|O", &bconn, &bdir,
                          &bflags, &bseq, &back, &blen, &bwin, &bws, &bts, &bframe, &bfirst,
                          &bsoff, &bsval, &oflags, &odupn, &odupf, &obif, &oacked, &ortt,
                          &octx))
        return NULL;
    {
        Py_ssize_t m = bconn.len / 4, n_sval = bsval.len / 4;
        ArgSpec spec[] = {{bconn.obj, "conn", 'i', 4, 0, -1}, {bdir.obj, "dir", 'x', 1, m, m},
                          {bflags.obj, "flags", 'u', 2, m, m}, {bseq.obj, "seq", 'u', 4, m, m},
                          {back.obj, "ack", 'u', 4, m, m}, {blen.obj, "len", 'u', 4, m, m},
                          {bwin.obj, "win", 'u', 2, m, m}, {bws.obj, "wscale", 'i', 2, m, m},
                          {bts.obj, "ts_ns", 'i', 8, m, m}, {bframe.obj, "frame", 'i', 8, m, m},
                          {bfirst.obj, "reused", 'x', 1, 0, -1},
                          {bsoff.obj, "sack_offsets", 'i', 4, m ? m + 1 : 0, -1},
                          {bsval.obj, "sack_edges", 'u', 4, 0, -1},
                          {oflags.obj, "bits", 'u', 2, m, m}, {odupn.obj, "dup_num", 'i', 4, m, m},
                          {odupf.obj, "dup_frame", 'i', 8, m, m}, {obif.obj, "bif", 'i', 8, m, m},
                          {oacked.obj, "acked", 'i', 8, m, m}, {ortt.obj, "rtt", 'f', 8, m, m}};
        Py_buffer *all[] = {&bconn, &bdir, &bflags, &bseq, &back, &blen, &bwin, &bws, &bts,
                            &bframe, &bfirst, &bsoff, &bsval, &oflags, &odupn, &odupf, &obif,
                            &oacked, &ortt};
        int bad = check_args("analyze_flags", spec, N_ARGS(spec)) < 0;
        const int32_t *so = bsoff.buf;
        for (Py_ssize_t i = 0; !bad && m && i <= m; i++)
            if (so[i] < 0 || so[i] > n_sval)
                bad = !value_error("analyze_flags", "sack_offsets outside sack_edges");
        if (bad) return release_all(all, N_ARGS(all));
    }
    const int32_t *soff = bsoff.buf;  /* SACK edges of row i: sval[soff[i] .. soff[i+1]) */
    const uint32_t *sval = bsval.buf;
    Py_ssize_t n = bconn.len / 4, n_conn = bfirst.len;
    const int32_t *conn = bconn.buf;
    const int8_t *dir = bdir.buf;
    const uint16_t *fl = bflags.buf;
    const uint32_t *seqs = bseq.buf, *acks = back.buf, *lens = blen.buf;
    const uint16_t *wins = bwin.buf;
    const int16_t *wsopt = bws.buf;
    const int64_t *ts = bts.buf;  /* ns since the epoch */
    const int64_t *frame = bframe.buf;
    const uint8_t *conn_reused = bfirst.buf; /* per conn: 1 if its first SYN reused a tuple */
    uint16_t *out_flags = oflags.buf;
    int32_t *dup_num = odupn.buf;
    int64_t *dup_frame = odupf.buf, *bif = obif.buf, *acked = oacked.buf;
    double *rtt = ortt.buf;
    FlagsCtx local;
    memset(&local, 0, sizeof local);
    local.h.kind = CTX_FLAGS;
    FlagsCtx *x = ctx_get(octx, CTX_FLAGS);
    int failed = PyErr_Occurred() != NULL ? 3 : 0;
    if (!x) x = &local;
    /* every row checked before the walk changes the context: only running out of
     * memory can stop it half-way (tcpwatch.engine.incremental then refuses more) */
    for (Py_ssize_t i = 0; !failed && i < n; i++)
        if (conn[i] < 0 || conn[i] >= n_conn) failed = 2;
    if (!failed && flags_reserve(x, n_conn) < 0) failed = 1;
    int64_t call = ++x->calls;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        int32_t c = conn[i];
        if (c < 0 || c >= n_conn) { failed = 2; break; }
        int d = dir[i] ? 1 : 0;
        if (x->slot[c] < 0) {  /* its first segment (since a reset or a trim) */
            int32_t s = slot_take(x);
            if (s < 0) { failed = 1; break; }
            x->slot[c] = s;
            for (int k = 0; k < 2; k++) {
                Flow *p = &x->pool[s].flow[k];
                p->window = 0xFFFFFFFFu;
                p->win_scale = -1;
                p->valid_bif = 1;
            }
        }
        Slot *sl = &x->pool[x->slot[c]];
        Flow *f = &sl->flow[d], *r = &sl->flow[1 - d];
        unsigned flags = fl[i];
        uint32_t seq = seqs[i], ack = acks[i], seglen = lens[i], window = wins[i];
        int64_t now = ts[i];
        int sfr = (flags & 0x07) != 0, syn = (flags & 0x02) != 0, fin = (flags & 0x01) != 0;
        uint32_t a = 0;
        int has_ta = 0;
        dup_num[i] = 0; dup_frame[i] = -1; bif[i] = -1; acked[i] = -1; rtt[i] = NAN;
        if (syn && !(flags & 0x10) && conn_reused[c] == 1 && !f->base_set && !r->base_set)
            a |= A_REUSED_PORTS;  /* the SYN that opened a connection on an old 4-tuple */
        if (syn && !(flags & 0x10) && f->base_set && seq == f->base)
            f->nextseq = f->maxseqtobeacked;  /* a SYN retransmitted: wind back (17616) */
        if (syn && (flags & 0x10)) {
            if (f->base_set && seq != f->base) {
                a |= A_REUSED_PORTS;  /* a SYN+ACK with a new ISN: Wireshark re-bases */
                f->base = seq;
            }
            if (!f->synack_seen) {
                f->synack_seen = 1; f->synack_seq = seq;
                f->synack_flagged = (a & A_REUSED_PORTS) != 0;
                f->synack_call = call; f->synack_row = i;
            } else if (f->synack_call == call) {
                /* tshark -2's second pass re-bases at each SYN+ACK starting from the
                 * final base and only adds flags, so the direction's first SYN+ACK is
                 * flagged when either pass found a new ISN there: the first against
                 * the base before it, the second against the last SYN+ACK's ISN (a
                 * re-walk of the whole connection in live) */
                uint16_t *first = &out_flags[f->synack_row];
                *first = seq != f->synack_seq || f->synack_flagged
                             ? (uint16_t)(*first | A_REUSED_PORTS)
                             : (uint16_t)(*first & ~A_REUSED_PORTS);
            }
        }
        if (!f->base_set) { f->base = syn ? seq : seq - 1u; f->base_set = 1; }
        if ((flags & 0x10) && !r->base_set) { r->base = ack - 1u; r->base_set = 1; }
        if (flags & 0x10) r->valid_bif = 1;
        if (seglen == 1 && seq == f->nextseq && r->window == 0) {
            a |= A_ZERO_WINDOW_PROBE;
            goto finished_fwd;
        }
        if (window == 0 && !sfr) a |= A_ZERO_WINDOW;
        if (f->nextseq && GT_SEQ(seq, f->nextseq) && !(flags & 0x04)) {
            a |= A_LOST_PACKET;
            f->valid_bif = 0;
        }
        if ((seglen == 0 || seglen == 1) && seq == f->nextseq - 1u && !sfr) a |= A_KEEP_ALIVE;
        if (seglen == 0 && window && window != f->window && seq == f->nextseq
            && ack == f->lastack && !sfr)
            a |= A_WINDOW_UPDATE;
        if (seglen > 0 && r->win_scale != -1 && !sfr
            && seq + seglen == r->lastack + (r->window << (r->is_first_ack || r->win_scale == -2
                                                           ? 0 : r->win_scale)))
            a |= A_WINDOW_FULL;
        if (seglen == 0 && window && window == f->window && seq == f->nextseq
            && ack == f->lastack && (r->lastsegmentflags & A_KEEP_ALIVE) && !sfr) {
            a |= A_KEEP_ALIVE_ACK;
            goto finished_fwd;
        }
        if (seglen == 0 && window == 0 && window == f->window && seq == f->nextseq
            && ack == f->lastack && (r->lastsegmentflags & A_ZERO_WINDOW_PROBE) && !sfr) {
            a |= A_ZERO_WINDOW_PROBE_ACK;
            goto finished_fwd;
        }
        if (seglen == 0 && window && window == f->window && seq == f->nextseq
            && ack == f->lastack && !sfr) {
            f->dupacknum = f->dupacknum == DUPACK_UNSEEN ? 1 : f->dupacknum + 1;
            a |= A_DUPLICATE_ACK;
            dup_num[i] = (int32_t)f->dupacknum;
            dup_frame[i] = f->lastnondupack;
        }
    finished_fwd:
        if (ack != f->lastack) {
            f->lastnondupack = frame[i];
            f->dupacknum = 0;
        }
        if (r->maxseqtobeacked && GT_SEQ(ack, r->maxseqtobeacked) && (flags & 0x10)) {
            /* flagged once per gap: maxseqtobeacked moves up to r's nextseq when
             * below it, else r's dup-ack count is set to DUPACK_UNSEEN and the flag
             * waits for r to send a new ack (what tshark 4.0 shows) */
            if (LT_SEQ(r->maxseqtobeacked, r->nextseq)) {
                r->maxseqtobeacked = r->nextseq;
                a |= A_ACK_LOST_PACKET;
            } else {
                if (r->dupacknum == 0) a |= A_ACK_LOST_PACKET;
                r->dupacknum = DUPACK_UNSEEN;
            }
        }
        if (seglen > 0 || syn || fin) {
            int not_adv = f->nextseq && LT_SEQ(seq, f->nextseq);
            if (a & A_KEEP_ALIVE) goto finished_retrans;
            if (seglen > 1 && f->nextseq - 1u == seq) not_adv = 0;
            /* spurious: every byte already acknowledged; tested before anything else */
            if (seglen > 0 && r->lastack && LE_SEQ(seq + seglen, r->lastack)) {
                a |= A_SPURIOUS_RETRANSMISSION;
                goto finished_retrans;
            }
            if (!not_adv) goto finished_retrans;
            int64_t t = now - r->lastacktime;
            if (not_adv && r->dupacknum >= 2 && r->lastack == seq && t < 20000000) {
                a |= A_FAST_RETRANSMISSION;
                goto finished_retrans;
            }
            t = now - f->nextseqtime;
            int64_t thres = sl->first_rtt != 0 ? sl->first_rtt : 3000000;
            if (not_adv && t < thres && f->nextseq != seq + seglen + ((syn || fin) ? 1u : 0u)) {
                a |= A_OUT_OF_ORDER;
                goto finished_retrans;
            }
            a |= A_RETRANSMISSION;
        }
    finished_retrans:;
        uint32_t nextseq = seq + seglen;
        if ((seglen || syn || fin) && f->n_ual < MAX_UNACKED) {
            if (syn || fin) nextseq += 1;
            if (ual_append(f, (Unacked){frame[i], seq, nextseq, now}) < 0) {
                failed = 1;
                break;
            }
        }
        if (GT_SEQ(nextseq, f->nextseq) || !f->nextseq) {
            if (!(a & A_ZERO_WINDOW_PROBE)) {
                f->nextseq = nextseq;
                f->nextseqframe = frame[i];
                f->nextseqtime = now;
            }
        }
        if (seq == f->maxseqtobeacked || !f->maxseqtobeacked) {
            if (!(a & A_ZERO_WINDOW_PROBE)) f->maxseqtobeacked = f->nextseq;
        }
        f->window = window;
        f->lastack = ack;
        f->lastacktime = now;
        has_ta = a != 0;
        f->lastsegmentflags = a;
        /* ACKs: the other direction's unacked segments */
        ual_ack(r, ack, now, &acked[i], &rtt[i]);
        if (seglen != 0 && f->n_ual && f->valid_bif) {
            /* the span of the unacked list in numbers relative to the direction's
             * base, compared unsigned as Wireshark does (not wrap-aware) */
            if (!f->span_ok || f->span_base != f->base) span_scan(f);
            uint32_t in_flight = f->span_last - f->span_first;
            in_flight -= r->sack_bytes;  /* what the receiver reported holding (SACK) */
            if (in_flight > 0 && in_flight < 2000000000u) {
                if (syn || fin) in_flight -= 1u;  /* shown only when not 0 */
                if (in_flight) bif[i] = in_flight;
            }
        }
        (void)has_ta;
        f->sack_bytes = 0;
        for (int32_t k = soff[i]; k + 1 < soff[i + 1]; k += 2)
            f->sack_bytes += sval[k + 1] - sval[k];
        /* tshark marks fast and spurious retransmissions as retransmissions too:
         * decided here, once, for every reader of the bits */
        if (a & (A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION)) a |= A_RETRANSMISSION;
        out_flags[i] = (uint16_t)a;
        /* iRTT: the first ACK (no SYN) after a pure SYN */
        if (syn && !(flags & 0x10)) sl->mru_syn = now;
        if ((flags & 0x12) == 0x10 && sl->mru_syn != 0 && sl->first_rtt == 0)
            sl->first_rtt = now - sl->mru_syn;
        /* a SYN's window is never scaled, nor the direction's until its first ACK
         * without SYN (issue 14690); set after the analysis, as the window scale */
        if (syn) f->is_first_ack = 1;
        else if (flags & 0x10) f->is_first_ack = 0;
        /* window scale as Wireshark learns it: options are read after the analysis */
        if (wsopt[i] >= 0) f->win_scale = wsopt[i] > 14 ? 14 : wsopt[i];
        if (syn) {
            if (f->win_scale == -1) { f->win_scale = -2; r->win_scale = -2; }
            else if ((flags & 0x10) && r->win_scale == -2) f->win_scale = -2;
        }
    }
    if (x == &local) flags_free(&x->h);
    PyBuffer_Release(&bconn); PyBuffer_Release(&bdir); PyBuffer_Release(&bflags);
    PyBuffer_Release(&bseq); PyBuffer_Release(&back); PyBuffer_Release(&blen);
    PyBuffer_Release(&bwin); PyBuffer_Release(&bws); PyBuffer_Release(&bts);
    PyBuffer_Release(&bframe); PyBuffer_Release(&bfirst); PyBuffer_Release(&oflags);
    PyBuffer_Release(&bsoff); PyBuffer_Release(&bsval);
    PyBuffer_Release(&odupn); PyBuffer_Release(&odupf); PyBuffer_Release(&obif);
    PyBuffer_Release(&oacked); PyBuffer_Release(&ortt);
    if (failed == 3) return NULL;
    if (failed == 1) return PyErr_NoMemory();
    if (failed == 2) {
        PyErr_SetString(PyExc_ValueError, "analyze_flags: conn out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* a connection that is over (tcpwatch.engine.incremental forgets it): its slot goes
 * back to the pool.  A later segment of it starts from a fresh context, as a connection
 * first seen mid-stream (offline analysis reads the file again instead: engine/stream.py) */
static void flags_trim(CtxHead *h, int32_t c) {
    slot_release((FlagsCtx *)h, c);
}

const CtxOps flags_ops = {sizeof(FlagsCtx), flags_free, flags_reset, flags_trim};
