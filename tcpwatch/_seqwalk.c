/*
 * tcpwatch._seqwalk: the few loops of tcpwatch that are sequential by nature, compiled.
 *
 *   walk_pcap        record headers of a pcap chunk      (record N+1 starts where N ends)
 *   walk_pcapng      block headers of a pcapng chunk     (idem, byte order per section)
 *   walk_conversations  Wireshark's tcp.stream assignment, base seq and window scale,
 *                       one pass in file order (see tcpwatch/flows.py for the rules)
 *   walk_states      both endpoints' RFC 9293 states (tcpwatch/states/apply.py)
 *   analyze_flags    Wireshark's tcp.analysis flags (tcpwatch/analysis/flags.py)
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
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#define OK 0
#define CORRUPT 1
#define MAX_CAPLEN 262144u
#define MAX_BLOCK (16u * 1024u * 1024u)
#define PCAP_RECORD_HEADER 16

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_OPB 0x00000002u
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u

static inline uint32_t rd32(const uint8_t *p, int big) {
    if (big)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static inline uint32_t rd16(const uint8_t *p, int big) {
    if (big)
        return ((uint32_t)p[0] << 8) | p[1];
    return ((uint32_t)p[1] << 8) | p[0];
}

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

/* kind of a struct-module format letter ("@", "=" or the native order prefix allowed) */
static char format_kind(const char *fmt) {
    static const union { uint16_t u; uint8_t c[2]; } order = {1};
    if (fmt == NULL) return 'u';  /* plain bytes */
    if (*fmt == '@' || *fmt == '=' || *fmt == (order.c[0] ? '<' : '>')) fmt++;
    if (fmt[0] == 0 || fmt[1] != 0) return 0;
    if (strchr("bhilqn", fmt[0])) return 'i';
    if (strchr("BHILQN?c", fmt[0])) return 'u';
    if (strchr("efd", fmt[0])) return 'f';
    return 0;
}

static int check_args(const char *fn, const ArgSpec *spec, int n) {
    for (int k = 0; k < n; k++) {
        const ArgSpec *a = &spec[k];
        Py_buffer v;
        if (a->obj == NULL || a->obj == Py_None) continue;
        if (PyObject_GetBuffer(a->obj, &v, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        char kind = format_kind(v.format);
        Py_ssize_t size = v.itemsize, len = v.len / (v.itemsize ? v.itemsize : 1);
        PyBuffer_Release(&v);
        if (!kind || size != a->size || (a->kind != 'x' && kind != a->kind)) {
            char want[16];
            if (a->kind == 'x') snprintf(want, sizeof want, "bytes");
            else snprintf(want, sizeof want, "%s%d", a->kind == 'i' ? "int"
                          : a->kind == 'u' ? "uint" : "float", 8 * a->size);
            PyErr_Format(PyExc_TypeError, "%s: %s must be a C-contiguous array of %s "
                         "(native byte order)", fn, a->name, want);
            return -1;
        }
        if (len < a->min || (a->max >= 0 && len > a->max)) {
            if (a->min == a->max)
                PyErr_Format(PyExc_ValueError, "%s: %s has %zd elements, not %zd", fn, a->name,
                             len, a->min);
            else
                PyErr_Format(PyExc_ValueError, "%s: %s has %zd elements, fewer than %zd", fn,
                             a->name, len, a->min);
            return -1;
        }
    }
    return 0;
}

static PyObject *release_all(Py_buffer **bufs, int n) {
    for (int k = 0; k < n; k++)
        if (bufs[k]->obj) PyBuffer_Release(bufs[k]);
    return NULL;
}

static PyObject *value_error(const char *fn, const char *what) {
    PyErr_Format(PyExc_ValueError, "%s: %s", fn, what);
    return NULL;
}

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
enum { CTX_CONV = 1, CTX_STATES = 2, CTX_FLAGS = 3 };

typedef struct { int kind; Py_ssize_t cap; } CtxHead;

/* grow n arrays of the given element sizes from *cap to at least need elements;
 * the new elements are filled with the byte fill[k] */
static int grow_arrays(void **arrs[], const size_t *elem, const int *fill, int n,
                       Py_ssize_t *cap, Py_ssize_t need) {
    if (need <= *cap) return 0;
    Py_ssize_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    for (int k = 0; k < n; k++) {
        void *p = PyMem_Realloc(*arrs[k], nc * elem[k]);
        if (!p) return -1;
        memset((char *)p + *cap * elem[k], fill[k], (nc - *cap) * elem[k]);
        *arrs[k] = p;
    }
    *cap = nc;
    return 0;
}

static void *ctx_get(PyObject *obj, int kind) {
    if (obj == NULL || obj == Py_None) return NULL;
    CtxHead *h = PyCapsule_GetPointer(obj, "tcpwatch._seqwalk.ctx");
    if (h && h->kind != kind) {
        PyErr_SetString(PyExc_TypeError, "_seqwalk: a context of another walk");
        return NULL;
    }
    return h;
}

/* walk_pcap(buf, pos, big, off, caplen, origlen, sec, frac) -> (count, end, status)
 * outputs: int64 arrays, all of the same length (0: count only). */
static PyObject *walk_pcap(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer buf, o_off, o_cap, o_orig, o_sec, o_frac;
    Py_ssize_t pos;
    int big;
    if (!PyArg_ParseTuple(args, "y*npw*w*w*w*w*", &buf, &pos, &big, &o_off, &o_cap, &o_orig,
                          &o_sec, &o_frac))
        return NULL;
    {
        Py_ssize_t m = o_off.len / 8;
        ArgSpec spec[] = {{buf.obj, "buf", 'x', 1, 0, -1}, {o_off.obj, "off", 'i', 8, 0, -1},
                          {o_cap.obj, "caplen", 'i', 8, m, m}, {o_orig.obj, "origlen", 'i', 8, m, m},
                          {o_sec.obj, "sec", 'i', 8, m, m}, {o_frac.obj, "frac", 'i', 8, m, m}};
        Py_buffer *all[] = {&buf, &o_off, &o_cap, &o_orig, &o_sec, &o_frac};
        if (check_args("walk_pcap", spec, N_ARGS(spec)) < 0
            || ((pos < 0 || pos > buf.len) && !value_error("walk_pcap", "pos outside buf")))
            return release_all(all, N_ARGS(all));
    }
    const uint8_t *b = (const uint8_t *)buf.buf;
    Py_ssize_t n = buf.len;
    int fill = o_off.len > 0;
    Py_ssize_t room = o_off.len / 8;
    int64_t *off = o_off.buf, *cap = o_cap.buf, *orig = o_orig.buf, *sec = o_sec.buf,
            *frac = o_frac.buf;
    Py_ssize_t count = 0;
    int status = OK;
    Py_BEGIN_ALLOW_THREADS
    while (pos + PCAP_RECORD_HEADER <= n) {
        uint32_t incl = rd32(b + pos + 8, big);
        if (incl > MAX_CAPLEN) { status = CORRUPT; break; }
        Py_ssize_t end = pos + PCAP_RECORD_HEADER + (Py_ssize_t)incl;
        if (end > n) break;
        if (fill) {
            if (count >= room) break;
            sec[count] = rd32(b + pos, big);
            frac[count] = rd32(b + pos + 4, big);
            cap[count] = incl;
            orig[count] = rd32(b + pos + 12, big);
            off[count] = pos + PCAP_RECORD_HEADER;
        }
        count++;
        pos = end;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf); PyBuffer_Release(&o_off); PyBuffer_Release(&o_cap);
    PyBuffer_Release(&o_orig); PyBuffer_Release(&o_sec); PyBuffer_Release(&o_frac);
    return Py_BuildValue("nni", count, pos, status);
}

/* walk_pcapng(buf, pos, big, n_idb, section_base, off, caplen, origlen, iface, ts_raw,
 *             idb_pos, idb_big)
 *   -> (count, n_idb_here, end, status, big, n_idb, section_base)
 * off/caplen/origlen/iface/idb_pos: int64; ts_raw: uint64; idb_big: uint8. */
static PyObject *walk_pcapng(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer buf, o_off, o_cap, o_orig, o_if, o_ts, o_idb, o_idbbig;
    Py_ssize_t pos, n_idb, section_base;
    int big;
    if (!PyArg_ParseTuple(args, "y*npnnw*w*w*w*w*w*w*", &buf, &pos, &big, &n_idb,
                          &section_base, &o_off, &o_cap, &o_orig, &o_if, &o_ts, &o_idb,
                          &o_idbbig))
        return NULL;
    {
        Py_ssize_t m = o_off.len / 8, k = o_idb.len / 8;
        ArgSpec spec[] = {{buf.obj, "buf", 'x', 1, 0, -1}, {o_off.obj, "off", 'i', 8, 0, -1},
                          {o_cap.obj, "caplen", 'i', 8, m, m}, {o_orig.obj, "origlen", 'i', 8, m, m},
                          {o_if.obj, "iface", 'i', 8, m, m}, {o_ts.obj, "ts_raw", 'u', 8, m, m},
                          {o_idb.obj, "idb_pos", 'i', 8, 0, -1},
                          {o_idbbig.obj, "idb_big", 'x', 1, k, k}};
        Py_buffer *all[] = {&buf, &o_off, &o_cap, &o_orig, &o_if, &o_ts, &o_idb, &o_idbbig};
        if (check_args("walk_pcapng", spec, N_ARGS(spec)) < 0
            || ((pos < 0 || pos > buf.len) && !value_error("walk_pcapng", "pos outside buf"))
            || ((n_idb < 0 || section_base < 0 || section_base > n_idb)
                && !value_error("walk_pcapng", "n_idb or section_base out of range")))
            return release_all(all, N_ARGS(all));
    }
    const uint8_t *b = (const uint8_t *)buf.buf;
    Py_ssize_t n = buf.len;
    int fill = o_off.len > 0 || o_idb.len > 0;
    Py_ssize_t room = o_off.len / 8, idb_room = o_idb.len / 8;
    int64_t *off = o_off.buf, *cap = o_cap.buf, *orig = o_orig.buf, *iface = o_if.buf,
            *idbpos = o_idb.buf;
    uint64_t *ts = o_ts.buf;
    uint8_t *idbbig = o_idbbig.buf;
    Py_ssize_t count = 0, k = 0;
    int status = OK;
    Py_BEGIN_ALLOW_THREADS
    while (pos + 12 <= n) {
        uint32_t btype = rd32(b + pos, big);
        if (btype == BT_SHB) {
            uint32_t magic = rd32(b + pos + 8, 0);
            if (magic == 0x1A2B3C4Du) big = 0;
            else if (magic == 0x4D3C2B1Au) big = 1;
            else { status = CORRUPT; break; }
        }
        uint32_t blen = rd32(b + pos + 4, big);
        if (blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK) { status = CORRUPT; break; }
        if (pos + (Py_ssize_t)blen > n) break;
        if (btype == BT_SHB) {
            section_base = n_idb;
        } else if (btype == BT_IDB) {
            if (fill) {
                if (k >= idb_room) break;
                idbpos[k] = pos;
                idbbig[k] = (uint8_t)big;
            }
            k++;
            n_idb++;
        } else if (btype == BT_EPB || btype == BT_OPB) {
            if (blen < 32) { status = CORRUPT; break; }
            uint32_t incl = rd32(b + pos + 20, big);
            if (incl > blen - 32) { status = CORRUPT; break; }
            if (fill) {
                if (count >= room) break;
                iface[count] = section_base + (btype == BT_EPB ? rd32(b + pos + 8, big)
                                                               : rd16(b + pos + 8, big));
                ts[count] = ((uint64_t)rd32(b + pos + 12, big) << 32) | rd32(b + pos + 16, big);
                cap[count] = incl;
                orig[count] = rd32(b + pos + 24, big);
                off[count] = pos + 28;
            }
            count++;
        } else if (btype == BT_SPB) {
            if (blen < 16) { status = CORRUPT; break; }
            uint32_t o = rd32(b + pos + 8, big);
            uint32_t incl = o < blen - 16 ? o : blen - 16;
            if (fill) {
                if (count >= room) break;
                iface[count] = section_base;
                ts[count] = UINT64_MAX; /* SPBs carry no timestamp */
                cap[count] = incl;
                orig[count] = o;
                off[count] = pos + 12;
            }
            count++;
        }
        pos += blen;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf); PyBuffer_Release(&o_off); PyBuffer_Release(&o_cap);
    PyBuffer_Release(&o_orig); PyBuffer_Release(&o_if); PyBuffer_Release(&o_ts);
    PyBuffer_Release(&o_idb); PyBuffer_Release(&o_idbbig);
    return Py_BuildValue("nnniinn", count, k, pos, status, big, n_idb, section_base);
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10
#define MAX_WSCALE 14
/* flags bit of a TCP header quoted in an ICMP error, not a segment (tcpwatch/flows.py) */
#define F_QUOTED 0x8000
/* conversation state bit: opened by a quoted header, no segment of its own yet */
#define S_QUOTE_ONLY 0x80
#define ROLE_FIRST_SEGMENT 0
#define ROLE_SYNACK 1
#define ROLE_SYN 2

typedef struct {
    CtxHead h;              /* h.cap: room for conversations */
    Py_ssize_t cap_keys, n_conv;
    int64_t calls;
    int64_t *current;       /* per 4-tuple key: its current conversation (-1: none) */
    uint8_t *state;         /* per conversation: see below */
    /* per conversation: which of base/shift the segments of earlier calls used (U_*),
     * those of the current call, and the call that last touched it */
    uint8_t *used_old, *used_new;
    int64_t *stamp;
} ConvCtx;

#define U_BASE(d) (1u << (d))
#define U_SHIFT(d) (4u << (d))

static void conv_free(ConvCtx *x) {
    PyMem_Free(x->current); PyMem_Free(x->state); PyMem_Free(x->used_old);
    PyMem_Free(x->used_new); PyMem_Free(x->stamp);
}

static int conv_reserve(ConvCtx *x, Py_ssize_t n_keys, Py_ssize_t n_conv) {
    void **k[] = {(void **)&x->current};
    void **c[] = {(void **)&x->state, (void **)&x->used_old, (void **)&x->used_new,
                  (void **)&x->stamp};
    size_t ek[] = {sizeof(int64_t)}, ec[] = {1, 1, 1, sizeof(int64_t)};
    int fk[] = {0xFF}, fc[] = {0, 0, 0, 0};  /* all bytes 0xFF: -1 */
    return grow_arrays(k, ek, fk, 1, &x->cap_keys, n_keys) ||
           grow_arrays(c, ec, fc, 4, &x->h.cap, n_conv) ? -1 : 0;
}

/* walk_conversations(key:int64, dir:int8, flags:uint16, seq:uint32, ack:uint32,
 *                    wscale:int16, n_keys, conv_out:int32, base:uint32[max_conv*2],
 *                    shift:int8[max_conv*2], client_dir:int8[max_conv]
 *                    [, ctx, dirty:uint8[max_conv], reused:uint8[max_conv]]) -> n_conv
 * The rules are documented in tcpwatch/flows.py.  With a context, keys and
 * conversation numbers continue those of the previous calls (base, shift and client_dir
 * then hold the earlier conversations' values); dirty[c] is set when this call changed
 * a base or shift that segments of an earlier call used (for their relative numbers or
 * their window), or client_dir of a conversation with segments in an earlier call, and
 * reused[c] of each new conversation says whether it took over the 4-tuple of an
 * earlier one (its first segment is then a SYN: Wireshark's "reused ports"). */
static PyObject *walk_conversations(PyObject *Py_UNUSED(self), PyObject *args) {
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
    int64_t *current = x->current;
    uint8_t *state = x->state;
    /* state bits: 1,2 = base set for dir 0,1; 8..: role source << 3; S_QUOTE_ONLY */
    Py_ssize_t n_conv = x->n_conv, n_old = x->n_conv;
    int64_t call = ++x->calls;
    uint8_t *used_old = x->used_old, *used_new = x->used_new;
    int64_t *stamp = x->stamp;
    int overflow = 0;
    if (!failed) {
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t k = key[i];
        if (k < 0 || k >= n_keys) { overflow = 2; break; }
        int d = dir[i], e = 1 - d;
        unsigned f = flags[i];
        int64_t c = current[k];
        int syn = (f & F_SYN) != 0, has_ack = (f & F_ACK) != 0, quoted = (f & F_QUOTED) != 0;
        int is_new = c < 0;
        uint32_t b0 = 0, b1 = 0;
        int8_t s0 = 0, s1 = 0, cd = 0;
        if (!is_new && c < n_old) {
            if (stamp[c] != call) {
                used_old[c] |= used_new[c];
                used_new[c] = 0;
                stamp[c] = call;
            }
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
            c = n_conv++;
            current[k] = c;
            client_dir[c] = (int8_t)d;
            shift[2 * c] = shift[2 * c + 1] = -1;
            state[c] = ROLE_FIRST_SEGMENT << 3 | (quoted ? S_QUOTE_ONLY : 0);
            used_old[c] = used_new[c] = 0;
            stamp[c] = call;
        }
        conv[i] = (int32_t)c;
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
            unsigned u = used_old[c];
            if (((u & U_BASE(0)) && b0 != base[2 * c]) || ((u & U_BASE(1)) && b1 != base[2 * c + 1])
                || ((u & U_SHIFT(0)) && s0 != shift[2 * c])
                || ((u & U_SHIFT(1)) && s1 != shift[2 * c + 1]) || cd != client_dir[c])
                dirty[c] = 1;
        }
        /* what this segment's columns use: its direction's base (relative seq), the
         * other's when it carries an ACK, its direction's shift unless a SYN */
        used_new[c] |= (uint8_t)(U_BASE(d) | (has_ack ? U_BASE(e) : 0) | (syn ? 0 : U_SHIFT(d)));
    }
    Py_END_ALLOW_THREADS
    }
    if (x == &local) conv_free(x);
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

/* Event classes: must match tcpwatch.vocab.SegClass (a test checks class_layout()). */
enum { C_NONE, C_ACK, C_DATA, C_DATA_PAST_FIN, C_FIN, C_SYN, C_SYNACK, C_RST, C_ACK_OF_FIN,
       C_FIN_ACK_OF_FIN, C_RST_BAD, N_CLASSES };
#define T_IGNORED 254
#define T_INVALID 255

static PyObject *class_layout(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args)) {
    return Py_BuildValue("iiiiiiiiiii", C_NONE, C_ACK, C_DATA, C_DATA_PAST_FIN, C_FIN, C_SYN,
                         C_SYNACK, C_RST, C_ACK_OF_FIN, C_FIN_ACK_OF_FIN, C_RST_BAD);
}

typedef struct {
    CtxHead h;  /* h.cap: room for connections; per direction arrays hold 2 per connection */
    uint8_t *cur, *seen, *have, *xck;
    uint32_t *nxt, *fin_end, *wlast, *xend;
} StatesCtx;

static void states_free(StatesCtx *x) {
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

static void states_reset(StatesCtx *x, int32_t c) {
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
static PyObject *walk_states(PyObject *Py_UNUSED(self), PyObject *args) {
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
        if (c < 0 || c >= n_conn) { bad_input = 1; break; }
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
    if (!carry) states_free(x);
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

/* ------------------------------------------------------------------------------------
 * Wireshark's TCP sequence analysis (tcp_analyze_sequence_number in packet-tcp.c, as in
 * the tshark that Debian 12 ships, 4.0.x), re-expressed over columns.  One pass in file
 * order; per connection and direction the state Wireshark keeps in tcp_flow_t.  The
 * flag bits and their names are tcpwatch.analysis.registry; the rules are documented
 * there, in Wireshark's order.
 * ------------------------------------------------------------------------------------ */
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

#define GT_SEQ(a, b) ((int32_t)((b) - (a)) < 0)
#define LT_SEQ(a, b) ((int32_t)((a) - (b)) < 0)
#define LE_SEQ(a, b) ((int32_t)((a) - (b)) <= 0)

typedef struct { int64_t frame; uint32_t seq, nextseq; int64_t ts; } Unacked;

typedef struct {
    uint32_t base;  /* Wireshark's base_seq of this direction (for the SYN+ACK re-base) */
    int base_set;
    uint32_t sack_bytes;  /* bytes SACKed by this direction's last segment */
    uint32_t nextseq, maxseqtobeacked, lastack, window;
    int64_t nextseqframe, lastnondupack;
    int64_t nextseqtime, lastacktime;  /* ns, as Wireshark's nstime arithmetic */
    int32_t dupacknum;
    uint32_t lastsegmentflags;
    int win_scale;  /* -1 unknown, -2 not used, else shift */
    int valid_bif;
    /* the direction's first SYN+ACK: seen, its ISN, and its row in call synack_call */
    int synack_seen;
    uint32_t synack_seq;
    int64_t synack_call;
    Py_ssize_t synack_row;
    Unacked *ual;  /* oldest first */
    Py_ssize_t n_ual, cap_ual;
} Flow;

typedef struct {
    CtxHead h;  /* h.cap: room for connections (two flows each) */
    Flow *flows;
    int64_t *first_rtt, *mru_syn;
    uint8_t *seen;
    int64_t calls;
} FlagsCtx;

static void flags_reset(FlagsCtx *x, int32_t c) {
    for (int k = 0; k < 2; k++) {
        PyMem_Free(x->flows[2 * c + k].ual);
        memset(&x->flows[2 * c + k], 0, sizeof(Flow));
    }
    x->first_rtt[c] = x->mru_syn[c] = 0;
    x->seen[c] = 0;
}

static void flags_free(FlagsCtx *x) {
    if (x->flows)
        for (Py_ssize_t k = 0; k < 2 * x->h.cap; k++) PyMem_Free(x->flows[k].ual);
    PyMem_Free(x->flows); PyMem_Free(x->first_rtt); PyMem_Free(x->mru_syn);
    PyMem_Free(x->seen);
}

static int flags_reserve(FlagsCtx *x, Py_ssize_t n_conn) {
    void **a[] = {(void **)&x->flows, (void **)&x->first_rtt, (void **)&x->mru_syn,
                  (void **)&x->seen};
    size_t e[] = {2 * sizeof(Flow), sizeof(int64_t), sizeof(int64_t), 1};
    int fill[] = {0, 0, 0, 0};
    return grow_arrays(a, e, fill, 4, &x->h.cap, n_conn);
}

static PyObject *analyze_flags(PyObject *Py_UNUSED(self), PyObject *args) {
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
    if (!failed && flags_reserve(x, n_conn) < 0) failed = 1;
    Flow *flows = x->flows;
    int64_t *first_rtt = x->first_rtt, *mru_syn = x->mru_syn;
    uint8_t *seen = x->seen;
    int64_t call = ++x->calls;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        int32_t c = conn[i];
        if (c < 0 || c >= n_conn) { failed = 2; break; }
        int d = dir[i] ? 1 : 0;
        Flow *f = &flows[2 * c + d], *r = &flows[2 * c + 1 - d];
        if (!seen[c]) {
            seen[c] = 1;
            for (int k = 0; k < 2; k++) {
                flows[2 * c + k].window = 0xFFFFFFFFu;
                flows[2 * c + k].win_scale = -1;
                flows[2 * c + k].valid_bif = 1;
            }
        }
        unsigned flags = fl[i];
        uint32_t seq = seqs[i], ack = acks[i], seglen = lens[i], window = wins[i];
        int64_t now = ts[i];
        int sfr = (flags & 0x07) != 0, syn = (flags & 0x02) != 0, fin = (flags & 0x01) != 0;
        uint32_t a = 0;
        int has_ta = 0;
        dup_num[i] = 0; dup_frame[i] = -1; bif[i] = -1; acked[i] = -1; rtt[i] = NAN;
        if (syn && !(flags & 0x10) && conn_reused[c] == 1 && !f->base_set && !r->base_set)
            a |= A_REUSED_PORTS;  /* the SYN that opened a connection on an old 4-tuple */
        if (syn && (flags & 0x10)) {
            if (f->base_set && seq != f->base) {
                a |= A_REUSED_PORTS;  /* a SYN+ACK with a new ISN: Wireshark re-bases */
                f->base = seq;
            }
            if (!f->synack_seen) {
                f->synack_seen = 1; f->synack_seq = seq;
                f->synack_call = call; f->synack_row = i;
            } else if (f->synack_call == call) {
                /* tshark -2's second pass re-bases at each SYN+ACK starting from the
                 * final base, so the direction's first SYN+ACK is flagged too when the
                 * final ISN is another one (a re-walk of the whole connection in live) */
                uint16_t *first = &out_flags[f->synack_row];
                *first = seq != f->synack_seq ? (uint16_t)(*first | A_REUSED_PORTS)
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
            && seq + seglen == r->lastack + (r->window << (r->win_scale == -2 ? 0 : r->win_scale)))
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
            f->dupacknum++;
            a |= A_DUPLICATE_ACK;
            dup_num[i] = f->dupacknum;
            dup_frame[i] = f->lastnondupack;
        }
    finished_fwd:
        if (ack != f->lastack) {
            f->lastnondupack = frame[i];
            f->dupacknum = 0;
        }
        if (r->maxseqtobeacked && GT_SEQ(ack, r->maxseqtobeacked) && (flags & 0x10)) {
            a |= A_ACK_LOST_PACKET;
            r->maxseqtobeacked = r->nextseq;
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
            int64_t thres = first_rtt[c] != 0 ? first_rtt[c] : 3000000;
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
            if (f->n_ual == f->cap_ual) {
                Py_ssize_t cap = f->cap_ual ? 2 * f->cap_ual : 8;
                Unacked *p = PyMem_Realloc(f->ual, cap * sizeof(Unacked));
                if (!p) { failed = 1; break; }
                f->ual = p;
                f->cap_ual = cap;
            }
            f->ual[f->n_ual++] = (Unacked){frame[i], seq, nextseq, now};
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
        /* ACKs: newest first over the other direction's unacked segments */
        {
            Py_ssize_t w = r->n_ual;
            for (Py_ssize_t k = r->n_ual - 1; k >= 0; k--) {
                Unacked *u = &r->ual[k];
                int drop = 0;
                if (ack == u->nextseq) {
                    acked[i] = u->frame;
                    /* like tshark, no RTT when it is exactly 0 (acks_frame still set) */
                    rtt[i] = now == u->ts ? NAN : (double)(now - u->ts) / 1e9;
                    drop = 1;
                } else if (GT_SEQ(ack, u->seq) && LE_SEQ(ack, u->nextseq)) {
                    u->seq = ack;
                } else if (!GT_SEQ(u->nextseq, ack)) {
                    drop = 1;
                }
                if (drop) u->frame = -1;
            }
            for (Py_ssize_t k = 0, j = 0; k < r->n_ual; k++) {
                if (r->ual[k].frame >= 0) r->ual[j++] = r->ual[k];
                else w--;
            }
            r->n_ual = w;
        }
        if (seglen != 0 && f->n_ual && f->valid_bif) {
            uint32_t first = f->ual[f->n_ual - 1].seq, last = f->ual[f->n_ual - 1].nextseq;
            for (Py_ssize_t k = 0; k < f->n_ual; k++) {
                if ((int32_t)(f->ual[k].nextseq - last) > 0) last = f->ual[k].nextseq;
                if ((int32_t)(f->ual[k].seq - first) < 0) first = f->ual[k].seq;
            }
            uint32_t in_flight = last - first;
            in_flight -= r->sack_bytes;  /* what the receiver reported holding (SACK) */
            if (syn || fin) in_flight -= 1u;
            if ((int32_t)in_flight > 0 && in_flight < 2000000000u) bif[i] = in_flight;
        }
        (void)has_ta;
        f->sack_bytes = 0;
        for (int32_t k = soff[i]; k + 1 < soff[i + 1]; k += 2)
            f->sack_bytes += sval[k + 1] - sval[k];
        out_flags[i] = (uint16_t)a;
        /* iRTT: the first ACK (no SYN) after a pure SYN */
        if (syn && !(flags & 0x10)) mru_syn[c] = now;
        if ((flags & 0x12) == 0x10 && mru_syn[c] != 0 && first_rtt[c] == 0)
            first_rtt[c] = now - mru_syn[c];
        /* window scale as Wireshark learns it: options are read after the analysis */
        if (wsopt[i] >= 0) f->win_scale = wsopt[i] > 14 ? 14 : wsopt[i];
        if (syn) {
            if (f->win_scale == -1) { f->win_scale = -2; r->win_scale = -2; }
            else if ((flags & 0x10) && r->win_scale == -2) f->win_scale = -2;
        }
    }
    if (x == &local) flags_free(x);
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

static void ctx_destroy(PyObject *capsule) {
    CtxHead *h = PyCapsule_GetPointer(capsule, "tcpwatch._seqwalk.ctx");
    if (!h) return;
    if (h->kind == CTX_CONV) conv_free((ConvCtx *)h);
    else if (h->kind == CTX_STATES) states_free((StatesCtx *)h);
    else flags_free((FlagsCtx *)h);
    PyMem_Free(h);
}

/* new_context(kind: 1 conversations, 2 states, 3 flags) -> capsule */
static PyObject *new_context(PyObject *Py_UNUSED(self), PyObject *args) {
    int kind;
    if (!PyArg_ParseTuple(args, "i", &kind)) return NULL;
    size_t size = kind == CTX_CONV ? sizeof(ConvCtx)
                : kind == CTX_STATES ? sizeof(StatesCtx)
                : kind == CTX_FLAGS ? sizeof(FlagsCtx) : 0;
    if (!size) {
        PyErr_SetString(PyExc_ValueError, "new_context: unknown kind");
        return NULL;
    }
    CtxHead *h = PyMem_Calloc(1, size);
    if (!h) return PyErr_NoMemory();
    h->kind = kind;
    PyObject *cap = PyCapsule_New(h, "tcpwatch._seqwalk.ctx", ctx_destroy);
    if (!cap) PyMem_Free(h);
    return cap;
}

/* reset_conns(ctx, conns:int32): the states or flags walk forgets these connections */
static PyObject *reset_conns(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *octx;
    Py_buffer bc;
    if (!PyArg_ParseTuple(args, "Oy*", &octx, &bc)) return NULL;
    ArgSpec spec[] = {{bc.obj, "conns", 'i', 4, 0, -1}};
    if (check_args("reset_conns", spec, 1) < 0) { PyBuffer_Release(&bc); return NULL; }
    CtxHead *h = PyCapsule_GetPointer(octx, "tcpwatch._seqwalk.ctx");
    int err = h == NULL;
    if (h && h->kind == CTX_CONV) {
        PyErr_SetString(PyExc_ValueError, "reset_conns: conversation numbering is final");
        err = 1;
    }
    const int32_t *conns = bc.buf;
    for (Py_ssize_t i = 0; !err && i < bc.len / 4; i++) {
        if (conns[i] < 0 || conns[i] >= h->cap) continue;  /* never walked: nothing known */
        if (h->kind == CTX_STATES) states_reset((StatesCtx *)h, conns[i]);
        else flags_reset((FlagsCtx *)h, conns[i]);
    }
    PyBuffer_Release(&bc);
    if (err) return NULL;
    Py_RETURN_NONE;
}

/* trim_conns(flags ctx, conns:int32): give back the unacked-segment lists that are empty
 * (a connection that is over has acknowledged everything); nothing it knows changes */
static PyObject *trim_conns(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *octx;
    Py_buffer bc;
    if (!PyArg_ParseTuple(args, "Oy*", &octx, &bc)) return NULL;
    ArgSpec spec[] = {{bc.obj, "conns", 'i', 4, 0, -1}};
    if (check_args("trim_conns", spec, 1) < 0) { PyBuffer_Release(&bc); return NULL; }
    FlagsCtx *x = ctx_get(octx, CTX_FLAGS);
    const int32_t *conns = bc.buf;
    for (Py_ssize_t i = 0; x && i < bc.len / 4; i++) {
        if (conns[i] < 0 || conns[i] >= x->h.cap) continue;
        for (int k = 0; k < 2; k++) {
            Flow *f = &x->flows[2 * conns[i] + k];
            if (f->n_ual == 0 && f->ual) {
                PyMem_Free(f->ual);
                f->ual = NULL;
                f->cap_ual = 0;
            }
        }
    }
    PyBuffer_Release(&bc);
    if (!x) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "trim_conns: a flags context");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"trim_conns", trim_conns, METH_VARARGS,
     "Free the empty unacked-segment lists of some connections (flags context)."},
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
    {"walk_conversations", walk_conversations, METH_VARARGS,
     "Assign Wireshark tcp.stream numbers, base seqs and window scales in file order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_seqwalk",
                                    "Compiled sequential walks of tcpwatch.", -1, methods,
                                    NULL, NULL, NULL, NULL};

/* Every constant Python also uses, exported from here -- the one place they are defined
 * for the compiled side; tcpwatch/native.py checks the Python side against them. */
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
        {"CTX_FLAGS", CTX_FLAGS}, {"T_IGNORED", T_IGNORED}, {"T_INVALID", T_INVALID},
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
    };
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
