/* C unit tests of the ZipML C engine: FP stage corner cases, the fast paths of the engine
 * against plain formulas, and engine runs on small generated streams including malformed calls.
 *
 * Built by cmodel/Makefile (targets test, asan, arm-test). The engine source is included so that
 * its static helpers (smp2fix_fast, update, dot_*) can be checked directly. Exit status 0 = all
 * passed.
 */
#include "../zipml_engine.c"

#include <stdio.h>

#define RNG_SEED 0x9E3779B97F4A7C15u
#include "check.h"

#define CHECK_U32(got, exp)                                                                    \
    do {                                                                                       \
        uint32_t g_ = (got), e_ = (exp);                                                       \
        CHECK(g_ == e_, "%s = 0x%08X, expected 0x%08X", #got, (unsigned)g_, (unsigned)e_);     \
    } while (0)

/* ------------------------------------------------------------------------------ FP stage */

static void test_fp(void)
{
    const uint32_t ONE = 0x3F800000u, TWO = 0x40000000u, INF = 0x7F800000u, NINF = 0xFF800000u;
    const uint32_t QNAN = 0x7FC00000u, TINY = 0x00800000u, MAXF = 0x7F7FFFFFu;
    /* signed zeros */
    CHECK_U32(zml_fadd(0x80000000u, 0x80000000u), 0x80000000u);
    CHECK_U32(zml_fadd(0x80000000u, 0), 0);
    CHECK_U32(zml_fadd(0x40490FDBu, 0xC0490FDBu), 0); /* pi + (-pi) = +0 */
    CHECK_U32(zml_fsub(ONE, ONE), 0);
    /* infinities and NaN */
    CHECK_U32(zml_fadd(INF, NINF), QNAN);
    CHECK_U32(zml_fadd(INF, MAXF), INF);
    CHECK_U32(zml_fmul(INF, 0), QNAN);
    CHECK_U32(zml_fmul(0x80000001u, INF), QNAN); /* subnormal is a zero */
    CHECK_U32(zml_fmul(NINF, 0xC0400000u), INF); /* -inf * -3 */
    CHECK_U32(zml_fadd(0xFFFFFFFFu, ONE), QNAN);
    CHECK_U32(zml_fmul(0x7F800001u, ONE), QNAN);
    /* subnormal inputs flushed */
    CHECK_U32(zml_fadd(0x00000001u, 0x00000001u), 0);
    CHECK_U32(zml_fadd(0x80000001u, 0x80000003u), 0x80000000u);
    CHECK_U32(zml_fsub(TINY, 0x00000001u), TINY);
    /* results at / below 2^-126: 2^-125 - 2^-126 = 2^-126 kept; 2^-126 (1 + 2^-23) - 2^-126 =
     * 2^-149 flushed to +0 */
    CHECK_U32(zml_fadd(0x01000000u, 0x80800000u), TINY);
    CHECK_U32(zml_fsub(0x00800001u, TINY), 0);
    CHECK_U32(zml_fsub(TINY, 0x00800001u), 0x80000000u);
    /* (2^25 - 1) * 2^-151 rounds (tie, even) up to 2^-126; (2^25 - 3) * 2^-151 rounds down to
     * 2^-127 (2 - 2^-23) and is flushed */
    CHECK_U32(zml_fix2flt((1 << 25) - 1, 151), TINY);
    CHECK_U32(zml_fix2flt(-((1 << 25) - 1), 151), TINY | 0x80000000u);
    CHECK_U32(zml_fix2flt((1 << 25) - 3, 151), 0);
    CHECK_U32(zml_fix2flt(-((1 << 25) - 3), 151), 0x80000000u);
    /* overflow */
    CHECK_U32(zml_fmul(0x7F000000u, TWO), INF);          /* 2^127 * 2 */
    CHECK_U32(zml_fadd(MAXF, 0x73000000u), INF);         /* max + 2^103 (tie -> 2^128) */
    CHECK_U32(zml_fadd(MAXF, 0x72800000u), MAXF);        /* max + 2^102 */
    /* ties to even */
    CHECK_U32(zml_fadd(ONE, 0x33800000u), ONE);          /* 1 + 2^-24 */
    CHECK_U32(zml_fadd(0x3F800001u, 0x33800000u), 0x3F800002u);
    CHECK_U32(zml_fsub(ONE, 0x33400000u), 0x3F7FFFFFu);  /* 1 - 3*2^-26 -> 1 - 2^-24 */
    /* fix2flt */
    CHECK_U32(zml_fix2flt(0, 23), 0);
    CHECK_U32(zml_fix2flt(INT64_MIN, 0), 0xDF000000u);
    CHECK_U32(zml_fix2flt(INT64_MAX, 0), 0x5F000000u);   /* rounds up to 2^63 */
    CHECK_U32(zml_fix2flt((1 << 24) + 1, 0), 0x4B800000u);
    CHECK_U32(zml_fix2flt((1 << 24) + 3, 0), 0x4B800002u);
    CHECK_U32(zml_fix2flt(1, 5000), 0);
    CHECK_U32(zml_fix2flt(-1, 5000), 0x80000000u);
    /* flt2fix / smp2fix */
    int sat = 0, err = 0;
    CHECK(zml_flt2fix(ONE, &sat) == (1 << 23) && !sat, "flt2fix(1)");
    CHECK(zml_flt2fix(0xC3800000u, &sat) == INT32_MIN && !sat, "flt2fix(-256)");
    CHECK(zml_flt2fix(0x43800000u, &sat) == INT32_MAX && sat, "flt2fix(256)");
    sat = 0;
    CHECK(zml_flt2fix(0x437FFFFFu, &sat) == INT32_MAX - 127 && !sat, "flt2fix(256 - 2^-16)");
    CHECK(zml_flt2fix(0x33800000u, &sat) == 0, "flt2fix(2^-24) tie to even");
    CHECK(zml_flt2fix(0x34400000u, &sat) == 2, "flt2fix(3 * 2^-24)");
    CHECK(zml_flt2fix(0xB4A00000u, &sat) == -2, "flt2fix(-2.5 * 2^-23)");
    CHECK(zml_flt2fix(QNAN, &sat) == 0 && !sat, "flt2fix(NaN)");
    CHECK(zml_flt2fix(NINF, &sat) == INT32_MIN && sat, "flt2fix(-inf)");
    sat = 0;
    CHECK(zml_flt2fix(0x00000001u, &sat) == 0 && !sat, "flt2fix(subnormal)");
    CHECK(zml_smp2fix(0xC3800000u, &err) == INT32_MIN && !err, "smp2fix(-256)");
    CHECK(zml_smp2fix(0x43800000u, &err) == 0 && err, "smp2fix(256)");
    err = 0;
    CHECK(zml_smp2fix(INF, &err) == 0 && err, "smp2fix(inf)");
    err = 0;
    CHECK(zml_smp2fix(0x80000005u, &err) == 0 && !err, "smp2fix(subnormal)");
    /* plan */
    CHECK_U32(zml_plan(0), 0x3F000000u);
    CHECK_U32(zml_plan(0x80000000u), 0x3F000000u);
    CHECK_U32(zml_plan(0x40A00000u), ONE);               /* plan(5) = 1 */
    CHECK_U32(zml_plan(0xC0A00000u), 0);                 /* plan(-5) = 1 - 1 = +0 */
    CHECK_U32(zml_plan(ONE), 0x3F400000u);               /* 0.75 */
    CHECK_U32(zml_plan(0xBF800000u), 0x3E800000u);       /* 0.25 */
    CHECK_U32(zml_plan(0x40180000u), 0x3F6B0000u);       /* 2.375/32 + 0.84375 = 0.91796875 */
    CHECK_U32(zml_plan(QNAN), QNAN);
    /* comparisons */
    CHECK(zml_feq(0, 0x80000000u) && zml_feq(0x00000001u, 0), "-0 == +0, subnormal == 0");
    CHECK(!zml_feq(QNAN, QNAN) && !zml_flt(QNAN, ONE) && !zml_fgtz(QNAN), "NaN compares false");
    CHECK(zml_flt(0xBF800000u, 0) && !zml_flt(0x80000000u, 0) && zml_fgtz(0x00800000u)
              && !zml_fgtz(0x00000001u), "ordering");
}

/* smp2fix_fast (vectorisable) must equal zml_smp2fix: every exponent, both signs, mantissa edge
 * values and random mantissas. */
static void test_smp2fix_fast(void)
{
    uint32_t mans[] = {0, 1, 2, 3, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFE, 0x7FFFFF};
    for (uint32_t s = 0; s < 2; s++)
        for (uint32_t ex = 0; ex < 256; ex++)
            for (int k = 0; k < 9 + 300; k++) {
                uint32_t man = k < 9 ? mans[k] : (uint32_t)(rnd64() & 0x7FFFFFu);
                uint32_t v = (s << 31) | (ex << 23) | man;
                int e1 = 0;
                uint32_t e2 = 0;
                int32_t a = zml_smp2fix(v, &e1), b = smp2fix_fast(v, &e2);
                CHECK((uint32_t)e1 == e2 && (e1 || a == b),
                      "smp2fix(0x%08X): slow %d/%d fast %d/%u", (unsigned)v, a, e1, b, e2);
            }
}

#if ZML_X86_V4
/* q0_values16 (AVX-512 float conversion) against zml_smp2fix, 16 values at a time */
ZML_V16 static void check_q0_values16(const uint32_t *v)
{
    uint64_t w[8];
    memcpy(w, v, sizeof w);
    int32_t got[16];
    uint32_t keys[16];
    __m512i key;
    _mm512_storeu_si512((void *)got, q0_values16(w, 0, &key));
    _mm512_storeu_si512((void *)keys, key);
    for (int l = 0; l < 16; l++) {
        int e = 0;
        int32_t exp = zml_smp2fix(v[l], &e);
        CHECK((keys[l] > Q0_BAD_KEY) == (e != 0) && (e || got[l] == exp),
              "q0_values16(0x%08X): %d bad %d, smp2fix %d bad %d", (unsigned)v[l], got[l],
              keys[l] > Q0_BAD_KEY, exp, e);
    }
}
#endif

/* The same for the AVX-512 Q0 decoding (on hosts that have it): every exponent, both signs. */
static void test_q0_values16(void)
{
#if ZML_X86_V4
    if (!cpu_has_v4())
        return;
    uint32_t mans[] = {0, 1, 2, 3, 0x3FFFFF, 0x400000, 0x400001, 0x7FFFFE, 0x7FFFFF};
    uint32_t v[16];
    int n = 0;
    for (uint32_t s = 0; s < 2; s++)
        for (uint32_t ex = 0; ex < 256; ex++)
            for (int k = 0; k < 9 + 503; k++) {
                uint32_t man = k < 9 ? mans[k] : (uint32_t)(rnd64() & 0x7FFFFFu);
                v[n++] = (s << 31) | (ex << 23) | man;
                if (n == 16) {
                    check_q0_values16(v);
                    n = 0;
                }
            }
    /* rounding ties around every integer step of v * 2^23 = k + 1/2, small and large k */
    for (int i = 0; i < 4096; i++) {
        uint32_t k = (uint32_t)(rnd64() % (i % 2 ? 64 : (1u << 24)));
        float f = ((float)k + 0.5f) / 8388608.0f;
        uint32_t b;
        memcpy(&b, &f, 4);
        v[n++] = b ^ (uint32_t)(rnd64() & 1) << 31;
        if (n == 16) {
            check_q0_values16(v);
            n = 0;
        }
    }
#endif
}

/* floor(v / 2^k) without shifting negative numbers */
static int64_t floor_div_pow2(int64_t v, unsigned k)
{
    int64_t p = (int64_t)1 << k;
    int64_t q = v / p; /* truncates toward zero */
    return (v % p != 0 && v < 0) ? q - 1 : q;
}

static void test_kernels(void)
{
    enum { N = 37 };
    int32_t X[N], q[N], X2[N];
    for (int trial = 0; trial < 4000; trial++) {
        unsigned qf = (unsigned[]){0, 1, 3, 7, 23}[trial % 5];
        unsigned r = (unsigned)(rnd64() % 32);
        int big = trial % 3 == 0; /* extreme values */
        for (int j = 0; j < N; j++) {
            X[j] = big ? (int32_t)(uint32_t)rnd64() : (int32_t)(rnd64() % 2001) - 1000;
            if (qf == 23)
                q[j] = big ? (int32_t)(uint32_t)rnd64() : (int32_t)(rnd64() % 3) - 1;
            else
                q[j] = (int32_t)(rnd64() % (2u << qf | 1u)) - (int32_t)(1u << qf);
        }
        if (trial % 7 == 0)
            X[0] = INT32_MIN, q[0] = qf == 23 ? INT32_MIN : -(1 << qf);
        int32_t S = big ? (int32_t)(uint32_t)rnd64() : (int32_t)(rnd64() % 4001) - 2000;
        if (trial % 11 == 0)
            S = INT32_MIN;
        /* dot products */
        int64_t acc = 0;
        for (int j = 0; j < N; j++)
            acc += qf == 23 ? floor_div_pow2((int64_t)X[j] * q[j] + (1 << 22), 23)
                            : (int64_t)X[j] * q[j];
        if (qf == 23)
            CHECK(dot_q0(X, q, N) == acc, "dot_q0 trial %d", trial);
        else
            for (int v16 = 0; v16 <= cpu_has_v4(); v16++)
                CHECK(dot_qb_any(X, q, N, v16) == acc, "dot_qb trial %d v16 %d", trial, v16);
        /* update */
        uint32_t sat_exp = 0;
        for (int j = 0; j < N; j++) {
            int64_t sq = (int64_t)S * q[j];
            int64_t delta = qf == 0 ? sq : floor_div_pow2(sq + ((int64_t)1 << (qf - 1)), qf);
            int64_t reg = r ? floor_div_pow2(X[j], r) : 0;
            int64_t v = (int64_t)X[j] - reg - delta;
            int64_t c = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
            sat_exp |= c != v;
            X2[j] = (int32_t)c;
        }
        int32_t X3[N];
        memcpy(X3, X, sizeof X);
        uint32_t sat = update(X, q, N, S, qf, r);
        CHECK(sat == sat_exp && memcmp(X, X2, sizeof X) == 0, "update trial %d", trial);
        uint32_t sat3 = apply_update(X3, q, N, S, qf, r); /* 32-bit form where it applies */
        CHECK(sat3 == sat_exp && memcmp(X3, X2, sizeof X) == 0, "apply_update trial %d", trial);
    }
}

/* unpack() (vector code) against a lane-by-lane extraction, padding lanes full of garbage */
static void test_unpack(void)
{
    const uint32_t bitss[] = {0, 1, 2, 4, 8};
    uint64_t w[130];
    int32_t q[8200], exp[8200];
    for (int trial = 0; trial < 3000; trial++) {
        uint32_t bits = bitss[trial % 5];
        uint32_t d = 1 + (uint32_t)(rnd64() % (trial % 50 == 0 ? 8192 : 300));
        int sgn = (int)(rnd64() & 1);
        uint32_t V = values_per_word(bits), lw = bits ? bits : 32;
        uint32_t D = (d + V - 1) / V;
        if (D > 130)
            d = 130 * V, D = 130;
        int want_bad = trial % 4 == 0;
        uint32_t exp_bad = 0;
        for (uint32_t i = 0; i < D; i++) {
            uint64_t x = 0;
            for (uint32_t l = 0; l < V; l++) {
                uint32_t j = i * V + l;
                uint64_t code;
                if (bits == 0)
                    code = (uint32_t)rnd64() & 0xC3FFFFFFu; /* |v| < 2^8 mostly, some NaN/big */
                else if (j >= d || (want_bad && rnd64() % 64 == 0))
                    code = rnd64() & ((1u << bits) - 1); /* any code, > L allowed */
                else
                    code = rnd64() % ((1u << (bits - 1)) + 1);
                x |= code << (lw * l);
                if (j < d) {
                    if (bits == 0) {
                        int e = 0;
                        exp[j] = zml_smp2fix((uint32_t)code, &e);
                        exp_bad |= (uint32_t)e;
                    } else {
                        uint32_t L = 1u << (bits - 1);
                        exp_bad |= code > L;
                        exp[j] = sgn ? 2 * (int32_t)code - (int32_t)L : (int32_t)code;
                    }
                }
            }
            w[i] = x;
        }
        for (int v16 = 0; v16 <= cpu_has_v4(); v16++) { /* 8-lane and 16-lane variants */
            uint32_t bad = unpack(bits, w, d, sgn, q, v16);
            CHECK((bad != 0) == (exp_bad != 0), "unpack bits %u d %u v16 %d: bad %u expected %u",
                  bits, d, v16, bad, exp_bad);
            if (!exp_bad) {
                int same = memcmp(q, exp, d * sizeof *q) == 0;
                CHECK(same, "unpack bits %u d %u sgn %d v16 %d values", bits, d, sgn, v16);
            }
        }
    }
}

/* ------------------------------------------------------------------------------ engine runs */

static zml_config base_config(uint32_t bits, uint32_t n, uint32_t d)
{
    zml_config c;
    memset(&c, 0, sizeof c);
    c.bits = bits;
    c.max_dim = 8192;
    c.fifo_words = 1u << 16;
    c.mode = (uint32_t)ZML_LOSS_SVM << ZML_MODE_LOSS_LSB;
    c.num_samples = n;
    c.num_features = d;
    c.num_epochs = 2;
    c.step_size = 0x3C23D70Au; /* 0.01 */
    c.step_decay = 0x3F800000u;
    c.cost_pos = 0x3F800000u;
    c.cost_neg = 0x3F800000u;
    c.binarize_value = 0;
    c.delay = 1;
    return c;
}

/* A valid stream: random codes (or values in [-1, 1]) and labels +-1. Exactly sized. */
static uint64_t *make_stream(const zml_config *c, size_t *words)
{
    uint64_t ew = zml_epoch_words(c), W = ew / c->num_samples;
    uint32_t V = values_per_word(c->bits), lw = c->bits ? c->bits : 32;
    uint64_t *s = malloc((size_t)ew * sizeof *s);
    for (uint32_t i = 0; i < c->num_samples; i++) {
        uint64_t *w = s + i * W;
        for (uint64_t k = 0; k + 1 < W; k++) {
            uint64_t x = 0;
            for (uint32_t l = 0; l < V; l++) {
                uint64_t code;
                if (c->bits == 0) /* +-(0.5 .. 1) */
                    code = (rnd64() & 0x80000000u) | 0x3F000000u | (rnd64() & 0x7FFFFFu);
                else
                    code = rnd64() % ((1u << (c->bits - 1)) + 1u);
                x |= code << (lw * l);
            }
            w[k] = x;
        }
        w[W - 1] = (rnd64() & 1) ? 0x3F800000u : 0xBF800000u;
    }
    *words = (size_t)ew;
    return s;
}

static void test_engine_runs(void)
{
    const uint32_t bitss[] = {0, 1, 2, 4, 8};
    for (int b = 0; b < 5; b++)
        for (int ds = 0; ds < 2; ds++) {
            uint32_t bits = bitss[b];
            if (ds && bits == 0)
                continue;
            for (uint32_t d = 1; d <= 70; d += 23) {
                zml_config c = base_config(bits, 9, d);
                c.mode |= (uint32_t)ds << ZML_MODE_DOUBLE_SAMPLING_LSB;
                c.mode |= 1u << ZML_MODE_SIGNED_LSB;
                c.reg_shift = d % 3 ? 0 : 9;
                size_t nw;
                uint64_t *s = make_stream(&c, &nw);
                int32_t *models = malloc(2 * d * sizeof *models);
                zml_status st;
                int rc = zml_run(&c, s, nw, 1, NULL, 0, models, 2 * (size_t)d, &st);
                CHECK(rc == 0 && st.error == 0 && st.epoch_count == 2 && st.sample_count == 18,
                      "run bits %u ds %d d %u: rc %d error %u", bits, ds, d, rc, st.error);
                /* bad label in epoch 0, sample 5 */
                uint64_t W = nw / 9;
                uint64_t keep = s[5 * W + W - 1];
                s[5 * W + W - 1] = 0x7F800000u;
                rc = zml_run(&c, s, nw, 1, NULL, 0, models, 2 * (size_t)d, &st);
                CHECK(rc == 0 && st.error == ZML_ERR_BAD_LABEL && st.error_info == 5
                          && st.epoch_count == 0 && st.sample_count == 5,
                      "bad label: error %u info %u", st.error, st.error_info);
                s[5 * W + W - 1] = keep;
                /* bad sample (last lane of the last sample) */
                if (bits != 1) {
                    uint32_t V = values_per_word(bits), lw = bits ? bits : 32;
                    uint64_t word = 8 * W + (d - 1) / V + (ds ? data_words(&c) : 0);
                    uint32_t pos = (d - 1) % V;
                    uint64_t badv = bits ? (uint64_t)(1u << (bits - 1)) + 1 : 0x7FC00000u;
                    uint64_t mask = (lw == 64 ? ~0ull : ((1ull << lw) - 1)) << (lw * pos);
                    s[word] = (s[word] & ~mask) | (badv << (lw * pos));
                    rc = zml_run(&c, s, nw, 1, NULL, 0, models, 2 * (size_t)d, &st);
                    CHECK(rc == 0 && st.error == ZML_ERR_BAD_SAMPLE && st.error_info == 8,
                          "bad sample bits %u: error %u info %u", bits, st.error, st.error_info);
                }
                free(s);
                free(models);
            }
        }
}

/* Section 6: the updates of the last S_d + 1 samples are applied exactly once (see
 * tests/test_cengine.py test_every_update_applied_once_at_the_end_of_the_epoch for the
 * derivation: linreg, feature 0 = 1.0, one label 1 at sample k >= n - S_d - 1 -> X_0 = 2^22). */
static void test_schedule(void)
{
    const uint32_t d = 1200, D = 150, W = 151; /* Q8: S_d = max(DELAY, 2) */
    for (uint32_t delay = 1; delay <= 7; delay += 3)
        for (uint32_t n = 1; n <= 40; n += 13) {
            zml_config c = base_config(8, n, d);
            c.mode = ZML_LOSS_LINREG;
            c.num_epochs = 1;
            c.step_size = 0x3F000000u; /* 0.5 */
            c.delay = delay;
            uint32_t sd;
            CHECK(zml_config_error(&c, &sd) == 0 && sd == (delay > 2 ? delay : 2), "S_d");
            uint64_t *s = calloc((size_t)n * W, sizeof *s);
            int32_t *model = malloc(d * sizeof *model);
            for (uint32_t i = 0; i < n; i++)
                s[i * W] = 128; /* lane 0 = code L (1.0), other lanes 0 */
            for (uint32_t k = n > sd + 1 ? n - sd - 1 : 0; k < n; k++) {
                for (uint32_t i = 0; i < n; i++)
                    s[i * W + D] = i == k ? 0x3F800000u : 0; /* label 1.0 at k, else 0 */
                zml_status st;
                int rc = zml_run(&c, s, (size_t)n * W, 1, NULL, 0, model, d, &st);
                int rest_zero = 1;
                for (uint32_t j = 1; j < d; j++)
                    rest_zero &= model[j] == 0;
                CHECK(rc == 0 && st.error == 0 && model[0] == (1 << 22) && rest_zero,
                      "schedule delay %u n %u k %u: X_0 = %d", delay, n, k, model[0]);
            }
            free(s);
            free(model);
        }
}

static void test_engine_api_errors(void)
{
    zml_config c = base_config(4, 5, 40);
    size_t nw;
    uint64_t *s = make_stream(&c, &nw);
    int32_t models[80], init[40] = {0};
    zml_status st;
    CHECK(zml_run(&c, s, nw - 1, 1, NULL, 0, models, 80, &st) == ZML_API_STREAM_LENGTH, "len-1");
    CHECK(zml_run(&c, s, nw + 1, 1, NULL, 0, models, 80, &st) == ZML_API_STREAM_LENGTH, "len+1");
    CHECK(zml_run(&c, s, nw, 2, NULL, 0, models, 80, &st) == ZML_API_STREAM_LENGTH, "2 bufs");
    CHECK(zml_run(&c, s, nw, 3, NULL, 0, models, 80, &st) == ZML_API_NUM_BUFFERS, "3 bufs");
    CHECK(zml_run(&c, s, nw, 0, NULL, 0, models, 80, &st) == ZML_API_NUM_BUFFERS, "0 bufs");
    CHECK(zml_run(&c, s, nw, 1, NULL, 0, models, 79, &st) == ZML_API_MODELS_LENGTH, "models");
    CHECK(zml_run(&c, NULL, nw, 1, NULL, 0, models, 80, &st) == ZML_API_NULL, "null stream");
    CHECK(zml_run(&c, s, nw, 1, NULL, 0, NULL, 80, &st) == ZML_API_NULL, "null models");
    CHECK(zml_run(&c, s, nw, 1, NULL, 0, models, 80, NULL) == ZML_API_NULL, "null status");
    CHECK(zml_run(NULL, s, nw, 1, NULL, 0, models, 80, &st) == ZML_API_NULL, "null cfg");
    c.mode |= 1u << ZML_MODE_KEEP_MODEL_LSB;
    CHECK(zml_run(&c, s, nw, 1, init, 39, models, 80, &st) == ZML_API_MODEL_INIT, "init");
    CHECK(zml_run(&c, s, nw, 1, init, 40, models, 80, &st) == 0, "init ok");
    zml_config b = c;
    b.bits = 3;
    CHECK(zml_run(&b, s, nw, 1, NULL, 0, models, 80, &st) == ZML_API_BAD_BITS, "bits");
    b = c;
    b.max_dim = 8193;
    CHECK(zml_run(&b, s, nw, 1, NULL, 0, models, 80, &st) == ZML_API_BAD_MAX_DIM, "max_dim");
    /* configuration errors: reported without touching the (NULL) buffers */
    struct {
        int field;
        uint32_t value, code;
    } cases[] = {
        {0, 3, ZML_ERR_BAD_MODE},        {1, 0, ZML_ERR_ZERO_SAMPLES},
        {2, 0, ZML_ERR_BAD_DIM},         {2, 8193, ZML_ERR_BAD_DIM},
        {3, 0, ZML_ERR_ZERO_EPOCHS},     {4, 0x7FC00000u, ZML_ERR_BAD_FLOAT_PARAM},
        {5, 0xFF800000u, ZML_ERR_BAD_FLOAT_PARAM}, {6, 0, ZML_ERR_BAD_DELAY},
        {6, 100000, ZML_ERR_BAD_DELAY},  {7, 32, ZML_ERR_BAD_REG_SHIFT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b = base_config(4, 5, 40);
        switch (cases[i].field) {
        case 0: b.mode = cases[i].value; break;
        case 1: b.num_samples = cases[i].value; break;
        case 2: b.num_features = cases[i].value; break;
        case 3: b.num_epochs = cases[i].value; break;
        case 4: b.step_size = cases[i].value; break;
        case 5: b.binarize_value = cases[i].value; break;
        case 6: b.delay = cases[i].value; break;
        default: b.reg_shift = cases[i].value; break;
        }
        int rc = zml_run(&b, NULL, 0, 1, NULL, 0, NULL, 0, &st);
        CHECK(rc == 0 && st.error == cases[i].code && st.epoch_count == 0,
              "config case %zu: rc %d error %u expected %u", i, rc, st.error, cases[i].code);
    }
    /* DOUBLE_SAMPLING on Q0 is BAD_MODE and wins over every later code */
    b = base_config(0, 0, 0);
    b.mode |= 1u << ZML_MODE_DOUBLE_SAMPLING_LSB;
    CHECK(zml_config_error(&b, NULL) == ZML_ERR_BAD_MODE, "ds on q0");
    /* one buffer per epoch */
    c = base_config(8, 4, 17);
    size_t nw1;
    uint64_t *s1 = make_stream(&c, &nw1);
    uint64_t *s2 = malloc(2 * nw1 * sizeof *s2);
    memcpy(s2, s1, nw1 * sizeof *s1);
    memcpy(s2 + nw1, s1, nw1 * sizeof *s1);
    int32_t m1[34], m2[34];
    CHECK(zml_run(&c, s1, nw1, 1, NULL, 0, m1, 34, &st) == 0 && st.error == 0, "1 buffer");
    CHECK(zml_run(&c, s2, 2 * nw1, 2, NULL, 0, m2, 34, &st) == 0 && st.error == 0, "2 bufs");
    CHECK(memcmp(m1, m2, sizeof m1) == 0, "same models from 1 or 2 identical buffers");
    free(s);
    free(s1);
    free(s2);
}

/* svm_step_zero (the shortcut past the FP stage) against scalar_step: whenever it says 0, the
 * full stage gives 0 without saturation; dot products around +-1 and random ones. */
static void test_svm_shortcut(void)
{
    scalar_ctx c;
    memset(&c, 0, sizeof c);
    c.loss = ZML_LOSS_SVM;
    int taken = 0;
    for (int trial = 0; trial < 200000; trial++) {
        unsigned frac = ZML_MODEL_FRAC_BITS + (unsigned)(trial % 8);
        c.gamma = (uint32_t)rnd64() & 0x7FFFFFFFu;
        if (zml_fisnonfinite(c.gamma))
            c.gamma = 0x3F800000u;
        c.kp = zml_fneg(c.gamma);
        c.kn = c.gamma;
        int64_t one = INT64_C(1) << frac, acc;
        switch (trial % 4) {
        case 0: acc = one + (int64_t)(rnd64() % 64) - 32; break;
        case 1: acc = -one + (int64_t)(rnd64() % 64) - 32; break;
        case 2: acc = (int64_t)(rnd64() % (uint64_t)(8 * one)) - 4 * one; break;
        default: acc = (int64_t)(rnd64() >> 14) - (INT64_C(1) << 49); break;
        }
        uint32_t y = rnd64() & 1 ? ZML_F32_ONE : ZML_F32_MONE;
        int sat = 0;
        int32_t S = zml_flt2fix(scalar_step(&c, zml_fix2flt(acc, frac), y), &sat);
        if (svm_step_zero(acc, frac, y)) {
            taken++;
            CHECK(S == 0 && !sat, "svm shortcut acc %lld frac %u y 0x%08X: step %d", (long long)acc,
                  frac, y, S);
        }
        /* the boundary itself: acc = +-2^frac is taken, one below/above is not */
        if (trial < 8) {
            CHECK(svm_step_zero(one, frac, ZML_F32_ONE) && !svm_step_zero(one - 1, frac, ZML_F32_ONE)
                      && svm_step_zero(-one, frac, ZML_F32_MONE)
                      && !svm_step_zero(-one + 1, frac, ZML_F32_MONE),
                  "svm shortcut boundary frac %u", frac);
        }
    }
    CHECK(taken > 50000, "svm shortcut taken only %d times", taken);
}

#if ZML_X86_V4
ZML_V16 static int32_t call_svm_step_v16(int64_t acc, unsigned frac, uint32_t y, uint32_t k,
                                         uint32_t *sat)
{
    return svm_step_v16(acc, frac, y, k, sat);
}

ZML_V16 static int32_t call_svm_step_v16_nb(int64_t acc, unsigned frac, uint32_t y, uint32_t kp,
                                            uint32_t kn, uint32_t *sat)
{
    return svm_step_v16_nb(acc, frac, y, kp, kn, sat);
}
#endif

/* svm_step_v16 (binary32 hardware arithmetic) against the integer FP stage: random dot products
 * of every size (around +-1, tiny, huge), every fraction width, both labels, and factors k of
 * every exponent (0, subnormal-flushed, huge, infinite) - steps and SAT flags equal. */
static void test_svm_step_v16(void)
{
#if ZML_X86_V4
    if (!cpu_has_v4())
        return;
    scalar_ctx c;
    memset(&c, 0, sizeof c);
    c.loss = ZML_LOSS_SVM;
    int nonzero = 0, saturated = 0;
    for (int trial = 0; trial < 300000; trial++) {
        unsigned frac = ZML_MODEL_FRAC_BITS + (unsigned)(trial % 8);
        int64_t one = INT64_C(1) << frac, acc;
        switch (trial % 5) {
        case 0: acc = one + (int64_t)(rnd64() % 4096) - 2048; break;
        case 1: acc = -one + (int64_t)(rnd64() % 4096) - 2048; break;
        case 2: acc = (int64_t)(rnd64() % (uint64_t)(8 * one)) - 4 * one; break;
        case 3: acc = (int64_t)(rnd64() % 64) - 32; break;
        default: acc = (int64_t)(rnd64() >> 13) - (INT64_C(1) << 50); break;
        }
        uint32_t k;
        switch (trial % 7) {
        case 0: k = (uint32_t)rnd64() & 0x807FFFFFu; break;            /* +-0 or subnormal */
        case 1: k = ((uint32_t)rnd64() & 0x80000000u) | 0x7F800000u; break; /* +-inf */
        default: k = (uint32_t)rnd64(); break;                        /* any exponent */
        }
        if (zml_fisnan(k))
            k &= 0xFF800000u; /* an infinity instead */
        k = zml_fflush(k);    /* as zml_fmul returns it */
        uint32_t y = rnd64() & 1 ? ZML_F32_ONE : ZML_F32_MONE;
        if (y == ZML_F32_ONE)
            c.kp = k;
        else
            c.kn = k;
        int s1 = 0;
        uint32_t s2 = 0;
        int32_t a = zml_flt2fix(scalar_step(&c, zml_fix2flt(acc, frac), y), &s1);
        int32_t b = call_svm_step_v16(acc, frac, y, k, &s2);
        nonzero += a != 0;
        saturated += s1;
        CHECK(a == b && (uint32_t)s1 == s2,
              "svm_step_v16(acc %lld, frac %u, y 0x%08X, k 0x%08X) = %d sat %u, expected %d sat %d",
              (long long)acc, frac, y, k, b, s2, a, s1);
        uint32_t s3 = 0; /* the branch-free variant (k of the other label: a stale value) */
        int32_t b3 = call_svm_step_v16_nb(acc, frac, y, c.kp, c.kn, &s3);
        CHECK(a == b3 && (uint32_t)s1 == s3,
              "svm_step_v16_nb(acc %lld, frac %u, y 0x%08X, k 0x%08X) = %d sat %u, expected %d"
              " sat %d", (long long)acc, frac, y, k, b3, s3, a, s1);
    }
    CHECK(nonzero > 50000 && saturated > 5000, "svm_step_v16 test: %d nonzero, %d saturated",
          nonzero, saturated);
    /* the saturation boundary: z = 0, m = 1, s = k = -256 (-2^31: no SAT) or +256 (SAT) */
    const uint32_t ks[] = {0xC3800000u, 0x43800000u, 0xC37FFFFFu, 0x437FFFFFu};
    for (int i = 0; i < 4; i++) {
        c.kp = ks[i];
        int s1 = 0;
        uint32_t s2 = 0;
        int32_t a = zml_flt2fix(scalar_step(&c, zml_fix2flt(0, 23), ZML_F32_ONE), &s1);
        int32_t b = call_svm_step_v16(0, 23, ZML_F32_ONE, ks[i], &s2);
        CHECK(a == b && (uint32_t)s1 == s2 && s1 == (i == 1), "svm_step_v16 k 0x%08X: %d/%u, %d/%d",
              ks[i], b, s2, a, s1);
        uint32_t s3 = 0;
        int32_t b3 = call_svm_step_v16_nb(0, 23, ZML_F32_ONE, ks[i], 0, &s3);
        CHECK(a == b3 && (uint32_t)s1 == s3, "svm_step_v16_nb k 0x%08X: %d/%u, %d/%d", ks[i], b3,
              s3, a, s1);
    }
#endif
}

/* zml_run through the AVX-512 one-pass code (on hosts that have it) against the portable
 * passes: random configurations (every precision, sign mode, double sampling, regularisation,
 * steps that saturate, d around multiples of 16), models and status compared word by word. */
static void test_paths_agree(void)
{
    if (!cpu_has_v4())
        return; /* one path only on this host */
    const uint32_t bitss[] = {0, 1, 2, 4, 8};
    const uint32_t steps[] = {0x3C23D70Au, 0x3E800000u, 0x4B000000u, 0x4F000000u};
    int bad_runs = 0;
    for (int trial = 0; trial < 200; trial++) {
        uint32_t bits = bitss[trial % 5];
        uint32_t d = 1 + (uint32_t)(rnd64() % 200);
        if (trial % 5 == 0)
            d = 16 * (1 + (uint32_t)(rnd64() % 12)) + (uint32_t)(rnd64() % 3) - 1;
        zml_config c = base_config(bits, 23, d);
        c.num_epochs = 2;
        c.mode = (uint32_t)(rnd64() % 3) | (uint32_t)(rnd64() & 1) << ZML_MODE_SIGNED_LSB
                 | (uint32_t)(trial % 7 == 0 && bits) << ZML_MODE_DOUBLE_SAMPLING_LSB;
        c.step_size = steps[rnd64() % 4];
        c.reg_shift = rnd64() % 3 == 0 ? (uint32_t)(1 + rnd64() % 31) : 0;
        c.delay = 1 + (uint32_t)(rnd64() % 4);
        size_t nw;
        uint64_t *s = make_stream(&c, &nw);
        if (bits != 1 && trial % 3 == 1) { /* one bad value: ERR_BAD_SAMPLE, same sample */
            uint64_t W = nw / c.num_samples, D = data_words(&c);
            uint32_t V = values_per_word(bits), j = (uint32_t)(rnd64() % d), lw = bits ? bits : 32;
            uint64_t word = (rnd64() % c.num_samples) * W + j / V
                            + ((c.mode >> ZML_MODE_DOUBLE_SAMPLING_LSB) & 1 && rnd64() % 2 ? D : 0);
            uint64_t code;
            if (bits) {
                uint64_t L = 1u << (bits - 1);
                code = L + 1 + rnd64() % (L - 1 ? L - 1 : 1);
            } else { /* +256.0, NaN, -inf or a huge value */
                const uint32_t bad[] = {0x43800000u, 0x7FC00000u, 0xFF800000u, 0x4F000000u};
                code = bad[rnd64() % 4];
            }
            uint64_t mask = ((lw == 64 ? 0 : 1ull << lw) - 1) << (lw * (j % V));
            s[word] = (s[word] & ~mask) | (code << (lw * (j % V)));
        }
        int32_t *m1 = calloc(2 * (size_t)d, sizeof *m1), *m2 = calloc(2 * (size_t)d, sizeof *m2);
        zml_status st1 = {0}, st2 = {0};
        int32_t *init = malloc((size_t)d * sizeof *init); /* KEEP_MODEL with a random model */
        for (uint32_t j = 0; j < d; j++)
            init[j] = (int32_t)(rnd64() % 2000001) - 1000000;
        if (trial % 4 == 3)
            c.mode |= 1u << ZML_MODE_KEEP_MODEL_LSB;
        int rc1 = zml_run(&c, s, nw, 1, init, d, m1, 2 * (size_t)d, &st1);
        zml_portable_only = 1;
        int rc2 = zml_run(&c, s, nw, 1, init, d, m2, 2 * (size_t)d, &st2);
        zml_portable_only = 0;
        bad_runs += st1.error == ZML_ERR_BAD_SAMPLE;
        CHECK(rc1 == 0 && rc2 == 0 && memcmp(&st1, &st2, sizeof st1) == 0
                  && memcmp(m1, m2, 2 * (size_t)d * sizeof *m1) == 0,
              "paths differ: trial %d bits %u d %u mode %u step 0x%08X r %u delay %u", trial,
              bits, d, c.mode, c.step_size, c.reg_shift, c.delay);
        free(s);
        free(m1);
        free(m2);
        free(init);
    }
    CHECK(bad_runs >= 20, "only %d runs with a bad sample", bad_runs);
}

/* Models of a fixed set of runs (every precision and loss, double sampling, regularisation,
 * saturating steps) hashed into one number: equal on every platform iff the engine is
 * bit-identical there (tests/test_cmodel_sanitizers.py compares x86-64 with ARM under qemu). */
static uint64_t fingerprint(void)
{
    uint64_t h = 0xCBF29CE484222325u; /* FNV-1a over the model words and status */
    const uint32_t bitss[] = {0, 1, 2, 4, 8};
    const uint32_t steps[] = {0x3C23D70Au, 0x3E800000u, 0x4B000000u}; /* 0.01, 0.25, 2^23 */
    rng_state = 12345;
    for (int b = 0; b < 5; b++)
        for (uint32_t loss = 0; loss < 3; loss++)
            for (int v = 0; v < 4; v++) {
                zml_config c = base_config(bitss[b], 60, 45 + 17 * (uint32_t)v);
                c.num_epochs = 3;
                c.mode = loss | ((uint32_t)(v & 1) << ZML_MODE_SIGNED_LSB)
                         | ((uint32_t)(v == 3 && bitss[b]) << ZML_MODE_DOUBLE_SAMPLING_LSB);
                c.step_size = steps[v % 3];
                c.step_decay = 0x3F666666u; /* 0.9 */
                c.cost_pos = 0x3FC00000u;   /* 1.5 */
                c.reg_shift = v == 2 ? 7 : 0;
                c.delay = v == 1 ? 5 : 1;
                size_t nw;
                uint64_t *s = make_stream(&c, &nw);
                int32_t *models = malloc(3 * c.num_features * sizeof *models);
                zml_status st = {0}; /* (set by zml_run; initialised for gcc's flow analysis) */
                int rc = zml_run(&c, s, nw, 1, NULL, 0, models, 3 * (size_t)c.num_features, &st);
                CHECK(rc == 0 && st.error == 0, "fingerprint run rc %d error %u", rc, st.error);
                for (size_t i = 0; i < 3 * (size_t)c.num_features; i++) {
                    h ^= (uint32_t)models[i];
                    h *= 0x100000001B3u;
                }
                h ^= st.sat | st.staleness << 1;
                h *= 0x100000001B3u;
                free(s);
                free(models);
            }
    return h;
}

int main(void)
{
    test_fp();
    test_smp2fix_fast();
    test_q0_values16();
    test_kernels();
    test_unpack();
    test_engine_runs();
    test_schedule();
    test_engine_api_errors();
    test_paths_agree();
    test_svm_shortcut();
    test_svm_step_v16();
    uint64_t fp = fingerprint();
    if (cpu_has_v4()) { /* the same runs through the portable code: the same models */
        zml_portable_only = 1;
        uint64_t fp_portable = fingerprint();
        zml_portable_only = 0;
        CHECK(fp == fp_portable, "fingerprint %016llx (AVX-512 passes) != %016llx (portable)",
              (unsigned long long)fp, (unsigned long long)fp_portable);
    }
    printf("fingerprint %016llx\n", (unsigned long long)fp);
    printf("test_cmodel: %d checks, %d failures (%s)\n", checks, failures,
#if defined(__arm__)
           "arm"
#elif defined(__x86_64__)
           "x86-64"
#else
           "other"
#endif
    );
    return failures != 0;
}
