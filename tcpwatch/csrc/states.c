/* Both endpoints' RFC 9293 states, walked through the compiled transition table. */
#include "seqwalk.h"

PyObject *class_layout(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args)) {
    return Py_BuildValue("iiiiiiiiiii", C_NONE, C_ACK, C_DATA, C_DATA_PAST_FIN, C_FIN, C_SYN,
                         C_SYNACK, C_RST, C_ACK_OF_FIN, C_FIN_ACK_OF_FIN, C_RST_BAD);
}

/* what the walk tracks of each direction of a connection (index 0: client, 1: server):
 * have (bit 0: nxt is set, 1: fin_end, 2: wlast), the next sequence number, the end of
 * its FIN, its last advertised window; xck/xend: its FIN of an earlier call that the
 * peer's next FIN may show to have crossed */
typedef struct {
    uint8_t have[2], xck[2];
    uint32_t nxt[2], fin_end[2], wlast[2], xend[2];
} Track;

/* slot of a connection not seen since the context was made or the connection reset
 * (its states start from init), and of one trimmed (its states are kept, its tracking
 * starts again) */
#define NOT_SEEN (-1)
#define TRIMMED (-2)

typedef struct {
    CtxHead h;  /* h.cap: room for connections */
    uint8_t *cur;    /* both ends' states, 2 per connection: kept for every one */
    /* connection c is tracked in pool[slot[c]] (or NOT_SEEN, TRIMMED): the pool holds
     * the connections not trimmed (open), the context 6 bytes for every other */
    int32_t *slot;
    Track *pool;
    Py_ssize_t pool_cap, pool_used;  /* slots allocated, slots ever handed out */
    int32_t *free_slots;             /* given back, taken first (pool_cap entries) */
    Py_ssize_t n_free;
} StatesCtx;

static void states_free(CtxHead *h) {
    StatesCtx *x = (StatesCtx *)h;
    map_free(x->cur); map_free(x->slot); map_free(x->pool); map_free(x->free_slots);
}

/* room for n_conn connections and for `more` slots past those in use */
static int states_reserve(StatesCtx *x, Py_ssize_t n_conn, Py_ssize_t more) {
    void **a[] = {(void **)&x->cur, (void **)&x->slot};
    size_t e[] = {2, sizeof(int32_t)};
    int fill[] = {0, -1};
    void **p[] = {(void **)&x->pool, (void **)&x->free_slots};
    size_t ep[] = {sizeof(Track), sizeof(int32_t)};
    int fp[] = {0, 0};
    Py_ssize_t need = x->pool_used + (more > x->n_free ? more - x->n_free : 0);
    return grow_arrays(a, e, fill, 2, &x->h.cap, n_conn) < 0
           || grow_arrays(p, ep, fp, 2, &x->pool_cap, need) < 0 ? -1 : 0;
}

/* connection c's slot goes back to the pool (zeroed); its slot becomes `to` */
static void slot_release(StatesCtx *x, int32_t c, int32_t to) {
    int32_t s = x->slot[c];
    if (s >= 0) {
        memset(&x->pool[s], 0, sizeof(Track));
        x->free_slots[x->n_free++] = s;
    }
    x->slot[c] = to;
}

static void states_reset(CtxHead *h, int32_t c) {
    slot_release((StatesCtx *)h, c, NOT_SEEN);
}

/* a connection that is over (tcpwatch.engine.incremental forgets it): its states are
 * kept, its tracking goes back to the pool; a later segment of it continues from its
 * states with nothing seen of either direction's sequence numbers (offline analysis
 * reads the file again instead: engine/stream.py) */
static void states_trim(CtxHead *h, int32_t c) {
    StatesCtx *x = (StatesCtx *)h;
    if (x->slot[c] != NOT_SEEN) slot_release(x, c, TRIMMED);
}

/* walk_states(conn:int32, sender:int8 (0 client, 1 server), cls:uint8, flags:uint16,
 *             seq:uint32, ack:uint32, len:uint32, win:uint32 (rel seq/ack, scaled window),
 *             init:uint8[n_conn*2], next:uint8[2*N_CLASSES*n_states], n_states,
 *             syn_sent_state,
 *             out before_c, after_c, before_s, after_s, snd_ev, rcv_ev, bad : uint8[n]
 *             [, ctx, dirty:uint8[n_conn]])
 * One pass in file order.  Per connection and direction it tracks the next sequence
 * number, the FIN's sequence number and the last advertised window, and turns them into
 * the sequence-dependent event classes (ACK_OF_FIN, FIN_ACK_OF_FIN, DATA_PAST_FIN,
 * RST_BAD); then each endpoint's next state is read from the table (sender first).
 * bad: bit 0 = the sender's cell is INVALID, bit 1 = the receiver's.
 * With a context the walk continues the previous calls'.  The one look-ahead (FINs that
 * cross, below) cannot see past the call: when a FIN of a later call shows that an
 * earlier call's FIN crossed it, dirty[c] is set (walk the connection again). */
PyObject *walk_states(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer bconn, bsnd, bcls, bflags, bseq, back, blen, bwin, binit, bnext;
    Py_buffer obc, oac, obs, oas, osev, orev, obad, bdirty = {0};
    Py_ssize_t n_states;
    int syn_sent;
    PyObject *octx = Py_None, *odirty = Py_None;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*niw*w*w*w*w*w*w*|OO", &bconn, &bsnd,
                          &bcls, &bflags, &bseq, &back, &blen, &bwin, &binit, &bnext,
                          &n_states, &syn_sent, &obc, &oac, &obs, &oas, &osev, &orev, &obad,
                          &octx, &odirty))
        return NULL;
    {
        Py_ssize_t m = bconn.len / 4, nc = binit.len / 2;
        ArgSpec spec[] = {{bconn.obj, "conn", 'i', 4, 0, -1}, {bsnd.obj, "sender", 'x', 1, m, m},
                          {bcls.obj, "cls", 'u', 1, m, m}, {bflags.obj, "flags", 'u', 2, m, m},
                          {bseq.obj, "seq", 'u', 4, m, m}, {back.obj, "ack", 'u', 4, m, m},
                          {blen.obj, "len", 'u', 4, m, m}, {bwin.obj, "win", 'u', 4, m, m},
                          {binit.obj, "init", 'u', 1, 0, -1},
                          {bnext.obj, "next", 'u', 1, 2 * N_CLASSES * n_states, -1},
                          {obc.obj, "before_c", 'u', 1, m, m}, {oac.obj, "after_c", 'u', 1, m, m},
                          {obs.obj, "before_s", 'u', 1, m, m}, {oas.obj, "after_s", 'u', 1, m, m},
                          {osev.obj, "snd_ev", 'u', 1, m, m}, {orev.obj, "rcv_ev", 'u', 1, m, m},
                          {obad.obj, "bad", 'u', 1, m, m}, {odirty, "dirty", 'x', 1, nc, -1}};
        Py_buffer *all[] = {&bconn, &bsnd, &bcls, &bflags, &bseq, &back, &blen, &bwin, &binit,
                            &bnext, &obc, &oac, &obs, &oas, &osev, &orev, &obad};
        int bad = (n_states < 1 || n_states >= T_IGNORED)
                  && !value_error("walk_states", "n_states out of range");
        bad = bad || check_args("walk_states", spec, N_ARGS(spec)) < 0;
        /* every state the walk can reach indexes the table: from init, the table, a context */
        const uint8_t *iv = binit.buf, *nv = bnext.buf;
        for (Py_ssize_t i = 0; !bad && i < binit.len; i++)
            if (iv[i] >= n_states) bad = !value_error("walk_states", "init holds a state >= n_states");
        for (Py_ssize_t i = 0; !bad && i < 2 * N_CLASSES * n_states; i++)
            if (nv[i] >= n_states && nv[i] < T_IGNORED)
                bad = !value_error("walk_states", "next holds a state >= n_states");
        StatesCtx *sx = bad ? NULL : ctx_get(octx, CTX_STATES);
        bad = bad || PyErr_Occurred() != NULL;
        for (Py_ssize_t i = 0; !bad && sx && i < 2 * sx->h.cap; i++)
            if (sx->cur[i] >= n_states)
                bad = !value_error("walk_states", "the context holds a state >= n_states");
        if (bad) return release_all(all, N_ARGS(all));
    }
    Py_ssize_t n = bconn.len / 4, n_conn = binit.len / 2;
    StatesCtx local;
    memset(&local, 0, sizeof local);
    local.h.kind = CTX_STATES;
    StatesCtx *x = ctx_get(octx, CTX_STATES);
    int failed = PyErr_Occurred() != NULL;
    if (!failed && odirty != Py_None)
        failed = PyObject_GetBuffer(odirty, &bdirty, PyBUF_WRITABLE) < 0;
    if (!failed && bdirty.buf && bdirty.len < n_conn) {
        PyErr_SetString(PyExc_ValueError, "walk_states: dirty too short");
        failed = 1;
    }
    if (!x) x = &local;
    const int32_t *conn = bconn.buf;
    const int8_t *snd = bsnd.buf;
    const uint8_t *cls = bcls.buf, *init = binit.buf, *next = bnext.buf;
    const uint16_t *flags = bflags.buf;
    const uint32_t *seq = bseq.buf, *ack = back.buf, *len = blen.buf, *win = bwin.buf;
    uint8_t *before_c = obc.buf, *after_c = oac.buf, *before_s = obs.buf, *after_s = oas.buf,
            *sev = osev.buf, *rev = orev.buf, *bad = obad.buf, *dirty = bdirty.buf;
    int carry = x != &local;
    /* next_other[i]: the next FIN of the same connection sent by the other end (-1) */
    int64_t *next_other = PyMem_Malloc(sizeof(int64_t) * (n > 0 ? n : 1));
    int bad_input = 0;
    /* every row checked before the walk changes the context; the rows that will take
     * a slot counted (at most), so the pool grows before anything changes */
    Py_ssize_t more = 0;
    for (Py_ssize_t i = 0; !failed && i < n; i++) {
        int32_t c = conn[i];
        if (c < 0 || c >= n_conn || cls[i] >= N_CLASSES) { bad_input = 1; break; }
        more += c >= x->h.cap || x->slot[c] < 0;
    }
    if (!failed && !bad_input && (!next_other || states_reserve(x, n_conn, more) < 0)) {
        PyErr_NoMemory();
        failed = 1;
    }
    int64_t *pending_row = NULL, *last_row = NULL;
    uint8_t *pending = NULL;
    if (!failed && !bad_input) {
        /* every connection of the call gets its slot (the pool has the room), its
         * states from init at its first segment */
        for (Py_ssize_t i = 0; i < n; i++) {
            int32_t c = conn[i], s = x->slot[c];
            if (s >= 0) continue;
            x->slot[c] = x->n_free ? x->free_slots[--x->n_free] : (int32_t)x->pool_used++;
            if (s == NOT_SEEN) {
                x->cur[2 * c] = init[2 * c];
                x->cur[2 * c + 1] = init[2 * c + 1];
            }
        }
        /* per slot, both directions: the last FIN row seen in the backward pass, and a
         * receive deferred until the receiver's next segment (FINs that cross; always
         * resolved within the call, since the look-ahead does not go past it) */
        Py_ssize_t slots = x->pool_used > 0 ? x->pool_used : 1;
        pending_row = PyMem_Malloc(sizeof(int64_t) * 2 * slots);
        last_row = PyMem_Malloc(sizeof(int64_t) * 2 * slots);
        pending = PyMem_Calloc(2 * slots, 1);
        if (!pending_row || !last_row || !pending) {
            PyErr_NoMemory();
            failed = 1;
        }
    }
    if (!failed && !bad_input) {
    uint8_t *cur = x->cur;
    const int32_t *slot = x->slot;
    Track *pool = x->pool;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < 2 * x->pool_used; k++) last_row[k] = -1;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        int S = snd[i] ? 1 : 0;
        Py_ssize_t s = slot[conn[i]];
        next_other[i] = last_row[2 * s + 1 - S];
        if (flags[i] & 0x01) last_row[2 * s + S] = i;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t c = conn[i];
        Track *t = &pool[slot[c]];
        uint8_t *have = t->have, *xck = t->xck;
        uint32_t *nxt = t->nxt, *fin_end = t->fin_end, *wlast = t->wlast, *xend = t->xend;
        int S = snd[i] ? 1 : 0, R = 1 - S;
        /* the tracking of direction S of this connection is [S] of its slot's arrays;
         * the pending receives are per slot, 2 * slot + direction */
        Py_ssize_t ds = S, dr = R, ps = 2 * (Py_ssize_t)slot[c] + S, pr = ps - S + R;
        before_c[i] = cur[2 * c];
        before_s[i] = cur[2 * c + 1];
        unsigned f = flags[i];
        uint32_t sq = seq[i], ln = len[i];
        if ((f & 0x01) && xck[dr]) {
            /* the first FIN from this end after the peer's FIN of an earlier call */
            if ((int32_t)(ack[i] - xend[dr]) < 0 && dirty) dirty[c] = 1;
            xck[dr] = 0;
        }
        int sc = cls[i], rc;
        if (sc == C_DATA && (have[ds] & 2) && (int32_t)(sq + ln - (fin_end[ds] - 1u)) > 0)
            sc = C_DATA_PAST_FIN;
        rc = sc;
        int acks_fin = (have[dr] & 2) && (f & 0x10) && (int32_t)(ack[i] - fin_end[dr]) >= 0;
        if ((sc == C_ACK || sc == C_DATA) && acks_fin) rc = C_ACK_OF_FIN;
        else if (sc == C_FIN && acks_fin) rc = C_FIN_ACK_OF_FIN;
        else if (sc == C_RST) {
            int ok;
            if (cur[2 * c + R] == syn_sent) {
                ok = (f & 0x10) && ack[i] == 1u;
            } else if (!(have[ds] & 1)) {
                ok = 1; /* nothing seen from the sender: cannot judge, accept */
            } else {
                uint32_t rnxt = nxt[ds];
                uint32_t wnd = (have[dr] & 4) ? wlast[dr] : 0u;
                ok = wnd == 0 ? sq == rnxt
                              : ((int32_t)(sq - rnxt) >= 0 && (int32_t)(sq - (rnxt + wnd)) < 0);
            }
            if (!ok) rc = C_RST_BAD;
        }
        uint8_t b = 0;
        int ev = sc;  /* SND side: 0 * N_CLASSES + class */
        uint8_t nx = next[ev * n_states + cur[2 * c + S]];
        if (nx == T_INVALID) b |= 1;
        else if (nx != T_IGNORED) cur[2 * c + S] = nx;
        if (pending[ps] && pending_row[ps] == i) {
            /* the sender had not yet received the peer's FIN when it sent this FIN
             * (it does not acknowledge it); the peer's FIN arrives now, after the send */
            int ep = N_CLASSES + pending[ps];
            pending[ps] = 0;
            nx = next[ep * n_states + cur[2 * c + S]];
            if (nx != T_INVALID && nx != T_IGNORED) cur[2 * c + S] = nx;
        }
        int er = N_CLASSES + rc;
        /* FINs that cross: the receiver's next FIN does not acknowledge this one, so the
         * receiver sent it before this FIN arrived (a simultaneous close seen from a
         * capture point with delay).  Defer this receive until just after that send. */
        int64_t j = next_other[i];
        if ((rc == C_FIN || rc == C_FIN_ACK_OF_FIN) && j >= 0
            && (int32_t)(ack[j] - (sq + ln + 1u)) < 0) {
            pending[pr] = (uint8_t)rc;
            pending_row[pr] = j;
            er = -1;
        }
        if ((rc == C_FIN || rc == C_FIN_ACK_OF_FIN) && j < 0 && carry) {
            xck[ds] = 1;  /* the peer's next FIN, in a later call, decides */
            xend[ds] = sq + ln + 1u;
        }
        if (er >= 0) {
            nx = next[er * n_states + cur[2 * c + R]];
            if (nx == T_INVALID) b |= 2;
            else if (nx != T_IGNORED) cur[2 * c + R] = nx;
        }
        sev[i] = (uint8_t)ev;
        rev[i] = (uint8_t)(er >= 0 ? er : N_CLASSES + rc);
        bad[i] = b;
        after_c[i] = cur[2 * c];
        after_s[i] = cur[2 * c + 1];
        /* the sender's direction: next sequence number, its FIN, its window */
        uint32_t end = sq + ln + ((f & 0x02) ? 1u : 0u) + ((f & 0x01) ? 1u : 0u);
        if (!(f & 0x04)) { /* an RST's sequence number says nothing about the stream */
            if (!(have[ds] & 1) || (int32_t)(end - nxt[ds]) > 0) nxt[ds] = end;
            have[ds] |= 1;
            wlast[ds] = win[i];
            have[ds] |= 4;
        }
        if ((f & 0x01) && !(have[ds] & 2)) {
            fin_end[ds] = end;
            have[ds] |= 2;
        }
    }
    Py_END_ALLOW_THREADS
    }
    if (!carry) states_free(&x->h);
    PyMem_Free(next_other); PyMem_Free(last_row);
    PyMem_Free(pending); PyMem_Free(pending_row);
    PyBuffer_Release(&bconn); PyBuffer_Release(&bsnd); PyBuffer_Release(&bcls);
    PyBuffer_Release(&bflags); PyBuffer_Release(&bseq); PyBuffer_Release(&back);
    PyBuffer_Release(&blen); PyBuffer_Release(&bwin); PyBuffer_Release(&binit);
    PyBuffer_Release(&bnext); PyBuffer_Release(&obc); PyBuffer_Release(&oac);
    PyBuffer_Release(&obs); PyBuffer_Release(&oas); PyBuffer_Release(&osev);
    PyBuffer_Release(&orev); PyBuffer_Release(&obad);
    if (bdirty.buf) PyBuffer_Release(&bdirty);
    if (failed) return NULL;
    if (bad_input) {
        PyErr_SetString(PyExc_ValueError, "walk_states: conn or class out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

const CtxOps states_ops = {sizeof(StatesCtx), states_free, states_reset, states_trim};
