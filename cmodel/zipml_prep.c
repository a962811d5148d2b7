/* Host data preparation in C; see zipml_prep.h.
 *
 * Every function works one row at a time: the row is read (float32 or float64, any stride)
 * into a float32 buffer and checked, normalised into the float32 sample a (bias first), and
 * a is quantized and packed into the row's stream words. The arithmetic is that of the numpy
 * reference in zipml/data.py and zipml/quantize.py, operation for operation in binary64
 * (this file must be compiled without floating-point contraction: -ffp-contract=off, which
 * -std=c99 implies for gcc), so the streams are bit-identical.
 */
#include "zipml_prep.h"

/* No floating-point exception is ever looked at here, so comparisons and selects may be
 * evaluated speculatively: this lets gcc vectorise the clipping loops (rounding unchanged). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Hot row loops in AVX2 / AVX-512 variants on x86-64 gcc/glibc (the same operations, IEEE
 * results do not depend on the vector width); the plain build elsewhere (ARMv7). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) \
    && !defined(ZML_NO_CLONES) && !defined(__SANITIZE_ADDRESS__) && __GNUC__ >= 11
#define ZML_PREP_HOT __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define ZML_PREP_HOT
#endif

static void set_err(zml_prep_error *err, uint32_t code, uint64_t row, uint64_t col,
                    double value)
{
    if (err) {
        err->code = code;
        err->row = row;
        err->col = col;
        err->value = value;
    }
}

static double raw_value(const zml_matrix *X, uint64_t i, uint64_t j)
{
    const int64_t off = (int64_t)i * X->row_stride + (int64_t)j * X->col_stride;
    return X->dtype == ZML_PREP_F32 ? (double)((const float *)X->data)[off]
                                    : ((const double *)X->data)[off];
}

static int matrix_ok(const zml_matrix *X)
{
    return X && (X->data || X->rows == 0 || X->cols == 0)
           && (X->dtype == ZML_PREP_F32 || X->dtype == ZML_PREP_F64);
}

/* Row i of X as float32 in buf (or, for contiguous float32 rows, a pointer into X itself).
 * Returns 0, or the error code with the first bad column in err. */
ZML_PREP_HOT static int load_row(const zml_matrix *X, uint64_t i, float *buf, const float **row,
                                 zml_prep_error *err)
{
    const uint64_t m = X->cols;
    int bad = 0;
    if (X->dtype == ZML_PREP_F32) {
        const float *p = (const float *)X->data + (int64_t)i * X->row_stride;
        if (X->col_stride == 1) {
            for (uint64_t j = 0; j < m; j++)
                bad |= !(fabsf(p[j]) <= FLT_MAX);
            *row = p;
        } else {
            const int64_t s = X->col_stride;
            for (uint64_t j = 0; j < m; j++) {
                const float v = p[(int64_t)j * s];
                buf[j] = v;
                bad |= !(fabsf(v) <= FLT_MAX);
            }
            *row = buf;
        }
    } else {
        const double *p = (const double *)X->data + (int64_t)i * X->row_stride;
        const int64_t s = X->col_stride;
        for (uint64_t j = 0; j < m; j++) {
            const double v = p[(int64_t)j * s];
            const float f = (float)v;
            buf[j] = f;
            bad |= !(fabsf(f) <= FLT_MAX);
        }
        *row = buf;
    }
    if (!bad)
        return 0;
    for (uint64_t j = 0; j < m; j++) {
        const double v = raw_value(X, i, j);
        if (!isfinite(v)) {
            set_err(err, ZML_PREP_E_NONFINITE, i, j, v);
            return ZML_PREP_E_NONFINITE;
        }
        if (!isfinite((float)v)) {
            set_err(err, ZML_PREP_E_F32_RANGE, i, j, v);
            return ZML_PREP_E_F32_RANGE;
        }
    }
    return 0; /* not reached: the flag was set by one of the checks above */
}

/* ---------------------------------------------------------------------------- statistics */

ZML_PREP_HOT static void minmax_update(const float *x, uint64_t m, double *lo, double *hi)
{
    for (uint64_t j = 0; j < m; j++) {
        const double v = x[j];
        lo[j] = v < lo[j] ? v : lo[j];
        hi[j] = v > hi[j] ? v : hi[j];
    }
}

ZML_PREP_HOT static void row_minmax(const float *x, uint64_t m, double *lo, double *hi)
{
    float l = x[0], h = x[0];
    for (uint64_t j = 1; j < m; j++) {
        l = x[j] < l ? x[j] : l;
        h = x[j] > h ? x[j] : h;
    }
    *lo = l;
    *hi = h;
}

int zml_minmax(const zml_matrix *X, uint32_t axis, double *lo, double *hi, zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (!matrix_ok(X) || axis > 1 || !lo || !hi) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint64_t n = X->rows, m = X->cols;
    const uint64_t k = axis == 0 ? m : n;
    for (uint64_t t = 0; t < k; t++)
        lo[t] = hi[t] = 0.0;
    if (n == 0 || m == 0)
        return ZML_PREP_OK;
    float *buf = malloc((size_t)m * sizeof(float));
    if (!buf) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    int rc = ZML_PREP_OK;
    for (uint64_t i = 0; i < n; i++) {
        const float *row;
        rc = load_row(X, i, buf, &row, err);
        if (rc)
            break;
        if (axis == 1) {
            row_minmax(row, m, lo + i, hi + i);
        } else if (i == 0) {
            for (uint64_t j = 0; j < m; j++)
                lo[j] = hi[j] = row[j];
        } else {
            minmax_update(row, m, lo, hi);
        }
    }
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------------- normalisation */

typedef struct {
    const zml_norm *nm;
    double *inv; /* NORM_COL: 1 / (hi - lo) per column, 0 for a constant column */
} norm_ctx;

static int norm_init(norm_ctx *c, const zml_norm *nm, uint64_t cols)
{
    c->nm = nm;
    c->inv = NULL;
    if (nm->mode == ZML_PREP_NORM_COL) {
        if (!nm->lo || !nm->hi)
            return -1;
        c->inv = malloc((size_t)(cols ? cols : 1) * sizeof(double));
        if (!c->inv)
            return -1;
        for (uint64_t j = 0; j < cols; j++) {
            const double span = nm->hi[j] - nm->lo[j];
            c->inv[j] = span > 0 ? 1.0 / span : 0.0;
        }
    } else if (nm->mode != ZML_PREP_NORM_NONE && nm->mode != ZML_PREP_NORM_ROW) {
        return -1;
    }
    return 0;
}

/* zipml.data.normalize, per column, on one row: clip to [lo, hi], scale, clip to [0, 1],
 * optionally 2 r - 1, round to float32. */
ZML_PREP_HOT static void norm_col(const float *x, uint64_t m, const double *lo, const double *hi,
                                  const double *inv, int m11, float *a)
{
    for (uint64_t j = 0; j < m; j++) {
        double t = x[j];
        t = t < lo[j] ? lo[j] : t;
        t = t > hi[j] ? hi[j] : t;
        double r = (t - lo[j]) * inv[j];
        r = r < 0.0 ? 0.0 : r;
        r = r > 1.0 ? 1.0 : r;
        if (m11)
            r = 2.0 * r - 1.0;
        a[j] = (float)r;
    }
}

ZML_PREP_HOT static void norm_row(const float *x, uint64_t m, double lo, double inv, int m11,
                                  float *a)
{
    for (uint64_t j = 0; j < m; j++) {
        double r = ((double)x[j] - lo) * inv;
        r = r < 0.0 ? 0.0 : r;
        r = r > 1.0 ? 1.0 : r;
        if (m11)
            r = 2.0 * r - 1.0;
        a[j] = (float)r;
    }
}

/* The float32 sample of a row (bias first when asked) into a. */
static void normalise(const norm_ctx *c, const float *x, uint64_t m, float *a)
{
    const zml_norm *nm = c->nm;
    float *dst = a;
    if (nm->add_bias)
        *dst++ = 1.0f;
    switch (nm->mode) {
    case ZML_PREP_NORM_COL:
        norm_col(x, m, nm->lo, nm->hi, c->inv, (int)nm->to_min1_1, dst);
        break;
    case ZML_PREP_NORM_ROW: {
        if (m == 0)
            break;
        double lo, hi;
        row_minmax(x, m, &lo, &hi);
        const double span = hi - lo;
        norm_row(x, m, lo, span > 0 ? 1.0 / span : 0.0, (int)nm->to_min1_1, dst);
        break;
    }
    default:
        if (dst != x)
            memcpy(dst, x, (size_t)m * sizeof(float));
    }
}

int zml_normalize_rows(const zml_matrix *X, uint64_t r0, uint64_t r1, const zml_norm *norm,
                       float *out, int64_t out_stride, zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (!matrix_ok(X) || !norm || norm->add_bias || r0 > r1 || r1 > X->rows
        || (!out && r1 > r0)) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint64_t m = X->cols;
    norm_ctx c;
    float *buf = malloc((size_t)(2 * m + 1) * sizeof(float));
    if (!buf || norm_init(&c, norm, m)) {
        free(buf);
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    float *tmp = buf + m;
    int rc = ZML_PREP_OK;
    for (uint64_t i = r0; i < r1; i++) {
        const float *row;
        rc = load_row(X, i, buf, &row, err);
        if (rc)
            break;
        normalise(&c, row, m, tmp);
        memcpy(out + (int64_t)(i - r0) * out_stride, tmp, (size_t)m * sizeof(float));
    }
    free(c.inv);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------------- quantization */

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Level positions and codes (zipml.quantize.quantize on a row), in vectorisable loops:
 * pos = (x L + off) sc is x L (off = 0, sc = 1, both exact) or (x L + L) / 2 (signed). */
ZML_PREP_HOT static void codes_nearest(const float *a, uint64_t d, double lo, double Ld,
                                       double off, double sc, uint8_t *codes)
{
    for (uint64_t j = 0; j < d; j++) {
        double x = a[j];
        x = x < lo ? lo : x;
        x = x > 1.0 ? 1.0 : x;
        const double pos = (x * Ld + off) * sc;
        /* round half to even: 0 <= pos <= 128, so adding 2^52 leaves no fraction bits and
         * the addition itself rounds to nearest even (exact arithmetic otherwise) */
        codes[j] = (uint8_t)(int32_t)((pos + 0x1p52) - 0x1p52);
    }
}

ZML_PREP_HOT static void codes_stochastic(const float *a, uint64_t d, double lo, double Ld,
                                          double off, double sc, const double *u,
                                          uint8_t *codes)
{
    for (uint64_t j = 0; j < d; j++) {
        double x = a[j];
        x = x < lo ? lo : x;
        x = x > 1.0 ? 1.0 : x;
        const double pos = (x * Ld + off) * sc;
        double k = (pos + 0x1p52) - 0x1p52; /* nearest; floor(pos) is k or k - 1 */
        k -= k > pos ? 1.0 : 0.0;
        k += u[j] < pos - k ? 1.0 : 0.0;
        codes[j] = (uint8_t)(int32_t)k;
    }
}

ZML_PREP_HOT static int out_of_range(const float *a, uint64_t d, double lo, double hi)
{
    int bad = 0;
    for (uint64_t j = 0; j < d; j++) {
        const double v = a[j];
        bad |= !(v >= lo) | !(v <= hi);
    }
    return bad;
}

/* Codes of one sample. Returns the first column out of range + 1, or 0. */
static uint64_t quantize_row(const float *a, uint64_t d, uint32_t L, int sgn, int stochastic,
                             double tol, const double *u, uint8_t *codes, int check)
{
    const double lo = sgn ? -1.0 : 0.0, Ld = (double)L;
    if (check && out_of_range(a, d, lo - tol, 1.0 + tol)) {
        for (uint64_t j = 0; j < d; j++) {
            const double v = a[j];
            if (!(v >= lo - tol) || !(v <= 1.0 + tol))
                return j + 1;
        }
    }
    if (!stochastic && sgn && L == 1) { /* the tie is x = 0 exactly: decide on x itself */
        for (uint64_t j = 0; j < d; j++)
            codes[j] = (uint8_t)(a[j] > 0.0f);
        return 0;
    }
    const double off = sgn ? Ld : 0.0, sc = sgn ? 0.5 : 1.0;
    if (stochastic)
        codes_stochastic(a, d, lo, Ld, off, sc, u, codes);
    else
        codes_nearest(a, d, lo, Ld, off, sc, codes);
    return 0;
}

/* Codes (D * 64 / bits of them, zero beyond d) into D little-endian words: 8 / bits codes per
 * byte, lowest lane in the lowest bits. */
ZML_PREP_HOT static void pack_codes(const uint8_t *codes, uint64_t D, uint32_t bits,
                                    uint64_t *w)
{
    const uint64_t nbytes = D * 8;
    uint8_t *out = (uint8_t *)w; /* little-endian hosts only (x86-64, ARM) */
    switch (bits) {
    case 8:
        memcpy(out, codes, (size_t)nbytes);
        break;
    case 4:
        for (uint64_t b = 0; b < nbytes; b++)
            out[b] = (uint8_t)(codes[2 * b] | (codes[2 * b + 1] << 4));
        break;
    case 2:
        for (uint64_t b = 0; b < nbytes; b++)
            out[b] = (uint8_t)(codes[4 * b] | (codes[4 * b + 1] << 2) | (codes[4 * b + 2] << 4)
                               | (codes[4 * b + 3] << 6));
        break;
    default:
        for (uint64_t b = 0; b < nbytes; b++) {
            const uint8_t *c = codes + 8 * b;
            out[b] = (uint8_t)(c[0] | (c[1] << 1) | (c[2] << 2) | (c[3] << 3) | (c[4] << 4)
                               | (c[5] << 5) | (c[6] << 6) | (c[7] << 7));
        }
    }
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* ||a||^2 in binary64, 8 partial sums (independent chains, vectorised) */
ZML_PREP_HOT static double sum_squares(const float *a, uint64_t d)
{
    double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    uint64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++)
            p[l] += (double)a[j + l] * (double)a[j + l];
    double s = 0.0;
    for (; j < d; j++)
        s += (double)a[j] * (double)a[j];
    return s + ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

int zml_pack_rows(const zml_matrix *X, const int64_t *order, uint64_t rows_out, uint64_t r0,
                  uint64_t r1, const zml_norm *norm, uint32_t bits, uint32_t sgn,
                  uint32_t rounding, double tol, const double *u, const double *u_b,
                  const double *y, uint32_t label_check, uint64_t *stream,
                  size_t stream_words, double *sumsq, zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (sumsq)
        *sumsq = 0.0;
    const int ds = u_b != NULL;
    const int stochastic = rounding == ZML_PREP_STOCHASTIC;
    if (!matrix_ok(X) || !norm || !stream || r0 > r1 || r1 > rows_out
        || !(bits == 0 || bits == 1 || bits == 2 || bits == 4 || bits == 8)
        || rounding > ZML_PREP_STOCHASTIC || (stochastic && bits && !u) || (ds && !stochastic)
        || (ds && bits == 0) || (!order && rows_out > X->rows) || !(tol >= 0.0)) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint64_t m = X->cols, d = m + (norm->add_bias ? 1 : 0);
    if (d == 0) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint32_t V = bits == 0 ? 2u : 64u / bits;
    const uint64_t D = div_up(d, V), W = D * (ds ? 2 : 1) + 1;
    if ((uint64_t)stream_words != rows_out * W) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint32_t L = bits ? 1u << (bits - 1) : 0;
    norm_ctx c;
    /* buf: a source row; a: the sample (padded to D * V values, zero tail); codes */
    float *buf = malloc((size_t)(m + 1) * sizeof(float));
    float *a = calloc((size_t)(D * V + 1), sizeof(float));
    uint8_t *codes = calloc((size_t)(D * V + 1), 1);
    if (!buf || !a || !codes || norm_init(&c, norm, m)) {
        free(buf);
        free(a);
        free(codes);
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    int rc = ZML_PREP_OK;
    double ss = 0.0;
    /* normalised values lie in [0, 1] or [-1, 1] by construction: the range check of the codes
     * is needed only for data taken as they are (or [-1, 1] data for unsigned codes) */
    const int check = norm->mode == ZML_PREP_NORM_NONE || (norm->to_min1_1 && !sgn);
    for (uint64_t i = r0; i < r1; i++) {
        const uint64_t src = order ? (uint64_t)order[i] : i;
        if (src >= X->rows) {
            set_err(err, ZML_PREP_E_ARGS, i, 0, (double)order[i]);
            rc = ZML_PREP_E_ARGS;
            break;
        }
        const float *row;
        rc = load_row(X, src, buf, &row, err);
        if (rc)
            break;
        normalise(&c, row, m, a);
        uint64_t *w = stream + i * W;
        if (sumsq)
            ss += sum_squares(a, d);
        if (bits == 0) {
            /* largest float below 256; normalised values are in [-1, 1] */
            if (norm->mode == ZML_PREP_NORM_NONE && out_of_range(a, d, -256.0, 0x1.fffffep+7)) {
                for (uint64_t j = 0; j < d; j++)
                    if (!(a[j] >= -256.0f && a[j] < 256.0f)) {
                        const uint64_t col = norm->add_bias ? j - 1 : j;
                        set_err(err, ZML_PREP_E_Q0_RANGE, src, col, (double)a[j]);
                        rc = ZML_PREP_E_Q0_RANGE;
                        break;
                    }
                break;
            }
            memcpy(w, a, (size_t)D * 8); /* little-endian: float 2t in bits 31..0 of word t;
                                           * a[d..] is zero: the padding */
        } else {
            const double *ui = stochastic ? u + (i - r0) * d : NULL;
            uint64_t badj = quantize_row(a, d, L, (int)sgn, stochastic, tol, ui, codes, check);
            if (!badj && ds) {
                pack_codes(codes, D, bits, w);
                badj = quantize_row(a, d, L, (int)sgn, 1, tol, u_b + (i - r0) * d, codes, 0);
                if (!badj)
                    pack_codes(codes, D, bits, w + D);
            } else if (!badj) {
                pack_codes(codes, D, bits, w);
            }
            if (badj) {
                const uint64_t j = badj - 1;
                const uint64_t col = norm->add_bias ? j - 1 : j;
                set_err(err, ZML_PREP_E_QB_RANGE, src, col, (double)a[j]);
                rc = ZML_PREP_E_QB_RANGE;
                break;
            }
        }
        const double yv = y ? y[src] : 0.0;
        const float y32 = (float)yv;
        if (label_check && !(fabsf(y32) <= FLT_MAX)) {
            set_err(err, ZML_PREP_E_LABEL, src, 0, yv);
            rc = ZML_PREP_E_LABEL;
            break;
        }
        w[W - 1] = (uint64_t)f32_bits(y32);
    }
    if (sumsq)
        *sumsq = ss;
    free(c.inv);
    free(buf);
    free(a);
    free(codes);
    return rc;
}

/* ---------------------------------------------------------------------------- dot products */

ZML_PREP_HOT static void dots_f32(const float *a, uint64_t d, const double *models, uint32_t k,
                                  double *out)
{
    for (uint32_t c = 0; c < k; c++) {
        const double *x = models + (size_t)c * d;
        double s = 0.0;
        for (uint64_t j = 0; j < d; j++)
            s += (double)a[j] * x[j];
        out[c] = s;
    }
}

int zml_dot_rows(const zml_matrix *X, uint64_t r0, uint64_t r1, const zml_norm *norm,
                 const double *models, uint32_t k, double *out, zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (!matrix_ok(X) || !norm || r0 > r1 || r1 > X->rows || (r1 > r0 && (!models || !out)))
    {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    const uint64_t m = X->cols, d = m + (norm->add_bias ? 1 : 0);
    norm_ctx c;
    float *buf = malloc((size_t)(m + 1) * sizeof(float));
    float *a = malloc((size_t)(d + 1) * sizeof(float));
    if (!buf || !a || norm_init(&c, norm, m)) {
        free(buf);
        free(a);
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    int rc = ZML_PREP_OK;
    for (uint64_t i = r0; i < r1; i++) {
        const float *row;
        rc = load_row(X, i, buf, &row, err);
        if (rc)
            break;
        normalise(&c, row, m, a);
        dots_f32(a, d, models, k, out + (i - r0) * k);
    }
    free(c.inv);
    free(buf);
    free(a);
    return rc;
}

int zml_dot_stream(const uint64_t *stream, size_t stream_words, uint64_t n, uint32_t d,
                   uint32_t bits, uint32_t sgn, uint32_t double_sampling,
                   const double *models, uint32_t k, double *out, float *labels)
{
    if (!(bits == 0 || bits == 1 || bits == 2 || bits == 4 || bits == 8) || d == 0
        || (double_sampling && bits == 0))
        return ZML_PREP_E_ARGS;
    const uint32_t V = bits == 0 ? 2u : 64u / bits;
    const uint64_t D = div_up(d, V), W = D * (double_sampling ? 2 : 1) + 1;
    if ((uint64_t)stream_words != n * W || (n && (!stream || !models || !out)))
        return ZML_PREP_E_ARGS;
    float *a = malloc((size_t)D * V * sizeof(float));
    if (!a)
        return ZML_PREP_E_ARGS;
    const uint32_t L = bits ? 1u << (bits - 1) : 0;
    const uint64_t mask = bits ? (UINT64_C(1) << bits) - 1 : 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint64_t *w = stream + i * W;
        if (bits == 0) {
            for (uint64_t t = 0; t < D; t++) {
                const uint32_t lo = (uint32_t)w[t], hi = (uint32_t)(w[t] >> 32);
                memcpy(a + 2 * t, &lo, 4);
                memcpy(a + 2 * t + 1, &hi, 4);
            }
        } else {
            for (uint64_t t = 0; t < D; t++)
                for (uint32_t l = 0; l < V; l++) {
                    const uint32_t q = (uint32_t)((w[t] >> (bits * l)) & mask);
                    a[t * V + l] = sgn ? (float)(2.0 * q - L) / (float)L : (float)q / (float)L;
                }
        }
        dots_f32(a, d, models, k, out + i * k);
        if (labels) {
            const uint32_t lb = (uint32_t)w[W - 1];
            memcpy(labels + i, &lb, 4);
        }
    }
    free(a);
    return ZML_PREP_OK;
}
