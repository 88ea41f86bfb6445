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



/* grow n arrays of the given element sizes from *cap to at least need elements;
 * the new elements are filled with the byte fill[k] */
int grow_arrays(void **arrs[], const size_t *elem, const int *fill, int n,
                       Py_ssize_t *cap, Py_ssize_t need) {
    if (need <= *cap) return 0;
    Py_ssize_t nc = *cap ? *cap : 64;
    while (nc < need)  /* doubling while small, then by a quarter: the contexts hold every
                        * connection ever seen, and a doubled array is half empty */
        nc += nc < 65536 ? nc : nc / 4;
    for (int k = 0; k < n; k++) {
        void *p = PyMem_Realloc(*arrs[k], nc * elem[k]);
        if (!p) return -1;
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
