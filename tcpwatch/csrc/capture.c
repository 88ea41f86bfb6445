/* The capture walks: pcap record headers and pcapng block headers of a chunk. */
#include "seqwalk.h"

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
PyObject *walk_pcap(PyObject *Py_UNUSED(self), PyObject *args) {
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
PyObject *walk_pcapng(PyObject *Py_UNUSED(self), PyObject *args) {
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
