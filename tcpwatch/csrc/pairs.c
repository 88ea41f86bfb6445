/* The 4-tuple key table of the conversation walk (flows.pair_ids; the engine keeps one
 * for a whole capture): each distinct (lower endpoint, higher endpoint) pair gets the next
 * dense id, stable from call to call.  An open-addressing hash table of int64 pairs, at
 * most three quarters full: 27 to 40 bytes a pair, where a Python dict of tuples took
 * about 180 -- and the table holds every connection ever seen, so on a capture larger
 * than memory it is what grows. */
#include "seqwalk.h"

typedef struct {
    CtxHead h;            /* h.cap stays 0: no per-connection operations */
    int64_t *lo, *hi;
    int32_t *id;          /* -1: an empty slot */
    Py_ssize_t slots, n;  /* slots (0 before the first call); n: ids */
} PairsCtx;

static uint64_t mix(uint64_t x) {  /* splitmix64's finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* the slot holding (lo, hi), or the empty slot where it goes */
static Py_ssize_t slot_of(const PairsCtx *x, int64_t lo, int64_t hi) {
    uint64_t slots = (uint64_t)x->slots;
    uint64_t s = mix((uint64_t)lo * 0x9e3779b97f4a7c15ull ^ (uint64_t)hi) % slots;
    while (x->id[s] >= 0 && (x->lo[s] != lo || x->hi[s] != hi)) s = s + 1 == slots ? 0 : s + 1;
    return (Py_ssize_t)s;
}

/* move the pairs into a table of `slots` slots; -1 (nothing changed) when out of memory */
static int rehash(PairsCtx *x, Py_ssize_t slots) {
    int64_t *lo = PyMem_Malloc((size_t)slots * sizeof(int64_t));
    int64_t *hi = PyMem_Malloc((size_t)slots * sizeof(int64_t));
    int32_t *id = PyMem_Malloc((size_t)slots * sizeof(int32_t));
    if (!lo || !hi || !id) {
        PyMem_Free(lo);
        PyMem_Free(hi);
        PyMem_Free(id);
        return -1;
    }
    memset(id, 0xff, (size_t)slots * sizeof(int32_t));
    PairsCtx old = *x;
    x->lo = lo, x->hi = hi, x->id = id, x->slots = slots;
    for (Py_ssize_t s = 0; s < old.slots; s++) {
        if (old.id[s] < 0) continue;
        Py_ssize_t t = slot_of(x, old.lo[s], old.hi[s]);
        x->lo[t] = old.lo[s], x->hi[t] = old.hi[s], x->id[t] = old.id[s];
    }
    PyMem_Free(old.lo);
    PyMem_Free(old.hi);
    PyMem_Free(old.id);
    return 0;
}

static void pairs_free(CtxHead *h) {
    PairsCtx *x = (PairsCtx *)h;
    PyMem_Free(x->lo);
    PyMem_Free(x->hi);
    PyMem_Free(x->id);
}

const CtxOps pairs_ops = {sizeof(PairsCtx), pairs_free, NULL, NULL};

/* pair_ids(lo, hi, out, ctx) -> the number of ids so far
 *   lo, hi  int64[m]: the pairs (flows.endpoint_pairs' lower and higher endpoints)
 *   out     int64[m]: each pair's id; a pair not seen before gets the next id, in row order
 *   ctx     a context of kind CTX_PAIRS (new_context)
 * The table grows, if it must, before anything is written: a call that fails changes
 * nothing. */
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
    if (slots != x->slots && rehash(x, slots) < 0) {
        release_all(all, N_ARGS(all));
        return PyErr_NoMemory();
    }
    const int64_t *lo = blo.buf, *hi = bhi.buf;
    int64_t *out = bout.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_ssize_t s = slot_of(x, lo[i], hi[i]);
        if (x->id[s] < 0) {
            x->lo[s] = lo[i], x->hi[s] = hi[i];
            x->id[s] = (int32_t)x->n++;
        }
        out[i] = x->id[s];
    }
    Py_END_ALLOW_THREADS
    release_all(all, N_ARGS(all));
    return PyLong_FromSsize_t(x->n);
}
