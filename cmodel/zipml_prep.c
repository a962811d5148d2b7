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
                                 int checked, zml_prep_error *err)
{
    const uint64_t m = X->cols;
    int bad = 0;
    if (X->dtype == ZML_PREP_F32) {
        const float *p = (const float *)X->data + (int64_t)i * X->row_stride;
        if (X->col_stride == 1) {
            if (!checked)
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
        rc = load_row(X, i, buf, &row, 0, err);
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

int zml_csr_colstats(const int64_t *rowptr, const int32_t *cols, const float *vals,
                     uint64_t n_rows, uint64_t d, double *lo, double *hi, uint64_t *count,
                     zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (n_rows && (!rowptr || !lo || !hi || !count)) {
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    for (uint64_t i = 0; i < n_rows; i++)
        for (int64_t k = rowptr[i]; k < rowptr[i + 1]; k++) {
            const int32_t j = cols[k];
            const double v = vals[k];
            if (j < 0 || (uint64_t)j >= d) {
                set_err(err, ZML_PREP_E_ARGS, i, (uint64_t)(j < 0 ? 0 : j), v);
                return ZML_PREP_E_ARGS;
            }
            if (count[j]++ == 0) {
                lo[j] = hi[j] = v;
            } else {
                lo[j] = v < lo[j] ? v : lo[j];
                hi[j] = v > hi[j] ? v : hi[j];
            }
        }
    return ZML_PREP_OK;
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

/* norm_col for values known to lie in [lo, hi]: the first clip is the identity. */
ZML_PREP_HOT static void norm_col_in(const float *x, uint64_t m, const double *lo,
                                     const double *inv, int m11, float *a)
{
    for (uint64_t j = 0; j < m; j++) {
        double r = ((double)x[j] - lo[j]) * inv[j];
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
        if (nm->in_range)
            norm_col_in(x, m, nm->lo, c->inv, (int)nm->to_min1_1, dst);
        else
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
        rc = load_row(X, i, buf, &row, (int)norm->checked, err);
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

/* ---------------------------------------------------------------------------- PCG64 */

/* numpy's PCG64 (PCG XSL RR 128/64): state' = state * M + inc (mod 2^128), output
 * rotr64(hi ^ lo, state' >> 122) of the new state; Generator.random() is
 * (next >> 11) * 2^-53. 128-bit arithmetic on two 64-bit halves (ARMv7 has no __int128). */
typedef struct {
    uint64_t hi, lo;
} u128;

static u128 mul64x64(uint64_t a, uint64_t b)
{
    const uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    u128 r;
    r.lo = (mid << 32) | (uint32_t)p00;
    r.hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return r;
}

static u128 mul128(u128 a, u128 b) /* mod 2^128 */
{
    u128 r = mul64x64(a.lo, b.lo);
    r.hi += a.hi * b.lo + a.lo * b.hi;
    return r;
}

static u128 add128(u128 a, u128 b)
{
    u128 r;
    r.lo = a.lo + b.lo;
    r.hi = a.hi + b.hi + (r.lo < a.lo);
    return r;
}

static const u128 PCG_MULT = {UINT64_C(0x2360ED051FC65DA4), UINT64_C(0x4385DF649FCCF645)};

typedef struct {
    u128 state, inc;
    uint64_t pos;  /* draws taken since the base state */
} pcg_cursor;

static void pcg_set(pcg_cursor *g, const zml_pcg64 *base, uint64_t pos)
{
    /* jump ahead: state * M^pos + inc (M^pos - 1) / (M - 1), by squaring */
    u128 acc_m = {0, 1}, acc_p = {0, 0}, cur_m = PCG_MULT;
    g->inc.hi = base->inc_hi;
    g->inc.lo = base->inc_lo;
    u128 cur_p = g->inc;
    for (uint64_t delta = pos; delta; delta >>= 1) {
        if (delta & 1) {
            acc_m = mul128(acc_m, cur_m);
            acc_p = add128(mul128(acc_p, cur_m), cur_p);
        }
        cur_p = mul128(add128(cur_m, (u128){0, 1}), cur_p);
        cur_m = mul128(cur_m, cur_m);
    }
    u128 st = {base->state_hi, base->state_lo};
    g->state = add128(mul128(acc_m, st), acc_p);
    g->pos = pos;
}

static double pcg_double(pcg_cursor *g)
{
    g->state = add128(mul128(g->state, PCG_MULT), g->inc);
    g->pos++;
    const uint64_t x = g->state.hi ^ g->state.lo;
    const unsigned rot = (unsigned)(g->state.hi >> 58);
    const uint64_t out = (x >> rot) | (x << ((64u - rot) & 63u));
    return (double)(out >> 11) * 0x1p-53;
}

/* The d uniform numbers of elements pos .. pos + d - 1 of the generator's sequence. */
static void pcg_fill(pcg_cursor *g, const zml_pcg64 *base, uint64_t pos, double *u, uint64_t d)
{
    if (g->pos != pos)
        pcg_set(g, base, pos);
    for (uint64_t j = 0; j < d; j++)
        u[j] = pcg_double(g);
}

/* ---------------------------------------------------------------------------- packing */

typedef struct {
    const zml_matrix *X;
    const zml_norm *norm;
    norm_ctx nc;
    uint32_t bits, sgn, L, V;
    int stochastic, ds, check;
    double tol;
    uint64_t m, d, D, W, rows_out;
    const zml_pcg64 *rng;
    pcg_cursor ga, gb;
    float *buf, *a;
    uint8_t *codes;
    double *u, *ub;
    uint64_t *stream;
    uint32_t label_check;
} pack_ctx;

static void pack_free(pack_ctx *c)
{
    free(c->nc.inv);
    free(c->buf);
    free(c->a);
    free(c->codes);
    free(c->u);
    free(c->ub);
}

static int pack_init(pack_ctx *c, const zml_matrix *X, uint64_t rows_out, const zml_norm *norm,
                     uint32_t bits, uint32_t sgn, uint32_t rounding, double tol,
                     const zml_pcg64 *rng, uint32_t double_sampling, uint32_t label_check,
                     uint64_t *stream, size_t stream_words)
{
    memset(c, 0, sizeof *c);
    c->stochastic = bits && rounding == ZML_PREP_STOCHASTIC;
    c->ds = double_sampling != 0;
    if (!matrix_ok(X) || !norm || !stream || rounding > ZML_PREP_STOCHASTIC
        || !(bits == 0 || bits == 1 || bits == 2 || bits == 4 || bits == 8)
        || (c->stochastic && !rng) || (c->ds && !c->stochastic) || !(tol >= 0.0))
        return -1;
    c->X = X;
    c->norm = norm;
    c->bits = bits;
    c->sgn = sgn;
    c->tol = tol;
    c->rng = rng;
    c->rows_out = rows_out;
    c->label_check = label_check;
    c->stream = stream;
    c->m = X->cols;
    c->d = c->m + (norm->add_bias ? 1 : 0);
    if (c->d == 0)
        return -1;
    c->V = bits == 0 ? 2u : 64u / bits;
    c->D = div_up(c->d, c->V);
    c->W = c->D * (c->ds ? 2 : 1) + 1;
    c->L = bits ? 1u << (bits - 1) : 0;
    if ((uint64_t)stream_words != rows_out * c->W)
        return -1;
    /* normalised values lie in [0, 1] or [-1, 1] by construction: the range check of the codes
     * is needed only for data taken as they are (or [-1, 1] data for unsigned codes) */
    c->check = norm->mode == ZML_PREP_NORM_NONE || (norm->to_min1_1 && !sgn);
    c->ga.pos = c->gb.pos = UINT64_MAX; /* not positioned */
    /* buf: a source row; a: the sample (padded to D * V values, zero tail); codes */
    c->buf = malloc((size_t)(c->m + 1) * sizeof(float));
    c->a = calloc((size_t)(c->D * c->V + 1), sizeof(float));
    c->codes = calloc((size_t)(c->D * c->V + 1), 1);
    if (c->stochastic) {
        c->u = malloc((size_t)c->d * sizeof(double));
        c->ub = c->ds ? malloc((size_t)c->d * sizeof(double)) : NULL;
    }
    if (!c->buf || !c->a || !c->codes || (c->stochastic && (!c->u || (c->ds && !c->ub)))
        || norm_init(&c->nc, norm, c->m))
        return -1;
    return 0;
}

/* Source row src of X to output sample i, label yv; err names source row err_row. */
static int pack_one(pack_ctx *c, uint64_t i, uint64_t src, double yv, uint64_t err_row,
                    double *ss, zml_prep_error *err)
{
    const float *row;
    int rc = load_row(c->X, src, c->buf, &row, (int)c->norm->checked, err);
    if (rc) {
        if (err)
            err->row = err_row;
        return rc;
    }
    const uint64_t d = c->d, D = c->D, W = c->W;
    float *a = c->a;
    normalise(&c->nc, row, c->m, a);
    uint64_t *w = c->stream + i * W;
    if (ss)
        *ss += sum_squares(a, d);
    const int bias = c->norm->add_bias != 0;
    if (c->bits == 0) {
        /* largest float below 256; normalised values are in [-1, 1] */
        if (c->norm->mode == ZML_PREP_NORM_NONE && out_of_range(a, d, -256.0, 0x1.fffffep+7)) {
            for (uint64_t j = 0; j < d; j++)
                if (!(a[j] >= -256.0f && a[j] < 256.0f)) {
                    set_err(err, ZML_PREP_E_Q0_RANGE, err_row, bias ? j - 1 : j, (double)a[j]);
                    return ZML_PREP_E_Q0_RANGE;
                }
        }
        memcpy(w, a, (size_t)D * 8); /* little-endian: float 2t in bits 31..0 of word t;
                                      * a[d..] is zero: the padding */
    } else {
        if (c->stochastic) {
            pcg_fill(&c->ga, c->rng, i * d, c->u, d);
            if (c->ds)
                pcg_fill(&c->gb, c->rng, (c->rows_out + i) * d, c->ub, d);
        }
        uint64_t badj = quantize_row(a, d, c->L, (int)c->sgn, c->stochastic, c->tol, c->u,
                                     c->codes, c->check);
        if (!badj) {
            pack_codes(c->codes, D, c->bits, w);
            if (c->ds) {
                quantize_row(a, d, c->L, (int)c->sgn, 1, c->tol, c->ub, c->codes, 0);
                pack_codes(c->codes, D, c->bits, w + D);
            }
        } else {
            const uint64_t j = badj - 1;
            set_err(err, ZML_PREP_E_QB_RANGE, err_row, bias ? j - 1 : j, (double)a[j]);
            return ZML_PREP_E_QB_RANGE;
        }
    }
    const float y32 = (float)yv;
    if (c->label_check && !(fabsf(y32) <= FLT_MAX)) {
        set_err(err, ZML_PREP_E_LABEL, err_row, 0, yv);
        return ZML_PREP_E_LABEL;
    }
    w[W - 1] = (uint64_t)f32_bits(y32);
    return 0;
}

/* Both directions: gather (map = order, output samples r0 .. r1-1 from rows map[i]) or
 * scatter (rows 0 .. X->rows-1 to output samples map[r], or first + r without a map). */
static int pack_run(const zml_matrix *X, const int64_t *map, int scatter, uint64_t first,
                    uint64_t rows_out, uint64_t r0, uint64_t r1, const zml_norm *norm,
                    uint32_t bits, uint32_t sgn, uint32_t rounding, double tol,
                    const zml_pcg64 *rng, uint32_t double_sampling, const double *y,
                    uint32_t label_check, uint64_t *stream, size_t stream_words, double *sumsq,
                    zml_prep_error *err)
{
    set_err(err, ZML_PREP_OK, 0, 0, 0.0);
    if (sumsq)
        *sumsq = 0.0;
    pack_ctx c;
    memset(&c, 0, sizeof c);
    const uint64_t nx = X ? X->rows : 0;
    const int bad_range = scatter ? (!map && first + nx > rows_out)
                                  : (r0 > r1 || r1 > rows_out || (!map && rows_out > nx));
    if (bad_range || pack_init(&c, X, rows_out, norm, bits, sgn, rounding, tol, rng,
                               double_sampling, label_check, stream, stream_words)) {
        pack_free(&c);
        set_err(err, ZML_PREP_E_ARGS, 0, 0, 0.0);
        return ZML_PREP_E_ARGS;
    }
    int rc = ZML_PREP_OK;
    double ss = 0.0;
    const uint64_t k0 = scatter ? 0 : r0, k1 = scatter ? nx : r1;
    for (uint64_t k = k0; k < k1 && rc == ZML_PREP_OK; k++) {
        /* output sample i from source row src */
        const uint64_t i = scatter ? (map ? (uint64_t)map[k] : first + k) : k;
        const uint64_t src = scatter ? k : (map ? (uint64_t)map[k] : k);
        if (i >= rows_out || src >= nx) {
            set_err(err, ZML_PREP_E_ARGS, k, 0, (double)(scatter ? i : src));
            rc = ZML_PREP_E_ARGS;
            break;
        }
        rc = pack_one(&c, i, src, y ? y[src] : 0.0, src, sumsq ? &ss : NULL, err);
    }
    if (sumsq)
        *sumsq = ss;
    pack_free(&c);
    return rc;
}

int zml_pack_rows(const zml_matrix *X, const int64_t *order, uint64_t rows_out, uint64_t r0,
                  uint64_t r1, const zml_norm *norm, uint32_t bits, uint32_t sgn,
                  uint32_t rounding, double tol, const zml_pcg64 *rng,
                  uint32_t double_sampling, const double *y, uint32_t label_check,
                  uint64_t *stream, size_t stream_words, double *sumsq, zml_prep_error *err)
{
    return pack_run(X, order, 0, 0, rows_out, r0, r1, norm, bits, sgn, rounding, tol, rng,
                    double_sampling, y, label_check, stream, stream_words, sumsq, err);
}

int zml_pack_scatter(const zml_matrix *X, const int64_t *dest, uint64_t first,
                     uint64_t rows_out, const zml_norm *norm, uint32_t bits, uint32_t sgn,
                     uint32_t rounding, double tol, const zml_pcg64 *rng,
                     uint32_t double_sampling, const double *y, uint32_t label_check,
                     uint64_t *stream, size_t stream_words, double *sumsq, zml_prep_error *err)
{
    return pack_run(X, dest, 1, first, rows_out, 0, 0, norm, bits, sgn, rounding, tol, rng,
                    double_sampling, y, label_check, stream, stream_words, sumsq, err);
}

/* ---------------------------------------------------------------------------- dot products */

/* a . x_c for k models in binary64, 8 partial sums per model (vectorised; the order of the
 * additions is fixed, so results are reproducible, not those of a sequential sum). */
ZML_PREP_HOT static void dots_f32(const float *a, uint64_t d, const double *models, uint32_t k,
                                  double *out)
{
    for (uint32_t c = 0; c < k; c++) {
        const double *x = models + (size_t)c * d;
        double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        uint64_t j = 0;
        for (; j + 8 <= d; j += 8)
            for (int l = 0; l < 8; l++)
                p[l] += (double)a[j + l] * x[j + l];
        double s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
        for (; j < d; j++)
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
        rc = load_row(X, i, buf, &row, (int)norm->checked, err);
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
