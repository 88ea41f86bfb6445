/* The TCP header walk: the fixed fields (RFC 9293 §3.1) and the options tcpwatch records
 * (RFC 9293 §3.2: MSS; RFC 7323: window scale, timestamps; RFC 2018: SACK-permitted,
 * SACK) of every segment of a batch, in one pass.  Python (tcpwatch/decode/tcpheader.py)
 * names the output columns by the exported TCP_COL_* constants. */
#include "seqwalk.h"

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WSCALE 3
#define OPT_SACK_PERM 4
#define OPT_SACK 5
#define OPT_TIMESTAMPS 8

static inline uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Options in [pos, end): each one read in turn; an unknown kind is skipped by its length
 * byte; EOL, a length below 2 or running past the area ends the walk (as Wireshark).  Of
 * two SACK options the last counts, as a receiver would. */
static void parse_options(const uint8_t *b, int64_t pos, int64_t end, uint32_t *row,
                          Py_ssize_t stride, int64_t *sack_at) {
    for (int round = 0; round < TCP_MAX_OPTION_BYTES && pos < end; round++) {
        uint8_t kind = b[pos];
        if (kind == OPT_EOL) break;
        if (kind == OPT_NOP) { pos++; continue; }
        if (pos + 1 >= end) break;
        int64_t len = b[pos + 1];
        if (len < 2 || pos + len > end) break;
        const uint8_t *v = b + pos + 2;
        if (kind == OPT_MSS && len == 4) {
            row[TCP_COL_MSS * stride] = be16(v);
            row[TCP_COL_HAS * stride] |= TCP_HAS_MSS;
        } else if (kind == OPT_WSCALE && len == 3) {
            row[TCP_COL_WSCALE * stride] = v[0];
            row[TCP_COL_HAS * stride] |= TCP_HAS_WSCALE;
        } else if (kind == OPT_SACK_PERM && len == 2) {
            row[TCP_COL_HAS * stride] |= TCP_HAS_SACK_PERM;
        } else if (kind == OPT_TIMESTAMPS && len == 10) {
            row[TCP_COL_TSVAL * stride] = be32(v);
            row[TCP_COL_TSECR * stride] = be32(v + 4);
            row[TCP_COL_HAS * stride] |= TCP_HAS_TIMESTAMPS;
        } else if (kind == OPT_SACK && (len == 10 || len == 18 || len == 26 || len == 34)) {
            row[TCP_COL_SACK_EDGES * stride] = (uint32_t)(len - 2) / 4;
            *sack_at = pos + 2;
        }
        pos += len;
    }
}

/* One segment's TCP header at l4 (end: the first byte not captured) into row[c * stride]
 * for each column c, and *sack_at (see tcp_headers; walk_frames calls it too). */
void tcp_row(const uint8_t *b, int64_t l4, int64_t end, uint32_t *row, Py_ssize_t stride,
             int64_t *sack_at) {
    for (int c = 0; c < TCP_NCOLS; c++) row[c * stride] = 0;
    *sack_at = -1;
    if (l4 + TCP_MIN_HEADER > end) return;
    const uint8_t *h = b + l4;
    row[TCP_COL_SPORT * stride] = be16(h);
    row[TCP_COL_DPORT * stride] = be16(h + 2);
    row[TCP_COL_SEQ * stride] = be32(h + 4);
    row[TCP_COL_ACK * stride] = be32(h + 8);
    row[TCP_COL_FLAGS * stride] = ((uint32_t)(h[12] & 1) << 8) | h[13];
    row[TCP_COL_WIN * stride] = be16(h + 14);
    uint32_t thl = (uint32_t)(h[12] >> 4) * 4;
    row[TCP_COL_THL * stride] = thl;
    if (thl > TCP_MIN_HEADER) {
        int64_t stop = l4 + thl < end ? l4 + thl : end;
        parse_options(b, l4 + TCP_MIN_HEADER, stop, row, stride, sack_at);
    }
}

/* tcp_headers(buf, l4, end, out, sack_at)
 *   buf      uint8 (any bytes): the batch's frames
 *   l4       int64[n]: where each TCP header starts in buf
 *   end      int64[n]: the first byte past each frame's captured bytes (<= len(buf))
 *   out      uint32[TCP_NCOLS * n], column-major (column c of row i at c * n + i);
 *            the columns (TCP_COL_*):
 *            THL     the header length from the data offset (bytes); 0 when the 20
 *                    fixed bytes are not captured (then every column is 0)
 *            SPORT DPORT SEQ ACK WIN   as on the wire
 *            FLAGS   the 8 flag bits and AE (RFC 9768) as bit 8
 *            MSS WSCALE TSVAL TSECR    option values, where HAS says they are present
 *            HAS     TCP_HAS_* bits: MSS, WSCALE, SACK_PERM, TIMESTAMPS
 *            SACK_EDGES  edges (2 per block) of the segment's last SACK option
 *   sack_at  int64[n]: offset in buf of that option's first edge (-1: none)
 * The options are read from byte 20 up to the data offset or the captured end, whichever
 * comes first.  Every offset is checked before anything is written. */
PyObject *tcp_headers(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *a_buf, *a_l4, *a_end, *a_out, *a_sack;
    if (!PyArg_ParseTuple(args, "OOOOO", &a_buf, &a_l4, &a_end, &a_out, &a_sack))
        return NULL;
    Py_buffer buf = {0}, bl4 = {0}, bend = {0}, bout = {0}, bsack = {0};
    Py_buffer *all[] = {&buf, &bl4, &bend, &bout, &bsack};
    ArgSpec first[] = {{a_buf, "buf", 'x', 1, 0, -1}, {a_l4, "l4", 'i', 8, 0, -1}};
    if (check_args("tcp_headers", first, N_ARGS(first)) < 0
        || PyObject_GetBuffer(a_l4, &bl4, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t m = bl4.len / 8;
    ArgSpec rest[] = {{a_end, "end", 'i', 8, m, m},
                      {a_out, "out", 'u', 4, m * TCP_NCOLS, m * TCP_NCOLS},
                      {a_sack, "sack_at", 'i', 8, m, m}};
    if (check_args("tcp_headers", rest, N_ARGS(rest)) < 0
        || PyObject_GetBuffer(a_buf, &buf, PyBUF_SIMPLE) < 0
        || PyObject_GetBuffer(a_end, &bend, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_out, &bout, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_sack, &bsack, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return release_all(all, N_ARGS(all));
    const uint8_t *b = buf.buf;
    const int64_t *l4 = bl4.buf, *end = bend.buf;
    Py_ssize_t n = bl4.len / 8;
    for (Py_ssize_t i = 0; i < n; i++)
        if (l4[i] < 0 || end[i] < 0 || end[i] > buf.len) {
            release_all(all, N_ARGS(all));
            return value_error("tcp_headers", "an offset outside buf");
        }
    uint32_t *out = bout.buf;
    int64_t *sack_at = bsack.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) tcp_row(b, l4[i], end[i], out + i, n, &sack_at[i]);
    Py_END_ALLOW_THREADS
    release_all(all, N_ARGS(all));
    Py_RETURN_NONE;
}
