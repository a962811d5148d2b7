/* C unit tests of the host data path (zipml_prep.c) and of the engine's progressive loss
 * (zml_run_loss): every function on many shapes, precisions, strides and element types, with
 * invariants checked against plain formulas, and the error paths. Written to be run under
 * AddressSanitizer/UBSan (cmodel/Makefile: make asan) and on ARM (make arm-test); the
 * bit-identity with the numpy reference is tests/test_prep.py. Exit status 0 = all passed.
 */
#include "../zipml_prep.c"

#include <stdio.h>

#include "../zipml_engine.h"

#define RNG_SEED 0x243F6A8885A308D3u
#include "check.h"
static uint64_t prep_fp = 0xCBF29CE484222325u;

static double rnd01(void) { return (double)(rnd64() >> 11) * 0x1p-53; }

/* The value of code q: q / L or (2q - L) / L. */
static double level(uint32_t q, uint32_t L, int sgn)
{
    return sgn ? (2.0 * q - L) / L : (double)q / L;
}

/* Pack n x m random data (in range) in every precision and layout; read the stream back
 * through zml_dot_stream with unit vectors: each value must be the nearest level (nearest
 * rounding) or one of the two neighbouring levels (stochastic), the labels exact. */
static void test_pack_roundtrip(void)
{
    const uint32_t bitss[5] = {0, 1, 2, 4, 8};
    for (int trial = 0; trial < 60; trial++) {
        const uint64_t n = 1 + rnd64() % 9, m = 1 + rnd64() % 70;
        const uint32_t bits = bitss[rnd64() % 5];
        const int sgn = (int)(rnd64() & 1), f64 = (int)(rnd64() & 1), fort = (int)(rnd64() & 1);
        const int bias = (int)(rnd64() & 1);
        const int stoch = bits && (rnd64() & 1), ds = stoch && (rnd64() & 1);
        const uint64_t d = m + (uint64_t)bias;
        double *x64 = malloc(n * m * sizeof *x64);
        float *x32 = malloc(n * m * sizeof *x32);
        double *y = malloc(n * sizeof *y);
        const zml_pcg64 rng = {rnd64(), rnd64(), rnd64(), rnd64() | 1u};
        for (uint64_t i = 0; i < n * m; i++) {
            const double v = sgn ? 2.0 * rnd01() - 1.0 : rnd01();
            x32[i] = (float)v;
            x64[i] = (double)x32[i];
        }
        for (uint64_t i = 0; i < n; i++)
            y[i] = (double)(rnd64() % 5) - 2.0;
        zml_matrix X = {f64 ? (const void *)x64 : (const void *)x32,
                        f64 ? ZML_PREP_F64 : ZML_PREP_F32, fort ? 1 : (int64_t)m,
                        fort ? (int64_t)n : 1, n, m};
        if (fort) { /* the same values in column-major order */
            double *t64 = malloc(n * m * sizeof *t64);
            float *t32 = malloc(n * m * sizeof *t32);
            for (uint64_t i = 0; i < n; i++)
                for (uint64_t j = 0; j < m; j++) {
                    t64[j * n + i] = x64[i * m + j];
                    t32[j * n + i] = x32[i * m + j];
                }
            memcpy(x64, t64, n * m * sizeof *t64);
            memcpy(x32, t32, n * m * sizeof *t32);
            free(t64);
            free(t32);
        }
        const uint32_t V = bits ? 64u / bits : 2u;
        const uint64_t D = (d + V - 1) / V, W = D * (ds ? 2 : 1) + 1;
        uint64_t *s = malloc(n * W * sizeof *s);
        zml_norm nm = {ZML_PREP_NORM_NONE, 0, NULL, NULL, (uint32_t)bias, 0, 0};
        zml_prep_error err;
        double ss = -1;
        int rc = zml_pack_rows(&X, NULL, n, 0, n, &nm, bits, (uint32_t)sgn,
                               stoch ? ZML_PREP_STOCHASTIC : ZML_PREP_NEAREST, 0.0,
                               stoch ? &rng : NULL, (uint32_t)ds, y, 1, s, n * W, &ss, &err);
        for (uint64_t t = 0; t < n * W; t++) /* FNV-1a of every stream: same on every host */
            for (int b = 0; b < 64; b += 8) {
                prep_fp ^= (s[t] >> b) & 0xFF;
                prep_fp *= 0x100000001B3u;
            }
        CHECK(rc == ZML_PREP_OK, "pack rc %d (bits %u m %llu)", rc, bits,
              (unsigned long long)m);
        double want_ss = 0;
        for (uint64_t i = 0; i < n; i++)
            for (uint64_t j = 0; j < d; j++) {
                const double a = (bias && j == 0) ? 1.0
                                 : (double)x32[fort ? (j - bias) * n + i : i * m + j - bias];
                want_ss += a * a;
            }
        CHECK(fabs(ss - want_ss) <= 1e-9 * (1 + want_ss), "sumsq %g vs %g", ss, want_ss);
        double *unit = calloc(d * d, sizeof *unit), *out = malloc(n * d * sizeof *out);
        float *lab = malloc(n * sizeof *lab);
        for (uint64_t j = 0; j < d; j++)
            unit[j * d + j] = 1.0;
        rc = zml_dot_stream(s, n * W, n, (uint32_t)d, bits, (uint32_t)sgn, (uint32_t)ds, unit,
                            (uint32_t)d, out, lab);
        CHECK(rc == ZML_PREP_OK, "dot_stream rc %d", rc);
        const uint32_t L = bits ? 1u << (bits - 1) : 0;
        for (uint64_t i = 0; i < n; i++) {
            CHECK(lab[i] == (float)y[i], "label %g vs %g", (double)lab[i], y[i]);
            for (uint64_t j = 0; j < d; j++) {
                const double a = (bias && j == 0) ? 1.0
                                 : (double)x32[fort ? (j - bias) * n + i : i * m + j - bias];
                const double got = out[i * d + j];
                if (!bits) {
                    CHECK(got == a, "Q0 value %g vs %g", got, a);
                    continue;
                }
                const double pos = sgn ? (a + 1.0) * L / 2 : a * L;
                const double lo_l = level((uint32_t)floor(pos), L, sgn),
                             hi_l = level((uint32_t)ceil(pos), L, sgn);
                if (stoch)
                    CHECK(got == lo_l || got == hi_l, "stochastic %g not in {%g, %g}", got,
                          lo_l, hi_l);
                else
                    CHECK(fabs(got - a) <= 1.0 / L + 1e-12 && (got == lo_l || got == hi_l),
                          "nearest %g for %g (bits %u)", got, a, bits);
            }
        }
        free(unit);
        free(out);
        free(lab);
        free(s);
        free(x64);
        free(x32);
        free(y);
    }
}

static void test_minmax_norm_dot(void)
{
    enum { N = 7, M = 13 };
    double x[N * M];
    for (int i = 0; i < N * M; i++)
        x[i] = (double)(int)(rnd64() % 2001) / 100.0 - 10.0;
    for (int i = 0; i < N; i++)
        x[i * M + 3] = 4.5; /* a constant column */
    zml_matrix X = {x, ZML_PREP_F64, M, 1, N, M};
    double lo[M], hi[M], rlo[N], rhi[N];
    zml_prep_error err;
    CHECK(zml_minmax(&X, 0, lo, hi, &err) == 0, "minmax");
    CHECK(zml_minmax(&X, 1, rlo, rhi, &err) == 0, "minmax rows");
    for (int j = 0; j < M; j++) {
        double l = x[j], h = x[j];
        for (int i = 1; i < N; i++) {
            l = fmin(l, x[i * M + j]);
            h = fmax(h, x[i * M + j]);
        }
        CHECK(lo[j] == (double)(float)l && hi[j] == (double)(float)h, "column %d", j);
    }
    float a[N * M];
    for (int mode = 1; mode <= 2; mode++)
        for (int m11 = 0; m11 < 2; m11++) {
            zml_norm nm = {(uint32_t)mode, (uint32_t)m11, lo, hi, 0, 0, 0};
            CHECK(zml_normalize_rows(&X, 0, N, &nm, a, M, &err) == 0, "normalize");
            /* the promises (statistics of these data, values checked) change nothing here */
            float a2[N * M];
            zml_norm fast = nm;
            fast.in_range = fast.checked = 1;
            CHECK(zml_normalize_rows(&X, 0, N, &fast, a2, M, &err) == 0, "normalize (fast)");
            CHECK(memcmp(a, a2, sizeof a) == 0, "in_range/checked give the same values");
            for (int i = 0; i < N * M; i++)
                CHECK(a[i] >= (m11 ? -1.0f : 0.0f) && a[i] <= 1.0f, "range %g", (double)a[i]);
            CHECK(a[3] == (m11 ? -1.0f : 0.0f) || mode == 2, "constant column to the low end");
            double w[2 * (M + 1)], z[N * 2];
            for (int j = 0; j < 2 * (M + 1); j++)
                w[j] = (double)j - 5.0;
            zml_norm nb = nm;
            nb.add_bias = 1;
            CHECK(zml_dot_rows(&X, 0, N, &nb, w, 2, z, &err) == 0, "dot_rows");
            for (int i = 0; i < N; i++)
                for (int c = 0; c < 2; c++) {
                    double want = w[c * (M + 1)];
                    for (int j = 0; j < M; j++)
                        want += (double)a[i * M + j] * w[c * (M + 1) + 1 + j];
                    CHECK(fabs(z[i * 2 + c] - want) <= 1e-9, "dot %g vs %g", z[i * 2 + c], want);
                }
        }
}

static void test_errors(void)
{
    float x[12] = {0, 0.5f, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    zml_matrix X = {x, ZML_PREP_F32, 4, 1, 3, 4};
    zml_prep_error err;
    double lo[4], hi[4], y[3] = {1, -1, 1};
    uint64_t s[3 * 2];
    x[6] = NAN;
    x[9] = INFINITY;
    CHECK(zml_minmax(&X, 0, lo, hi, &err) == ZML_PREP_E_NONFINITE && err.row == 1
              && err.col == 2, "nan at (1, 2): %llu %llu", (unsigned long long)err.row,
          (unsigned long long)err.col);
    x[6] = 0;
    x[9] = 0;
    double big[2] = {1.0, 1e300};
    zml_matrix B = {big, ZML_PREP_F64, 2, 1, 1, 2};
    CHECK(zml_minmax(&B, 1, lo, hi, &err) == ZML_PREP_E_F32_RANGE && err.col == 1
              && err.value == 1e300, "float32 range");
    zml_norm none = {ZML_PREP_NORM_NONE, 0, NULL, NULL, 0, 0, 0};
    x[5] = 2.0f; /* row 1, column 1 out of [0, 1] */
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 4, 0, 0, 0.0, NULL, 0, y, 1, s, 6, NULL,
                        &err) == ZML_PREP_E_QB_RANGE && err.row == 1 && err.col == 1,
          "qb range");
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 4, 0, 0, 1.5, NULL, 0, y, 1, s, 6, NULL,
                        &err) == ZML_PREP_OK, "tolerance clips");
    x[5] = 300.0f;
    uint64_t s0[3 * 3];
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 0, 0, 0, 0.0, NULL, 0, y, 1, s0, 9, NULL,
                        &err) == ZML_PREP_E_Q0_RANGE && err.value == 300.0, "q0 range");
    x[5] = 0.0f;
    y[2] = 1e39;
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 8, 0, 0, 0.0, NULL, 0, y, 1, s, 6, NULL,
                        &err) == ZML_PREP_E_LABEL && err.row == 2, "label");
    /* malformed calls: wrong stream length, stochastic without numbers, order beyond X */
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 8, 0, 0, 0.0, NULL, 0, NULL, 0, s, 5,
                        NULL, &err) == ZML_PREP_E_ARGS, "length");
    CHECK(zml_pack_rows(&X, NULL, 3, 0, 3, &none, 8, 0, 1, 0.0, NULL, 0, NULL, 0, s, 6,
                        NULL, &err) == ZML_PREP_E_ARGS, "no uniforms");
    int64_t order[3] = {0, 3, 1};
    CHECK(zml_pack_rows(&X, order, 3, 0, 3, &none, 8, 0, 0, 0.0, NULL, 0, NULL, 0, s, 6,
                        NULL, &err) == ZML_PREP_E_ARGS, "order out of range");
    CHECK(zml_dot_stream(s, 5, 3, 4, 8, 0, 0, lo, 1, hi, NULL) == ZML_PREP_E_ARGS,
          "dot_stream length");
}

/* zml_run_loss: models equal zml_run's; with n <= S_d + 1 no update reaches the epoch's own
 * dot products in epoch 1, so every margin is 0 and the L2-SVM loss is sum c_y / 2. */
static void test_run_loss(void)
{
    enum { N = 6, Dm = 5 };
    float a[N * (Dm - 1)];
    double y[N];
    for (int i = 0; i < N * (Dm - 1); i++)
        a[i] = (float)rnd01();
    for (int i = 0; i < N; i++)
        y[i] = (i % 3) ? 1.0 : -1.0;
    zml_matrix X = {a, ZML_PREP_F32, Dm - 1, 1, N, Dm - 1};
    zml_norm nb = {ZML_PREP_NORM_NONE, 0, NULL, NULL, 1, 0, 0};
    uint64_t s[N * 4]; /* W = ceil(5 / 2) + 1 */
    zml_prep_error err;
    CHECK(zml_pack_rows(&X, NULL, N, 0, N, &nb, 0, 0, 0, 0.0, NULL, 0, y, 1, s, N * 4, NULL,
                        &err) == 0, "pack");
    const float cp = 1.5f, cn = 0.5f, g = 0.25f, one = 1.0f;
    zml_config c;
    memset(&c, 0, sizeof c);
    c.bits = 0;
    c.max_dim = 64;
    c.fifo_words = 4096;
    c.num_samples = N;
    c.num_features = Dm;
    c.num_epochs = 3;
    memcpy(&c.step_size, &g, 4);
    memcpy(&c.step_decay, &one, 4);
    memcpy(&c.cost_pos, &cp, 4);
    memcpy(&c.cost_neg, &cn, 4);
    c.delay = 1;
    c.mode = 0; /* L2-SVM, labels +-1 */
    int32_t m1[3 * Dm], m2[3 * Dm];
    double loss[3] = {-1, -1, -1};
    zml_status st1, st2;
    CHECK(zml_run(&c, s, N * 4, 1, NULL, 0, m1, 3 * Dm, &st1) == 0, "run");
    CHECK(zml_run_loss(&c, s, N * 4, 1, NULL, 0, m2, 3 * Dm, loss, 3, &st2) == 0, "run_loss");
    CHECK(st1.error == 0 && st2.error == 0 && memcmp(m1, m2, sizeof m1) == 0, "same models");
    CHECK(st1.staleness + 1 >= N, "S_d %u: the test needs n <= S_d + 1", st1.staleness);
    double want = 0;
    for (int i = 0; i < N; i++)
        want += 0.5 * (y[i] > 0 ? 1.5 : 0.5);
    CHECK(loss[0] == want, "epoch 1 loss %g, expected %g", loss[0], want);
    CHECK(loss[1] >= 0 && loss[2] >= 0 && loss[2] < loss[0], "loss falls: %g %g %g", loss[0],
          loss[1], loss[2]);
    CHECK(zml_run_loss(&c, s, N * 4, 1, NULL, 0, m2, 3 * Dm, loss, 2, &st2)
              == ZML_API_LOSS_LENGTH, "short loss array refused");
}

/* numpy's PCG64(1234): its state and Generator.random() draws (0, 1, 2 and 1001, after
 * bit_generator.advance(1000)), read off numpy 1.26 */
static void test_pcg64(void)
{
    const zml_pcg64 base = {UINT64_C(0x160ad84006fe21ea), UINT64_C(0xf69b873d9fe45409),
                            UINT64_C(0x50c8fb163c7cea4e), UINT64_C(0xd0f51ce6006e4325)};
    const double want[3] = {0x1.f411fde7f56d7p-1, 0x1.855207dff3a6ap-2, 0x1.d8b3baf857bc7p-1};
    double u[3];
    pcg_cursor g;
    g.pos = UINT64_MAX;
    pcg_fill(&g, &base, 0, u, 3);
    for (int k = 0; k < 3; k++)
        CHECK(u[k] == want[k], "draw %d: %a, expected %a", k, u[k], want[k]);
    pcg_fill(&g, &base, 1000, u, 1); /* a jump */
    CHECK(u[0] == 0x1.b6d8880b63cc9p-1, "draw 1000: %a", u[0]);
    pcg_fill(&g, &base, 1, u, 2); /* a jump back */
    CHECK(u[0] == want[1] && u[1] == want[2], "draws 1, 2 after a jump back");
}

int main(void)
{
    test_pcg64();
    test_pack_roundtrip();
    test_minmax_norm_dot();
    test_errors();
    test_run_loss();
    printf("prep fingerprint %016llx\n", (unsigned long long)prep_fp);
    printf("test_prep: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
