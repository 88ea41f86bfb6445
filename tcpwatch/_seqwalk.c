/*
 * tcpwatch._seqwalk: the few loops of tcpwatch that are sequential by nature, compiled.
 *
 *   walk_pcap        record headers of a pcap chunk      (record N+1 starts where N ends)
 *   walk_pcapng      block headers of a pcapng chunk     (idem, byte order per section)
 *   walk_conversations  Wireshark's tcp.stream assignment, base seq and window scale,
 *                       one pass in file order (see tcpwatch/flows.py for the rules)
 *
 * Everything else in tcpwatch is whole-column numpy.  These functions only read a few
 * header words per record; they never allocate by a length read from the file, and they
 * write into buffers the caller allocated (numpy arrays passed through the buffer
 * protocol; dtypes are checked by the Python wrappers in tcpwatch/capture/walk.py and
 * tcpwatch/flows.py).  A zero-length output buffer means "count only".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

/* walk_pcap(buf, pos, big, off, caplen, origlen, sec, frac) -> (count, end, status)
 * outputs: int64 arrays, all of the same length (0: count only). */
static PyObject *walk_pcap(PyObject *self, PyObject *args) {
    Py_buffer buf, o_off, o_cap, o_orig, o_sec, o_frac;
    Py_ssize_t pos;
    int big;
    if (!PyArg_ParseTuple(args, "y*npw*w*w*w*w*", &buf, &pos, &big, &o_off, &o_cap, &o_orig,
                          &o_sec, &o_frac))
        return NULL;
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
static PyObject *walk_pcapng(PyObject *self, PyObject *args) {
    Py_buffer buf, o_off, o_cap, o_orig, o_if, o_ts, o_idb, o_idbbig;
    Py_ssize_t pos, n_idb, section_base;
    int big;
    if (!PyArg_ParseTuple(args, "y*npnnw*w*w*w*w*w*w*", &buf, &pos, &big, &n_idb,
                          &section_base, &o_off, &o_cap, &o_orig, &o_if, &o_ts, &o_idb,
                          &o_idbbig))
        return NULL;
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
#define ROLE_FIRST_SEGMENT 0
#define ROLE_SYNACK 1
#define ROLE_SYN 2

/* walk_conversations(key:int64, dir:int8, flags:uint16, seq:uint32, ack:uint32,
 *                    wscale:int16, n_keys, conv_out:int32, base:uint32[max_conv*2],
 *                    shift:int8[max_conv*2], client_dir:int8[max_conv]) -> n_conv
 * The rules are documented in tcpwatch/flows.py. */
static PyObject *walk_conversations(PyObject *self, PyObject *args) {
    Py_buffer bk, bd, bf, bs, ba, bw, bconv, bbase, bshift, bcd;
    Py_ssize_t n_keys;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*nw*w*w*w*", &bk, &bd, &bf, &bs, &ba, &bw, &n_keys,
                          &bconv, &bbase, &bshift, &bcd))
        return NULL;
    Py_ssize_t n = bk.len / 8, max_conv = bcd.len;
    const int64_t *key = bk.buf;
    const int8_t *dir = bd.buf;
    const uint16_t *flags = bf.buf;
    const uint32_t *seq = bs.buf, *ack = ba.buf;
    const int16_t *ws = bw.buf;
    int32_t *conv = bconv.buf;
    uint32_t *base = bbase.buf;
    int8_t *shift = bshift.buf, *client_dir = bcd.buf;
    int64_t *current = PyMem_Malloc(sizeof(int64_t) * (n_keys > 0 ? n_keys : 1));
    uint8_t *state = PyMem_Calloc(max_conv > 0 ? max_conv : 1, 1);
    if (!current || !state) {
        PyMem_Free(current); PyMem_Free(state);
        return PyErr_NoMemory();
    }
    /* state bits: 1,2 = base set for dir 0,1; 4 = FIN/RST seen; 8..: role source << 3 */
    for (Py_ssize_t i = 0; i < n_keys; i++) current[i] = -1;
    Py_ssize_t n_conv = 0;
    int overflow = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t k = key[i];
        int d = dir[i], e = 1 - d;
        unsigned f = flags[i];
        int64_t c = current[k];
        int syn = (f & F_SYN) != 0, has_ack = (f & F_ACK) != 0;
        int is_new = c < 0;
        if (!is_new && syn && (state[c] & (1 << d))) {
            if (!has_ack) {
                /* port reuse: a SYN with a new ISN, or any SYN after a FIN or RST */
                is_new = seq[i] != base[2 * c + d] || (state[c] & 4);
            } else if (seq[i] != base[2 * c + d]) {
                /* a SYN+ACK with a new ISN re-bases its direction only */
                base[2 * c + d] = seq[i];
            }
        }
        if (is_new) {
            if (n_conv >= max_conv) { overflow = 1; break; }
            c = n_conv++;
            current[k] = c;
            client_dir[c] = (int8_t)d;
            shift[2 * c] = shift[2 * c + 1] = -1;
            state[c] = ROLE_FIRST_SEGMENT << 3;
        }
        conv[i] = (int32_t)c;
        int role_src = state[c] >> 3;
        if (syn && !has_ack && role_src < ROLE_SYN) {
            client_dir[c] = (int8_t)d;
            state[c] = (state[c] & 7) | (ROLE_SYN << 3);
        } else if (syn && has_ack && role_src < ROLE_SYNACK) {
            client_dir[c] = (int8_t)e;
            state[c] = (state[c] & 7) | (ROLE_SYNACK << 3);
        }
        if ((f & F_RST) || ((f & F_FIN) && has_ack)) state[c] |= 4;
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
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(current);
    PyMem_Free(state);
    PyBuffer_Release(&bk); PyBuffer_Release(&bd); PyBuffer_Release(&bf); PyBuffer_Release(&bs);
    PyBuffer_Release(&ba); PyBuffer_Release(&bw); PyBuffer_Release(&bconv);
    PyBuffer_Release(&bbase); PyBuffer_Release(&bshift); PyBuffer_Release(&bcd);
    if (overflow) {
        PyErr_SetString(PyExc_RuntimeError, "walk_conversations: more conversations than room");
        return NULL;
    }
    return PyLong_FromSsize_t(n_conv);
}

static PyMethodDef methods[] = {
    {"walk_pcap", walk_pcap, METH_VARARGS, "Walk pcap record headers."},
    {"walk_pcapng", walk_pcapng, METH_VARARGS, "Walk pcapng block headers."},
    {"walk_conversations", walk_conversations, METH_VARARGS,
     "Assign Wireshark tcp.stream numbers, base seqs and window scales in file order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_seqwalk",
                                    "Compiled sequential walks of tcpwatch.", -1, methods};

PyMODINIT_FUNC PyInit__seqwalk(void) { return PyModule_Create(&module); }
