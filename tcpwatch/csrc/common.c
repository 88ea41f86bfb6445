/* Argument checks and growable arrays, shared by every walk (see seqwalk.h). */
#include "seqwalk.h"

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

int check_args(const char *fn, const ArgSpec *spec, int n) {
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

PyObject *release_all(Py_buffer **bufs, int n) {
    for (int k = 0; k < n; k++)
        if (bufs[k]->obj) PyBuffer_Release(bufs[k]);
    return NULL;
}

PyObject *value_error(const char *fn, const char *what) {
    PyErr_Format(PyExc_ValueError, "%s: %s", fn, what);
    return NULL;
}



/* The contexts' arrays grow with the connections and live as long as the capture: they
 * are mapped from the system (Linux), so that growing one moves its pages (mremap)
 * instead of copying it and leaving a hole in malloc's heap that the heap then keeps,
 * and the room past the elements in use is never resident while it holds zeros. */
typedef struct { size_t bytes, pad; } MapHead;  /* 16 bytes: the data stay aligned */

#ifdef __linux__
#include <sys/mman.h>
void *map_realloc(void *p, size_t bytes) {
    size_t total = bytes + sizeof(MapHead);
    MapHead *h;
    if (p == NULL)
        h = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    else {
        MapHead *old = (MapHead *)p - 1;
        h = mremap(old, old->bytes + sizeof(MapHead), total, MREMAP_MAYMOVE);
    }
    if (h == MAP_FAILED) return NULL;  /* the old array, if any, is unchanged */
    h->bytes = bytes;
    return h + 1;
}

void map_free(void *p) {
    if (p) munmap((MapHead *)p - 1, ((MapHead *)p - 1)->bytes + sizeof(MapHead));
}
#define MAPPED_ZEROS 1  /* new room holds zeros */
#else
void *map_realloc(void *p, size_t bytes) { return PyMem_Realloc(p, bytes); }
void map_free(void *p) { PyMem_Free(p); }
#define MAPPED_ZEROS 0
#endif

/* grow n arrays (map_realloc'ed) of the given element sizes from *cap to at least need
 * elements; the new elements are filled with the byte fill[k].  Out of memory: -1, and
 * the arrays grown so far keep their new room (filled), *cap unchanged */
int grow_arrays(void **arrs[], const size_t *elem, const int *fill, int n,
                       Py_ssize_t *cap, Py_ssize_t need) {
    if (need <= *cap) return 0;
    Py_ssize_t nc = *cap ? *cap : 64;
    while (nc < need)  /* doubling while small, then by a quarter: the contexts hold every
                        * connection ever seen, and a doubled array is half empty */
        nc += nc < 65536 ? nc : nc / 4;
    for (int k = 0; k < n; k++) {
        void *p = map_realloc(*arrs[k], nc * elem[k]);
        if (!p) return -1;
        if (fill[k] || !MAPPED_ZEROS)
            memset((char *)p + *cap * elem[k], fill[k], (nc - *cap) * elem[k]);
        *arrs[k] = p;
    }
    *cap = nc;
    return 0;
}

void *ctx_get(PyObject *obj, int kind) {
    if (obj == NULL || obj == Py_None) return NULL;
    CtxHead *h = PyCapsule_GetPointer(obj, "tcpwatch._seqwalk.ctx");
    if (h && h->kind != kind) {
        PyErr_SetString(PyExc_TypeError, "_seqwalk: a context of another walk");
        return NULL;
    }
    return h;
}
