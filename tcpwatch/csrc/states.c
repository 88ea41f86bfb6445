/* Both endpoints' RFC 9293 states, walked through the compiled transition table. */
#include "seqwalk.h"

PyObject *class_layout(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args)) {
    return Py_BuildValue("iiiiiiiiiii", C_NONE, C_ACK, C_DATA, C_DATA_PAST_FIN, C_FIN, C_SYN,
                         C_SYNACK, C_RST, C_ACK_OF_FIN, C_FIN_ACK_OF_FIN, C_RST_BAD);
}

typedef struct {
    CtxHead h;  /* h.cap: room for connections; per direction arrays hold 2 per connection */
    uint8_t *cur, *seen, *have, *xck;
    uint32_t *nxt, *fin_end, *wlast, *xend;
} StatesCtx;

static void states_free(CtxHead *h) {
    StatesCtx *x = (StatesCtx *)h;
    PyMem_Free(x->cur); PyMem_Free(x->seen); PyMem_Free(x->have); PyMem_Free(x->xck);
    PyMem_Free(x->nxt); PyMem_Free(x->fin_end); PyMem_Free(x->wlast); PyMem_Free(x->xend);
}

static int states_reserve(StatesCtx *x, Py_ssize_t n_conn) {
    void **a[] = {(void **)&x->cur, (void **)&x->seen, (void **)&x->have, (void **)&x->xck,
                  (void **)&x->nxt, (void **)&x->fin_end, (void **)&x->wlast,
                  (void **)&x->xend};
    size_t e[] = {2, 1, 2, 2, 8, 8, 8, 8};
    int fill[] = {0, 0, 0, 0, 0, 0, 0, 0};
    return grow_arrays(a, e, fill, 8, &x->h.cap, n_conn);
}

static void states_reset(CtxHead *h, int32_t c) {
    StatesCtx *x = (StatesCtx *)h;
    x->seen[c] = 0;
    x->have[2 * c] = x->have[2 * c + 1] = 0;
    x->xck[2 * c] = x->xck[2 * c + 1] = 0;
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
    int64_t *pending_row = PyMem_Malloc(sizeof(int64_t) * 2 * (n_conn > 0 ? n_conn : 1));
    int64_t *last_row = PyMem_Malloc(sizeof(int64_t) * 2 * (n_conn > 0 ? n_conn : 1));
    /* a receive deferred until the receiver's next segment (FINs that cross); always
     * resolved within the call, since the look-ahead does not go past it */
    uint8_t *pending = PyMem_Calloc(2 * (n_conn > 0 ? n_conn : 1), 1);
    if (!failed && (!next_other || !last_row || !pending || !pending_row
                    || states_reserve(x, n_conn) < 0)) {
        PyErr_NoMemory();
        failed = 1;
    }
    int bad_input = 0;
    if (!failed) {
    uint8_t *cur = x->cur, *seen = x->seen, *have = x->have, *xck = x->xck;
    uint32_t *nxt = x->nxt, *fin_end = x->fin_end, *wlast = x->wlast, *xend = x->xend;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < 2 * n_conn; k++) last_row[k] = -1;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        int32_t c = conn[i];
        /* every row checked here, before the walk below changes the context */
        if (c < 0 || c >= n_conn || cls[i] >= N_CLASSES) { bad_input = 1; break; }
        int S = snd[i] ? 1 : 0;
        next_other[i] = last_row[2 * (Py_ssize_t)c + 1 - S];
        if (flags[i] & 0x01) last_row[2 * (Py_ssize_t)c + S] = i;
    }
    for (Py_ssize_t i = 0; i < n && !bad_input; i++) {
        int32_t c = conn[i];
        if (c < 0 || c >= n_conn || cls[i] >= N_CLASSES) { bad_input = 1; break; }
        if (!seen[c]) {
            seen[c] = 1;
            cur[2 * c] = init[2 * c];
            cur[2 * c + 1] = init[2 * c + 1];
        }
        int S = snd[i] ? 1 : 0, R = 1 - S;
        Py_ssize_t ds = 2 * (Py_ssize_t)c + S, dr = 2 * (Py_ssize_t)c + R;
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
        if (pending[2 * c + S] && pending_row[2 * c + S] == i) {
            /* the sender had not yet received the peer's FIN when it sent this FIN
             * (it does not acknowledge it); the peer's FIN arrives now, after the send */
            int ep = N_CLASSES + pending[2 * c + S];
            pending[2 * c + S] = 0;
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
            pending[2 * c + R] = (uint8_t)rc;
            pending_row[2 * c + R] = j;
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

const CtxOps states_ops = {sizeof(StatesCtx), states_free, states_reset, NULL};
