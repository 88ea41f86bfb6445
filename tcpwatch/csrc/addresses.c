/* Source and destination addresses of a batch as dense codes into one list of distinct
 * addresses (tcpwatch/decode/frames.py turns only the distinct ones into text): IPv4 in
 * order of first appearance among all sources, then all destinations; then IPv6 in byte
 * order.  One open-addressing hash table per family, at most half full: it starts small
 * and doubles, as a batch holds few distinct addresses. */
#include "seqwalk.h"

typedef struct { uint8_t k[16]; int32_t id; } Key6;

static uint64_t hash16(const uint8_t *k) {
    uint64_t a, b;
    memcpy(&a, k, 8);
    memcpy(&b, k + 8, 8);
    return mix64(a * 0x9e3779b97f4a7c15ull ^ b);
}

static int cmp16(const void *x, const void *y) { return memcmp(x, y, 16); }

/* the table's slot for an IPv4 address (its own, or the empty one where it goes) */
static uint64_t slot4(const int32_t *table, uint64_t mask, const uint32_t *v4, uint32_t a) {
    uint64_t s = mix64(a) & mask;
    while (table[s] >= 0 && v4[table[s]] != a) s = (s + 1) & mask;
    return s;
}

static uint64_t slot6(const int32_t *table, uint64_t mask, const Key6 *keys, const uint8_t *p) {
    uint64_t s = hash16(p) & mask;
    while (table[s] >= 0 && memcmp(keys[table[s]].k, p, 16) != 0) s = (s + 1) & mask;
    return s;
}

/* empty the table, sized for `count` distinct keys at most half full, and put keys
 * 0 .. count - 1 back (v4 or keys); returns the new mask */
static uint64_t refill(int32_t *table, Py_ssize_t cap, Py_ssize_t count, const uint32_t *v4,
                       const Key6 *keys) {
    Py_ssize_t slots = cap < 256 ? cap : 256;  /* cap: a power of two */
    while (slots < 2 * (count + 1) && slots < cap) slots *= 2;
    uint64_t mask = (uint64_t)slots - 1;
    memset(table, 0xff, (size_t)slots * sizeof(int32_t));
    for (Py_ssize_t k = 0; k < count; k++)
        table[v4 ? slot4(table, mask, v4, v4[k]) : slot6(table, mask, keys, keys[k].k)] =
            (int32_t)k;
    return mask;
}

/* address_codes(addr, version, codes, v4, v6) -> (distinct IPv4, distinct IPv6)
 *   addr     uint8[ADDR_BYTES * n]: each row's source and destination address, as
 *            walk_frames writes them (at [0, 16) and [16, 32); IPv4: 4 bytes each)
 *   version  int64[n]: 4 or 6
 *   codes    int32[2 * n]: the rows' source codes, then their destination codes; IPv4
 *            addresses are codes 0 .. n4 - 1, IPv6 ones n4 .. n4 + n6 - 1
 *   v4       uint32[2 * n]: the first n4 hold the distinct IPv4 addresses (as integers)
 *   v6       uint8[32 * n]: the first 16 * n6 hold the distinct IPv6 addresses */
PyObject *address_codes(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *a_addr, *a_ver, *a_codes, *a_v4, *a_v6;
    if (!PyArg_ParseTuple(args, "OOOOO", &a_addr, &a_ver, &a_codes, &a_v4, &a_v6))
        return NULL;
    Py_buffer baddr = {0}, bver = {0}, bcodes = {0}, bv4 = {0}, bv6 = {0};
    Py_buffer *all[] = {&baddr, &bver, &bcodes, &bv4, &bv6};
    ArgSpec first[] = {{a_ver, "version", 'i', 8, 0, -1}};
    if (check_args("address_codes", first, N_ARGS(first)) < 0
        || PyObject_GetBuffer(a_ver, &bver, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t n = bver.len / 8;
    ArgSpec rest[] = {{a_addr, "addr", 'u', 1, ADDR_BYTES * n, ADDR_BYTES * n},
                      {a_codes, "codes", 'i', 4, 2 * n, 2 * n},
                      {a_v4, "v4", 'u', 4, 2 * n, 2 * n}, {a_v6, "v6", 'u', 1, 32 * n, 32 * n}};
    if (check_args("address_codes", rest, N_ARGS(rest)) < 0
        || PyObject_GetBuffer(a_addr, &baddr, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_codes, &bcodes, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_v4, &bv4, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0
        || PyObject_GetBuffer(a_v6, &bv6, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return release_all(all, N_ARGS(all));
    const uint8_t *b = baddr.buf;
    const int64_t *ver = bver.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (ver[i] != 4 && ver[i] != 6) {
            release_all(all, N_ARGS(all));
            return value_error("address_codes", "a version not 4 or 6");
        }
    Py_ssize_t slots = 16;
    while (slots < 4 * n) slots *= 2;
    int32_t *table = PyMem_Malloc((size_t)slots * sizeof(int32_t));
    Key6 *keys = PyMem_Malloc((size_t)(2 * n + 1) * sizeof(Key6));
    int32_t *rank = PyMem_Malloc((size_t)(2 * n + 1) * sizeof(int32_t));
    if (!table || !keys || !rank) {
        PyMem_Free(table), PyMem_Free(keys), PyMem_Free(rank);
        release_all(all, N_ARGS(all));
        return PyErr_NoMemory();
    }
    int32_t *codes = bcodes.buf;
    uint32_t *v4 = bv4.buf;
    uint8_t *v6 = bv6.buf;
    Py_ssize_t n4 = 0, n6 = 0;
    Py_BEGIN_ALLOW_THREADS
    /* IPv4: first appearance over sources, then destinations */
    uint64_t mask = refill(table, slots, 0, v4, NULL);
    for (int side = 0; side < 2; side++) {
        /* the two addresses seen last: a conversation's segments alternate between its
         * two endpoints, and neighbouring rows mostly belong to few conversations */
        uint32_t seen[2] = {0, 0};
        int32_t seen_code[2] = {-1, -1};
        for (Py_ssize_t i = 0; i < n; i++) {
            if (ver[i] != 4) continue;
            const uint8_t *p = b + ADDR_BYTES * i + 16 * side;
            uint32_t a = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8)
                         | p[3];
            int32_t code;
            if (seen_code[0] >= 0 && a == seen[0]) {
                code = seen_code[0];
            } else if (seen_code[1] >= 0 && a == seen[1]) {
                code = seen_code[1];
            } else {
                uint64_t s = slot4(table, mask, v4, a);
                if (table[s] < 0) {
                    v4[n4] = a, table[s] = (int32_t)n4++;
                    if (2 * n4 > (Py_ssize_t)mask && (Py_ssize_t)mask + 1 < slots)
                        mask = refill(table, slots, n4, v4, NULL);
                    s = slot4(table, mask, v4, a);
                }
                code = table[s];
            }
            if (code != seen_code[0]) {
                seen[1] = seen[0], seen_code[1] = seen_code[0];
                seen[0] = a, seen_code[0] = code;
            }
            codes[side * n + i] = code;
        }
    }
    /* IPv6: distinct ones in order of appearance, then ranked by their bytes */
    mask = refill(table, slots, 0, NULL, keys);
    for (int side = 0; side < 2; side++)
        for (Py_ssize_t i = 0; i < n; i++) {
            if (ver[i] != 6) continue;
            const uint8_t *p = b + ADDR_BYTES * i + 16 * side;
            uint64_t s = slot6(table, mask, keys, p);
            if (table[s] < 0) {
                memcpy(keys[n6].k, p, 16);
                keys[n6].id = (int32_t)n6;
                table[s] = (int32_t)n6++;
                if (2 * n6 > (Py_ssize_t)mask && (Py_ssize_t)mask + 1 < slots) {
                    mask = refill(table, slots, n6, NULL, keys);
                    s = slot6(table, mask, keys, p);
                }
            }
            codes[side * n + i] = table[s];
        }
    qsort(keys, (size_t)n6, sizeof(Key6), cmp16);
    for (Py_ssize_t r = 0; r < n6; r++) {
        rank[keys[r].id] = (int32_t)(n4 + r);
        memcpy(v6 + 16 * r, keys[r].k, 16);
    }
    for (int side = 0; side < 2; side++)
        for (Py_ssize_t i = 0; i < n; i++)
            if (ver[i] == 6) codes[side * n + i] = rank[codes[side * n + i]];
    Py_END_ALLOW_THREADS
    PyMem_Free(table), PyMem_Free(keys), PyMem_Free(rank);
    release_all(all, N_ARGS(all));
    return Py_BuildValue("nn", n4, n6);
}
