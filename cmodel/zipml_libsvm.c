/* Fast, strict tokenizer for the libsvm / svmlight text format.
 *
 * Used by zipml/data.py through the cffi module zipml._libsvm (build script
 * zipml/_libsvm_build.py). The grammar and the error classes are documented in
 * zipml/data.py (load_libsvm); zipml/data.py also holds a pure-Python parser with the same
 * behaviour, which the tests compare against this one.
 *
 * One call parses a buffer of whole lines into coordinate form (labels, row pointers, column
 * indices, float32 values). The caller sizes the output arrays: rows_cap >= number of '\n'
 * in the buffer + 1, nnz_cap >= number of ':' in the buffer; the parser never writes past
 * them (it reports ZML_LS_CAPACITY instead) and never reads outside [buf, buf + len).
 *
 * Numbers: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?, converted to the
 * correctly rounded binary64 (fast exact path for short decimals, strtod_l in the "C" locale
 * otherwise); feature values are then rounded to binary32 (round to nearest even).
 */
#define _GNU_SOURCE
#include "zipml_libsvm.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static locale_t c_locale = (locale_t)0;

int zml_libsvm_abi(void)
{
    return ZML_LS_ABI;
}

/* Create the "C" locale used by the slow number path. zipml/data.py calls this once at import
 * (under the GIL); the parser also calls it lazily. Returns 0 on success. */
int zml_libsvm_init(void)
{
    if (c_locale == (locale_t)0)
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c_locale == (locale_t)0;
}

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* end of a token: whitespace, newline, comment start */
static int is_stop(unsigned char c)
{
    return is_space(c) || c == '\n' || c == '#';
}

/* Parse [p, end) as a decimal number. Returns 0 on success, -1 on a syntax error. */
static int parse_double(const char *p, const char *end, double *out)
{
    const char *s = p;
    int neg = 0;
    uint64_t mant = 0;
    int sig = 0;          /* significant digits accumulated in mant */
    int dropped = 0;      /* nonzero significant digits beyond 19 */
    long exp10 = 0;       /* decimal exponent to apply to mant */
    int ndigits = 0;      /* digits seen in the mantissa (any) */

    if (s < end && (*s == '+' || *s == '-')) {
        neg = (*s == '-');
        s++;
    }
    /* integer part */
    while (s < end && *s >= '0' && *s <= '9') {
        int dgt = *s - '0';
        ndigits++;
        if (sig < 19) {
            if (mant || dgt) {
                mant = mant * 10 + (uint64_t)dgt;
                sig += (mant != 0);
            }
        } else {
            exp10++;
            dropped |= dgt;
        }
        s++;
    }
    if (s < end && *s == '.') {
        s++;
        while (s < end && *s >= '0' && *s <= '9') {
            int dgt = *s - '0';
            ndigits++;
            if (sig < 19) {
                if (mant || dgt) {
                    mant = mant * 10 + (uint64_t)dgt;
                    sig++;
                }
                exp10--;
            } else {
                dropped |= dgt;
            }
            s++;
        }
    }
    if (ndigits == 0)
        return -1;
    if (s < end && (*s == 'e' || *s == 'E')) {
        int eneg = 0;
        long e = 0;
        int edig = 0;
        s++;
        if (s < end && (*s == '+' || *s == '-')) {
            eneg = (*s == '-');
            s++;
        }
        while (s < end && *s >= '0' && *s <= '9') {
            if (e < 100000000L)
                e = e * 10 + (*s - '0');
            edig++;
            s++;
        }
        if (!edig)
            return -1;
        exp10 += eneg ? -e : e;
    }
    if (s != end)
        return -1;

    if (mant == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (!dropped && mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        /* Clinger's fast path: both operands exact, one correctly rounded operation */
        double v = (double)mant;
        v = exp10 >= 0 ? v * pow10_exact[exp10] : v / pow10_exact[-exp10];
        *out = neg ? -v : v;
        return 0;
    }
    /* slow path: correctly rounded strtod in the C locale */
    {
        char small[128];
        size_t n = (size_t)(end - p);
        char *tmp = n < sizeof small ? small : (char *)malloc(n + 1);
        char *ep;
        double v;
        if (!tmp)
            return -2;
        memcpy(tmp, p, n);
        tmp[n] = 0;
        zml_libsvm_init();
        v = c_locale ? strtod_l(tmp, &ep, c_locale) : strtod(tmp, &ep);
        if (tmp != small)
            free(tmp);
        if (ep != tmp + n)
            return -1;
        *out = v;
        return 0;
    }
}

/* index: [+]? digits, returns 0 ok, -1 syntax, -3 negative, -4 overflow (> INT32_MAX) */
static int parse_index(const char *p, const char *end, int64_t *out)
{
    const char *s = p;
    int neg = 0;
    int64_t v = 0;
    int nd = 0;
    if (s < end && (*s == '+' || *s == '-')) {
        neg = (*s == '-');
        s++;
    }
    while (s < end && *s >= '0' && *s <= '9') {
        if (v <= INT64_C(1) << 40)
            v = v * 10 + (*s - '0');
        nd++;
        s++;
    }
    if (!nd || s != end)
        return -1;
    if (neg && v != 0)
        return -3;
    if (v > INT32_MAX)
        return -4;
    *out = neg ? -v : v; /* -0 is 0 */
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void set_err(zml_parse_result *res, int code, int64_t line, const char *buf,
                    const char *tok, const char *tok_end)
{
    res->err_code = code;
    res->err_line = line;
    res->err_pos = (int64_t)(tok - buf);
    res->err_len = (int64_t)(tok_end - tok);
}

/* After a row whose indices were not strictly increasing: find a duplicate, if any, and
 * locate the token of its second occurrence by re-scanning the line. */
static int check_duplicates(const int32_t *cols, int64_t k, int32_t *scratch, const char *buf,
                            const char *line_start, const char *line_end, int64_t line,
                            int zero_based, zml_parse_result *res)
{
    int64_t i, dup_pos = -1;
    int32_t dup = 0;
    memcpy(scratch, cols, (size_t)k * sizeof(int32_t));
    qsort(scratch, (size_t)k, sizeof(int32_t), cmp_i32);
    for (i = 1; i < k; i++)
        if (scratch[i] == scratch[i - 1]) {
            dup = scratch[i];
            break;
        }
    if (i >= k)
        return 0;
    {
        /* position (within the row) of the second occurrence of dup */
        int seen = 0;
        for (i = 0; i < k; i++)
            if (cols[i] == dup && seen++) {
                dup_pos = i;
                break;
            }
    }
    {
        /* walk the tokens of the line: label, optional qid, then features */
        const char *s = line_start;
        int64_t feat = -1; /* -1: label not yet seen */
        while (s < line_end) {
            const char *t;
            while (s < line_end && is_space((unsigned char)*s))
                s++;
            if (s >= line_end || *s == '#')
                break;
            t = s;
            while (s < line_end && !is_stop((unsigned char)*s))
                s++;
            if (feat < 0) {
                feat = 0;
                continue;
            }
            if (feat == 0 && (s - t) >= 4 && memcmp(t, "qid:", 4) == 0)
                continue;
            if (feat == dup_pos) {
                set_err(res, ZML_LS_DUPLICATE, line, buf, t, s);
                return 1;
            }
            feat++;
        }
    }
    (void)zero_based;
    /* unreachable for a consistent line; report the whole line */
    set_err(res, ZML_LS_DUPLICATE, line, buf, line_start, line_end);
    return 1;
}

int zml_libsvm_parse(const char *buf, int64_t len, int zero_based, int64_t n_features,
                     int64_t max_rows, double *labels, int64_t *rowptr, int32_t *cols,
                     float *vals, int32_t *scratch, int64_t rows_cap, int64_t nnz_cap,
                     zml_parse_result *res)
{
    const char *p = buf, *end = buf + len;
    int64_t line = 0, nrows = 0, nnz = 0, maxcol = -1;
    const int64_t base = zero_based ? 0 : 1;

    memset(res, 0, sizeof *res);
    res->max_col = -1;
    rowptr[0] = 0; /* rowptr holds rows_cap + 1 entries */

    while (p < end) {
        const char *line_start = p, *line_end, *t, *s;
        int have_label = 0, sorted = 1, first_feat = 1;
        int64_t row_start = nnz, prev = -1;
        double label = 0.0;

        if (max_rows >= 0 && nrows >= max_rows)
            break;
        line_end = memchr(p, '\n', (size_t)(end - p));
        if (!line_end)
            line_end = end;
        s = p;
        while (s < line_end) {
            while (s < line_end && is_space((unsigned char)*s))
                s++;
            if (s >= line_end || *s == '#')
                break;
            t = s;
            while (s < line_end && !is_stop((unsigned char)*s))
                s++;
            /* token is [t, s) */
            if (!have_label) {
                if (memchr(t, ':', (size_t)(s - t))) {
                    set_err(res, ZML_LS_MISSING_LABEL, line, buf, t, s);
                    return res->err_code;
                }
                {
                    int r = parse_double(t, s, &label);
                    if (r == -2) {
                        set_err(res, ZML_LS_NOMEM, line, buf, t, s);
                        return res->err_code;
                    }
                    if (r) {
                        set_err(res, ZML_LS_BAD_LABEL, line, buf, t, s);
                        return res->err_code;
                    }
                }
                if (!isfinite(label)) {
                    set_err(res, ZML_LS_NONFINITE_LABEL, line, buf, t, s);
                    return res->err_code;
                }
                have_label = 1;
                continue;
            }
            if (first_feat && (s - t) >= 4 && memcmp(t, "qid:", 4) == 0) {
                int64_t q;
                first_feat = 0;
                if (parse_index(t + 4, s, &q) == -1) {
                    set_err(res, ZML_LS_BAD_QID, line, buf, t, s);
                    return res->err_code;
                }
                continue;
            }
            first_feat = 0;
            {
                const char *colon = memchr(t, ':', (size_t)(s - t));
                int64_t idx = 0;
                double v;
                float f;
                int r, ri;
                if (!colon) {
                    set_err(res, ZML_LS_BAD_TOKEN, line, buf, t, s);
                    return res->err_code;
                }
                ri = parse_index(t, colon, &idx);
                if (ri == -1) {
                    set_err(res, ZML_LS_BAD_TOKEN, line, buf, t, s);
                    return res->err_code;
                }
                r = parse_double(colon + 1, s, &v);
                if (r == -2) {
                    set_err(res, ZML_LS_NOMEM, line, buf, t, s);
                    return res->err_code;
                }
                if (r) {
                    set_err(res, ZML_LS_BAD_TOKEN, line, buf, t, s);
                    return res->err_code;
                }
                if (ri == -3 || (ri == 0 && idx < base)) {
                    set_err(res, ZML_LS_BAD_INDEX, line, buf, t, s);
                    return res->err_code;
                }
                if (ri == -4) {
                    set_err(res, ZML_LS_INDEX_RANGE, line, buf, t, s);
                    return res->err_code;
                }
                idx -= base;
                if (n_features >= 0 && idx >= n_features) {
                    set_err(res, ZML_LS_INDEX_RANGE, line, buf, t, s);
                    return res->err_code;
                }
                if (!isfinite(v)) {
                    set_err(res, ZML_LS_NONFINITE_VALUE, line, buf, t, s);
                    return res->err_code;
                }
                f = (float)v;
                if (!isfinite(f)) {
                    set_err(res, ZML_LS_FLOAT32_RANGE, line, buf, t, s);
                    return res->err_code;
                }
                if (nnz >= nnz_cap) {
                    set_err(res, ZML_LS_CAPACITY, line, buf, t, s);
                    return res->err_code;
                }
                if (idx <= prev)
                    sorted = 0;
                prev = idx;
                if (idx > maxcol)
                    maxcol = idx;
                cols[nnz] = (int32_t)idx;
                vals[nnz] = f;
                nnz++;
            }
        }
        if (have_label) {
            if (!sorted && check_duplicates(cols + row_start, nnz - row_start, scratch, buf,
                                            line_start, line_end, line, zero_based, res))
                return res->err_code;
            if (nrows >= rows_cap) {
                set_err(res, ZML_LS_CAPACITY, line, buf, line_start, line_end);
                return res->err_code;
            }
            labels[nrows] = label;
            nrows++;
            rowptr[nrows] = nnz;
        }
        line++;
        p = line_end < end ? line_end + 1 : end;
    }
    res->n_rows = nrows;
    res->nnz = nnz;
    res->max_col = maxcol;
    res->lines = line;
    res->consumed = (int64_t)(p - buf);
    return 0;
}

void zml_libsvm_count(const char *buf, int64_t len, int64_t *newlines, int64_t *colons)
{
    /* blocks of 4096 bytes with 32-bit counters: a loop the compiler vectorises */
    int64_t nl = 0, co = 0, i = 0;
    const unsigned char *p = (const unsigned char *)buf;
    while (i < len) {
        int64_t end = len - i < 4096 ? len : i + 4096;
        uint32_t a = 0, b = 0;
        for (; i < end; i++) {
            a += p[i] == '\n';
            b += p[i] == ':';
        }
        nl += a;
        co += b;
    }
    *newlines = nl;
    *colons = co;
}

void zml_libsvm_fill(const int64_t *rowptr, const int32_t *cols, const float *vals,
                     int64_t n_rows, int64_t d, float *x)
{
    int64_t i, k;
    for (i = 0; i < n_rows; i++) {
        float *row = x + i * d;
        for (k = rowptr[i]; k < rowptr[i + 1]; k++)
            row[cols[k]] = vals[k];
    }
}
