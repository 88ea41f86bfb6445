/* The 4-tuple key table of the conversation walk (flows.pair_ids; the engine keeps one
 * for a whole capture): each distinct (lower endpoint, higher endpoint) pair gets the next
 * dense id, stable from call to call.  The pairs are kept by id (16 bytes each, the
 * arrays grown by a quarter); an open-addressing hash table of ids, at most three
 * quarters full, finds them: 21 to 28 bytes a pair, where a Python dict of tuples took
 * about 180 -- and the table holds every connection ever seen, so on a capture larger
 * than memory it is what grows. */
#include "seqwalk.h"

typedef struct {
    CtxHead h;            /* h.cap stays 0: no per-connection operations */
    int64_t *lo, *hi;     /* per id: the pair (room for cap_ids) */
    Py_ssize_t cap_ids;
    int32_t *table;       /* per slot: the id there, -1: an empty slot */
    Py_ssize_t slots, n;  /* slots (0 before the first call); n: ids */
} PairsCtx;

static Py_ssize_t home(const PairsCtx *x, int64_t lo, int64_t hi) {
    return (Py_ssize_t)(mix64((uint64_t)lo * 0x9e3779b97f4a7c15ull ^ (uint64_t)hi)
                        % (uint64_t)x->slots);
}

/* the slot holding (lo, hi)'s id, or the empty slot where it goes */
static Py_ssize_t slot_of(const PairsCtx *x, int64_t lo, int64_t hi) {
    Py_ssize_t s = home(x, lo, hi);
    for (int32_t id; (id = x->table[s]) >= 0 && (x->lo[id] != lo || x->hi[id] != hi);)
        s = s + 1 == x->slots ? 0 : s + 1;
    return s;
}

/* the ids in a table of `slots` slots; -1 (nothing changed) when out of memory */
static int rehash(PairsCtx *x, Py_ssize_t slots) {
    int32_t *table = map_realloc(NULL, (size_t)slots * sizeof(int32_t));
    if (!table) return -1;
    memset(table, 0xff, (size_t)slots * sizeof(int32_t));
    map_free(x->table);
    x->table = table, x->slots = slots;
    for (int32_t id = 0; id < x->n; id++) {
        Py_ssize_t s = home(x, x->lo[id], x->hi[id]);
        while (table[s] >= 0) s = s + 1 == slots ? 0 : s + 1;
        table[s] = id;
    }
    return 0;
}

static void pairs_free(CtxHead *h) {
    PairsCtx *x = (PairsCtx *)h;
    map_free(x->lo);
    map_free(x->hi);
    map_free(x->table);
}

const CtxOps pairs_ops = {sizeof(PairsCtx), pairs_free, NULL, NULL};

/* pair_ids(lo, hi, out, ctx) -> the number of ids so far
 *   lo, hi  int64[m]: the pairs (flows.endpoint_pairs' lower and higher endpoints)
 *   out     int64[m]: each pair's id; a pair not seen before gets the next id, in row order
 *   ctx     a context of kind CTX_PAIRS (new_context)
 * The table grows, if it must, before anything is written: a call that fails changes
 * nothing (but the room it made). */
PyObject *pair_ids(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *a_lo, *a_hi, *a_out, *octx;
    if (!PyArg_ParseTuple(args, "OOOO", &a_lo, &a_hi, &a_out, &octx)) return NULL;
    Py_buffer blo = {0}, bhi = {0}, bout = {0};
    Py_buffer *all[] = {&blo, &bhi, &bout};
    ArgSpec first[] = {{a_lo, "lo", 'i', 8, 0, -1}};
    if (check_args("pair_ids", first, N_ARGS(first)) < 0
        || PyObject_GetBuffer(a_lo, &blo, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t m = blo.len / 8;
    ArgSpec rest[] = {{a_hi, "hi", 'i', 8, m, m}, {a_out, "out", 'i', 8, m, m}};
    if (check_args("pair_ids", rest, N_ARGS(rest)) < 0
        || PyObject_GetBuffer(a_hi, &bhi, PyBUF_C_CONTIGUOUS) < 0
        || PyObject_GetBuffer(a_out, &bout, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return release_all(all, N_ARGS(all));
    PairsCtx *x = ctx_get(octx, CTX_PAIRS);
    if (!x) {
        if (!PyErr_Occurred()) value_error("pair_ids", "a CTX_PAIRS context is required");
        return release_all(all, N_ARGS(all));
    }
    if (x->n + m > INT32_MAX) {
        release_all(all, N_ARGS(all));
        return value_error("pair_ids", "more than 2**31 - 1 pairs");
    }
    Py_ssize_t slots = x->slots ? x->slots : 64;  /* at most 3/4 full however many are new */
    while (3 * slots < 4 * (x->n + m)) slots += slots / 2;
    void **arrs[] = {(void **)&x->lo, (void **)&x->hi};
    size_t elem[] = {sizeof(int64_t), sizeof(int64_t)};
    int fill[] = {0, 0};
    if (grow_arrays(arrs, elem, fill, 2, &x->cap_ids, x->n + m) < 0
        || (slots != x->slots && rehash(x, slots) < 0)) {
        release_all(all, N_ARGS(all));
        return PyErr_NoMemory();
    }
    const int64_t *lo = blo.buf, *hi = bhi.buf;
    int64_t *out = bout.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_ssize_t s = slot_of(x, lo[i], hi[i]);
        if (x->table[s] < 0) {
            x->lo[x->n] = lo[i], x->hi[x->n] = hi[i];
            x->table[s] = (int32_t)x->n++;
        }
        out[i] = x->table[s];
    }
    Py_END_ALLOW_THREADS
    release_all(all, N_ARGS(all));
    return PyLong_FromSsize_t(x->n);
}
