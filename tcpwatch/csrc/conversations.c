/* Wireshark's tcp.stream numbering, base sequence numbers and window scales. */
#include "seqwalk.h"

typedef struct {
    CtxHead h;              /* h.cap: room for conversations */
    Py_ssize_t cap_keys, n_conv;
    int32_t *current;       /* per 4-tuple key: its current conversation (-1: none) */
    uint8_t *state;         /* per conversation: see below */
    /* per conversation: which of base/shift the segments of earlier calls used (U_*,
     * low nibble) and those of the current call (high nibble); a call first moves the
     * high nibble of every conversation it will touch into the low one.  Two bytes a
     * conversation in all: the context holds every conversation ever seen */
    uint8_t *used;
} ConvCtx;

#define U_BASE(d) (1u << (d))
#define U_SHIFT(d) (4u << (d))

static void conv_free(CtxHead *h) {
    ConvCtx *x = (ConvCtx *)h;
    map_free(x->current); map_free(x->state); map_free(x->used);
}

static int conv_reserve(ConvCtx *x, Py_ssize_t n_keys, Py_ssize_t n_conv) {
    void **k[] = {(void **)&x->current};
    void **c[] = {(void **)&x->state, (void **)&x->used};
    size_t ek[] = {sizeof(int32_t)}, ec[] = {1, 1};
    int fk[] = {0xFF}, fc[] = {0, 0};  /* all bytes 0xFF: -1 */
    return grow_arrays(k, ek, fk, 1, &x->cap_keys, n_keys) ||
           grow_arrays(c, ec, fc, 2, &x->h.cap, n_conv) ? -1 : 0;
}

/* walk_conversations(key:int64, dir:int8, flags:uint16, seq:uint32, ack:uint32,
 *                    wscale:int16, n_keys, conv_out:int32, base:uint32[max_conv*2],
 *                    shift:int8[max_conv*2], client_dir:int8[max_conv]
 *                    [, ctx, dirty:uint8[max_conv], reused:uint8[max_conv]]) -> n_conv
 * The rules are documented in tcpwatch/engine/flows.py.  With a context, keys and
 * conversation numbers continue those of the previous calls (base, shift and client_dir
 * then hold the earlier conversations' values); dirty[c] is set when this call changed
 * a base or shift that segments of an earlier call used (for their relative numbers or
 * their window), or client_dir of a conversation with segments in an earlier call, and
 * reused[c] of each new conversation says whether it took over the 4-tuple of an
 * earlier one (its first segment is then a SYN: Wireshark's "reused ports"). */
PyObject *walk_conversations(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer bk, bd, bf, bs, ba, bw, bconv, bbase, bshift, bcd;
    Py_buffer bdirty = {0}, breused = {0};
    Py_ssize_t n_keys;
    PyObject *octx = Py_None, *odirty = Py_None, *oreused = Py_None;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*nw*w*w*w*|OOO", &bk, &bd, &bf, &bs, &ba, &bw,
                          &n_keys, &bconv, &bbase, &bshift, &bcd, &octx, &odirty, &oreused))
        return NULL;
    {
        Py_ssize_t m = bk.len / 8, mc = bcd.len;
        ArgSpec spec[] = {{bk.obj, "key", 'i', 8, 0, -1}, {bd.obj, "dir", 'x', 1, m, m},
                          {bf.obj, "flags", 'u', 2, m, m}, {bs.obj, "seq", 'u', 4, m, m},
                          {ba.obj, "ack", 'u', 4, m, m}, {bw.obj, "wscale", 'i', 2, m, m},
                          {bconv.obj, "conv_out", 'i', 4, m, m},
                          {bcd.obj, "client_dir", 'i', 1, 0, -1},
                          {bbase.obj, "base", 'u', 4, 2 * mc, -1},
                          {bshift.obj, "shift", 'i', 1, 2 * mc, -1},
                          {odirty, "dirty", 'x', 1, mc, -1}, {oreused, "reused", 'x', 1, mc, -1}};
        Py_buffer *all[] = {&bk, &bd, &bf, &bs, &ba, &bw, &bconv, &bbase, &bshift, &bcd};
        int bad = check_args("walk_conversations", spec, N_ARGS(spec)) < 0;
        const uint8_t *dv = bd.buf;
        for (Py_ssize_t i = 0; !bad && i < m; i++)
            if (dv[i] > 1) bad = !value_error("walk_conversations", "dir must be 0 or 1");
        ConvCtx *cx = bad ? NULL : ctx_get(octx, CTX_CONV);
        bad = bad || PyErr_Occurred() != NULL;
        if (!bad && (n_keys < 0 || (cx && cx->n_conv > mc)))
            bad = !value_error("walk_conversations", "n_keys < 0, or client_dir shorter than "
                               "the context's conversations");
        if (bad) return release_all(all, N_ARGS(all));
    }
    ConvCtx local = {.h = {CTX_CONV, 0}};
    ConvCtx *x = ctx_get(octx, CTX_CONV);
    int failed = PyErr_Occurred() != NULL;
    if (!failed && odirty != Py_None)
        failed = PyObject_GetBuffer(odirty, &bdirty, PyBUF_WRITABLE) < 0;
    if (!failed && oreused != Py_None)
        failed = PyObject_GetBuffer(oreused, &breused, PyBUF_WRITABLE) < 0;
    Py_ssize_t n = bk.len / 8, max_conv = bcd.len;
    if (!failed && ((bdirty.buf && bdirty.len < max_conv) || (breused.buf && breused.len < max_conv))) {
        PyErr_SetString(PyExc_ValueError, "walk_conversations: dirty/reused too short");
        failed = 1;
    }
    if (!x) x = &local;
    if (!failed && conv_reserve(x, n_keys, max_conv) < 0) {
        PyErr_NoMemory();
        failed = 1;
    }
    const int64_t *key = bk.buf;
    const int8_t *dir = bd.buf;
    const uint16_t *flags = bf.buf;
    const uint32_t *seq = bs.buf, *ack = ba.buf;
    const int16_t *ws = bw.buf;
    int32_t *conv = bconv.buf;
    uint32_t *base = bbase.buf;
    int8_t *shift = bshift.buf, *client_dir = bcd.buf;
    uint8_t *dirty = bdirty.buf, *reused = breused.buf;
    int32_t *current = x->current;
    uint8_t *state = x->state, *used = x->used;
    /* state bits: 1,2 = base set for dir 0,1; 8..: role source << 3; S_QUOTE_ONLY */
    Py_ssize_t n_conv = x->n_conv, n_old = x->n_conv;
    int overflow = 0;
    /* every input checked before the walk changes anything: a call that fails leaves
     * the context as it was (each row opens at most one conversation) */
    for (Py_ssize_t i = 0; !failed && i < n; i++)
        if (key[i] < 0 || key[i] >= n_keys) overflow = 2;
    if (!failed && !overflow && (max_conv - n_old < n || n_old + n > INT32_MAX)) overflow = 1;
    if (!failed && !overflow) {
    Py_BEGIN_ALLOW_THREADS
    /* what segments of earlier calls used: every conversation this call touches but
     * does not open is its key's current one now (a key only moves to a new one) */
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t c = current[key[i]];
        if (c >= 0) used[c] = (uint8_t)((used[c] | used[c] >> 4) & 0x0F);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t k = key[i];
        if (k < 0 || k >= n_keys) { overflow = 2; break; }
        int d = dir[i], e = 1 - d;
        unsigned f = flags[i];
        int32_t c = current[k];
        int syn = (f & F_SYN) != 0, has_ack = (f & F_ACK) != 0, quoted = (f & F_QUOTED) != 0;
        int is_new = c < 0;
        uint32_t b0 = 0, b1 = 0;
        int8_t s0 = 0, s1 = 0, cd = 0;
        if (!is_new && c < n_old) {
            b0 = base[2 * c]; b1 = base[2 * c + 1];
            s0 = shift[2 * c]; s1 = shift[2 * c + 1]; cd = client_dir[c];
        }
        if (!is_new && syn && (state[c] & (1 << d))) {
            if (!has_ack) {
                /* port reuse: a SYN with a new ISN (tshark 4.0: even after a FIN or an
                 * RST, a SYN with the same ISN stays in its stream, a retransmission) */
                is_new = seq[i] != base[2 * c + d];
            } else if (!quoted && seq[i] != base[2 * c + d]) {
                /* a SYN+ACK with a new ISN re-bases its direction only */
                base[2 * c + d] = seq[i];
            }
        }
        if (is_new) {
            if (n_conv >= max_conv) { overflow = 1; break; }
            if (reused) reused[n_conv] = current[k] >= 0;
            c = (int32_t)n_conv++;
            current[k] = c;
            client_dir[c] = (int8_t)d;
            shift[2 * c] = shift[2 * c + 1] = -1;
            state[c] = ROLE_FIRST_SEGMENT << 3 | (quoted ? S_QUOTE_ONLY : 0);
            used[c] = 0;
        }
        conv[i] = c;
        /* a quoted header finds or opens its conversation (the reuse rule included) and
         * changes nothing else: no base, window scale, role or FIN/RST */
        if (quoted) continue;
        if (state[c] & S_QUOTE_ONLY) {
            client_dir[c] = (int8_t)d;
            state[c] &= (uint8_t)~S_QUOTE_ONLY;
        }
        int role_src = state[c] >> 3;
        if (syn && !has_ack && role_src < ROLE_SYN) {
            client_dir[c] = (int8_t)d;
            state[c] = (state[c] & 7) | (ROLE_SYN << 3);
        } else if (syn && has_ack && role_src < ROLE_SYNACK) {
            client_dir[c] = (int8_t)e;
            state[c] = (state[c] & 7) | (ROLE_SYNACK << 3);
        }
        if (!(state[c] & (1 << d))) {
            base[2 * c + d] = syn ? seq[i] : seq[i] - 1u;
            state[c] |= (uint8_t)(1 << d);
        }
        if (has_ack && !(state[c] & (1 << e))) {
            base[2 * c + e] = ack[i] - 1u;
            state[c] |= (uint8_t)(1 << e);
        }
        if (ws[i] >= 0)  /* Wireshark takes the option from any segment carrying it */
            shift[2 * c + d] = (int8_t)(ws[i] > MAX_WSCALE ? MAX_WSCALE : ws[i]);
        if (syn) {
            if (shift[2 * c + d] == -1) {
                shift[2 * c] = shift[2 * c + 1] = -2;
            } else if (has_ack && shift[2 * c + e] == -2) {
                shift[2 * c + d] = -2;
            }
        }
        if (dirty && c < n_old) {
            unsigned u = used[c] & 0x0F;
            if (((u & U_BASE(0)) && b0 != base[2 * c]) || ((u & U_BASE(1)) && b1 != base[2 * c + 1])
                || ((u & U_SHIFT(0)) && s0 != shift[2 * c])
                || ((u & U_SHIFT(1)) && s1 != shift[2 * c + 1]) || cd != client_dir[c])
                dirty[c] = 1;
        }
        /* what this segment's columns use: its direction's base (relative seq), the
         * other's when it carries an ACK, its direction's shift unless a SYN */
        used[c] |= (uint8_t)((U_BASE(d) | (has_ack ? U_BASE(e) : 0) | (syn ? 0 : U_SHIFT(d))) << 4);
    }
    Py_END_ALLOW_THREADS
    }
    if (x == &local) conv_free(&x->h);
    else if (!failed && !overflow) x->n_conv = n_conv;
    PyBuffer_Release(&bk); PyBuffer_Release(&bd); PyBuffer_Release(&bf); PyBuffer_Release(&bs);
    PyBuffer_Release(&ba); PyBuffer_Release(&bw); PyBuffer_Release(&bconv);
    PyBuffer_Release(&bbase); PyBuffer_Release(&bshift); PyBuffer_Release(&bcd);
    if (bdirty.buf) PyBuffer_Release(&bdirty);
    if (breused.buf) PyBuffer_Release(&breused);
    if (failed) return NULL;
    if (overflow) {
        PyErr_SetString(PyExc_RuntimeError, overflow == 1
                        ? "walk_conversations: more conversations than room"
                        : "walk_conversations: key out of range");
        return NULL;
    }
    return PyLong_FromSsize_t(n_conv);
}

const CtxOps conv_ops = {sizeof(ConvCtx), conv_free, NULL, NULL};
