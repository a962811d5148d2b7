/* The ZipML SGD engine in C (docs/ENGINE.md); see zipml_engine.h.
 *
 * Structure of a run: for every sample, its codes (or Q0 values) are unpacked once into an
 * int32 array q, checked, and kept in a ring of S_d + 2 slots until the sample's delayed update
 * (section 6, sequential form) has been applied; that update is fused with the dot product of
 * the sample S_d + 1 places later, in one pass over the model. All integer paths are exact
 * (sums of at most 8192 terms below 2^39 in int64), so the order of summation cannot change a
 * result. The float32 stage is zipml_fp.c (integer code). On AVX-512 hosts the unpacking, the
 * update and the dot product of a sample are one pass over the model (sample_pass_v16); the
 * portable passes elsewhere (ARMv7, AVX2) compute the same integers.
 */
#include "zipml_engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zipml_fp.h"

/* target_clones: AVX-512 (x86-64-v4) and AVX2 variants of the hot loops on x86-64 with gcc and
 * glibc (ifunc; the variant is chosen at load time), the plain build everywhere else (the
 * board's ARMv7 included). Every variant computes the same integers. -DZML_NO_CLONES turns
 * them off. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__) \
    && !defined(ZML_NO_CLONES) && !defined(__SANITIZE_ADDRESS__)
#if __GNUC__ >= 11
#define ZML_X86_V4 1
#define ZML_HOT __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define ZML_X86_V4 0
#define ZML_HOT __attribute__((target_clones("avx2", "default")))
#endif
#else
#define ZML_X86_V4 0
#define ZML_HOT
#endif

/* 1 if this CPU runs x86-64-v4 code (AVX-512 F/BW/CD/DQ/VL). */
static int cpu_has_v4(void)
{
#if ZML_X86_V4
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/* Nonzero: zml_run takes the portable code even on an AVX-512 host (set by the C unit tests,
 * which compare both paths). */
static int zml_portable_only;

#define MAX_WORKSPACE_BYTES (UINT64_C(256) << 20) /* ring + scratch; far above any real FIFO */

const char *zml_api_error_text(int code)
{
    switch (code) {
    case ZML_API_OK: return "ok";
    case ZML_API_BAD_BITS: return "bits must be 0, 1, 2, 4 or 8";
    case ZML_API_BAD_MAX_DIM: return "max_dim must be in 1 .. MAX_DIM_LIMIT";
    case ZML_API_NULL: return "a required pointer is NULL";
    case ZML_API_STREAM_LENGTH: return "stream length is not num_buffers * epoch words";
    case ZML_API_NUM_BUFFERS: return "num_buffers must be 1 or num_epochs";
    case ZML_API_MODEL_INIT: return "model_init is shorter than num_features";
    case ZML_API_MODELS_LENGTH: return "models is shorter than num_epochs * num_features";
    case ZML_API_NO_MEMORY: return "working memory could not be allocated";
    case ZML_API_LOSS_LENGTH: return "epoch_loss is shorter than num_epochs";
    default: return "unknown API error";
    }
}

static uint32_t mode_field(uint32_t mode, unsigned lsb, unsigned width)
{
    return (mode >> lsb) & ((1u << width) - 1u);
}

int zml_check_setup(const zml_config *cfg)
{
    if (!cfg)
        return ZML_API_NULL;
    switch (cfg->bits) {
    case 0: case 1: case 2: case 4: case 8: break;
    default: return ZML_API_BAD_BITS;
    }
    if (cfg->max_dim < 1 || cfg->max_dim > ZML_MAX_DIM_LIMIT)
        return ZML_API_BAD_MAX_DIM;
    return ZML_API_OK;
}

static uint32_t values_per_word(uint32_t bits)
{
    return bits == 0 ? 2u : (uint32_t)ZML_IN_WIDTH / bits;
}

/* D, W and S_d of sections 3.1 and 6 (64-bit: DELAY may be up to 2^32 - 1). */
static uint64_t data_words(const zml_config *cfg)
{
    uint64_t v = values_per_word(cfg->bits);
    return ((uint64_t)cfg->num_features + v - 1) / v;
}

static int double_sampling(const zml_config *cfg)
{
    return (int)mode_field(cfg->mode, ZML_MODE_DOUBLE_SAMPLING_LSB,
                           ZML_MODE_DOUBLE_SAMPLING_WIDTH);
}

static uint64_t words_per_sample(const zml_config *cfg)
{
    return data_words(cfg) * (double_sampling(cfg) ? 2u : 1u) + 1u;
}

static uint64_t staleness64(const zml_config *cfg)
{
    uint64_t w = words_per_sample(cfg);
    uint64_t s = 1 + (ZML_LATENCY_BUDGET + w - 1) / w;
    return cfg->delay > s ? cfg->delay : s;
}

uint64_t zml_epoch_words(const zml_config *cfg)
{
    if (!cfg || cfg->num_features == 0)
        return 0;
    return (uint64_t)cfg->num_samples * words_per_sample(cfg);
}

uint32_t zml_config_error(const zml_config *cfg, uint32_t *staleness)
{
    uint32_t loss = mode_field(cfg->mode, ZML_MODE_LOSS_LSB, ZML_MODE_LOSS_WIDTH);
    uint32_t code = ZML_ERR_NONE;
    if ((loss != ZML_LOSS_SVM && loss != ZML_LOSS_LINREG && loss != ZML_LOSS_LOGREG)
        || (double_sampling(cfg) && cfg->bits == 0))
        code = ZML_ERR_BAD_MODE;
    else if (cfg->num_samples == 0)
        code = ZML_ERR_ZERO_SAMPLES;
    else if (cfg->num_features == 0 || cfg->num_features > cfg->max_dim)
        code = ZML_ERR_BAD_DIM;
    else if (cfg->num_epochs == 0)
        code = ZML_ERR_ZERO_EPOCHS;
    else if (zml_fisnonfinite(cfg->step_size) || zml_fisnonfinite(cfg->step_decay)
             || zml_fisnonfinite(cfg->cost_pos) || zml_fisnonfinite(cfg->cost_neg)
             || zml_fisnonfinite(cfg->binarize_value))
        code = ZML_ERR_BAD_FLOAT_PARAM;
    else if (cfg->delay == 0
             || (staleness64(cfg) + 1) * data_words(cfg) + ZML_FIFO_SLACK > cfg->fifo_words)
        code = ZML_ERR_BAD_DELAY;
    else if (cfg->reg_shift > 31)
        code = ZML_ERR_BAD_REG_SHIFT;
    if (staleness) /* max(DELAY, 1 + ceil(128 / W)) < 2^32 for any register values */
        *staleness = (uint32_t)staleness64(cfg);
    return code;
}

/* ------------------------------------------------------------------------------ unpacking */

/* Qb: codes of lanes 0 .. d-1 of one copy -> q (section 3.2). Returns nonzero if a code exceeds
 * L = 2^(b-1). Padding lanes (j >= d) are not read.
 *
 * Whole words go through gcc vector extensions (8 lanes of 32 bits: broadcast one 32-bit half
 * of the word, shift every lane by its own amount, mask), which become AVX2/AVX-512 or NEON code
 * where available and plain scalar code elsewhere; the last, partial word is done lane by lane.
 * Lane j of a word is bits B*j .. B*j+B-1 of the 64-bit value, whatever the host byte order. */
typedef uint32_t zml_v8u __attribute__((vector_size(32)));
typedef int32_t zml_v8i __attribute__((vector_size(32)));

/* q[0..7] = (k << sh) + off; bad |= (k > L) lane-wise */
#define STORE8(q, k, sh, off, bad, L)                                                          \
    do {                                                                                       \
        zml_v8u k_ = (k);                                                                      \
        zml_v8i v_ = (zml_v8i)(k_ << (sh)) + (off);                                            \
        (bad) |= (zml_v8u)(k_ > (L));                                                          \
        memcpy((q), &v_, sizeof v_);                                                           \
    } while (0)

static inline uint32_t unpack_tail(uint64_t x, uint32_t count, unsigned B, int32_t *q,
                                   unsigned sh, int32_t off)
{
    uint32_t L = 1u << (B - 1), M = (1u << B) - 1u, bad = 0;
    for (uint32_t l = 0; l < count; l++) {
        uint32_t k = (uint32_t)(x >> (B * l)) & M;
        bad |= k > L;
        q[l] = (int32_t)(k << sh) + off;
    }
    return bad;
}

static inline uint32_t reduce_bad(const zml_v8u *bad)
{
    uint32_t r = 0;
    for (int i = 0; i < 8; i++)
        r |= (*bad)[i];
    return r != 0;
}

#define UNPACK_PROLOGUE(B)                                                                     \
    const uint32_t L = 1u << ((B) - 1), M = (1u << (B)) - 1u;                                  \
    const int32_t off = sgn ? -(int32_t)L : 0;                                                 \
    const unsigned sh = sgn ? 1u : 0u;                                                         \
    const uint32_t V = 64u / (B), full = d / V;                                                \
    zml_v8u bad = {0, 0, 0, 0, 0, 0, 0, 0};                                                    \
    uint32_t tail = 0;

#define UNPACK_EPILOGUE(B)                                                                     \
    if (full * V < d)                                                                          \
        tail = unpack_tail(w[full], d - full * V, (B), q + (size_t)full * V, sh, off);         \
    return reduce_bad(&bad) | tail;

ZML_HOT static uint32_t unpack_q8(const uint64_t *restrict w, uint32_t d, int sgn,
                                  int32_t *restrict q)
{
    UNPACK_PROLOGUE(8)
    const zml_v8u S = {0, 8, 16, 24, 0, 8, 16, 24};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t lo = (uint32_t)w[i], hi = (uint32_t)(w[i] >> 32);
        zml_v8u x = {lo, lo, lo, lo, hi, hi, hi, hi};
        STORE8(q + (size_t)i * 8, (x >> S) & M, sh, off, bad, L);
    }
    UNPACK_EPILOGUE(8)
}

ZML_HOT static uint32_t unpack_q4(const uint64_t *restrict w, uint32_t d, int sgn,
                                  int32_t *restrict q)
{
    UNPACK_PROLOGUE(4)
    const zml_v8u S = {0, 4, 8, 12, 16, 20, 24, 28};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t lo = (uint32_t)w[i], hi = (uint32_t)(w[i] >> 32);
        zml_v8u a = {lo, lo, lo, lo, lo, lo, lo, lo}, b = {hi, hi, hi, hi, hi, hi, hi, hi};
        STORE8(q + (size_t)i * 16, (a >> S) & M, sh, off, bad, L);
        STORE8(q + (size_t)i * 16 + 8, (b >> S) & M, sh, off, bad, L);
    }
    UNPACK_EPILOGUE(4)
}

ZML_HOT static uint32_t unpack_q2(const uint64_t *restrict w, uint32_t d, int sgn,
                                  int32_t *restrict q)
{
    UNPACK_PROLOGUE(2)
    const zml_v8u S = {0, 2, 4, 6, 8, 10, 12, 14};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t h[2] = {(uint32_t)w[i], (uint32_t)(w[i] >> 32)};
        for (int k = 0; k < 2; k++) {
            uint32_t x = h[k];
            zml_v8u a = {x, x, x, x, x, x, x, x};
            STORE8(q + (size_t)i * 32 + 16 * k, (a >> S) & M, sh, off, bad, L);
            STORE8(q + (size_t)i * 32 + 16 * k + 8, (a >> (S + 16)) & M, sh, off, bad, L);
        }
    }
    UNPACK_EPILOGUE(2)
}

ZML_HOT static uint32_t unpack_q1(const uint64_t *restrict w, uint32_t d, int sgn,
                                  int32_t *restrict q)
{
    UNPACK_PROLOGUE(1)
    const zml_v8u S = {0, 1, 2, 3, 4, 5, 6, 7};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t h[2] = {(uint32_t)w[i], (uint32_t)(w[i] >> 32)};
        for (int k = 0; k < 2; k++) {
            uint32_t x = h[k];
            zml_v8u a = {x, x, x, x, x, x, x, x};
            for (unsigned g = 0; g < 4; g++)
                STORE8(q + (size_t)i * 64 + 32 * k + 8 * g, (a >> (S + 8 * g)) & M, sh, off,
                       bad, L);
        }
    }
    UNPACK_EPILOGUE(1)
}

/* 16-lane variants for AVX-512 hosts (one 512-bit operation per 16 codes). They are compiled
 * for x86-64-v4 only and chosen at run time (zml_run checks the CPU): on AVX2 hosts, gcc splits
 * 16-lane generic vectors poorly, so those hosts use the 8-lane functions above. */
#if ZML_X86_V4
#define ZML_V16 __attribute__((target("arch=x86-64-v4")))
typedef uint32_t zml_v16u __attribute__((vector_size(64)));
typedef int32_t zml_v16i __attribute__((vector_size(64)));

/* q[0..15] = (k << sh) + off; bad |= (k > L) lane-wise */
#define STORE16(q, k, sh, off, bad, L)                                                         \
    do {                                                                                       \
        zml_v16u k_ = (k);                                                                     \
        zml_v16i v_ = (zml_v16i)(k_ << (sh)) + (off);                                          \
        (bad) |= (zml_v16u)(k_ > (L));                                                         \
        memcpy((q), &v_, sizeof v_);                                                           \
    } while (0)

/* q[0..7] = (k << sh) + off; bad |= (k > L) lane-wise */
#define STORE8(q, k, sh, off, bad, L)                                                          \
    do {                                                                                       \
        zml_v8u k_ = (k);                                                                      \
        zml_v8i v_ = (zml_v8i)(k_ << (sh)) + (off);                                            \
        (bad) |= (zml_v8u)(k_ > (L));                                                          \
        memcpy((q), &v_, sizeof v_);                                                           \
    } while (0)

ZML_V16 static uint32_t unpack_q8_v16(const uint64_t *restrict w, uint32_t d, int sgn,
                                      int32_t *restrict q)
{
    UNPACK_PROLOGUE(8)
    zml_v16u bad16 = {0};
    const zml_v16u S = {0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24};
    uint32_t i = 0;
    for (; i + 2 <= full; i += 2) {
        uint32_t a = (uint32_t)w[i], b = (uint32_t)(w[i] >> 32);
        uint32_t c = (uint32_t)w[i + 1], e = (uint32_t)(w[i + 1] >> 32);
        zml_v16u x = {a, a, a, a, b, b, b, b, c, c, c, c, e, e, e, e};
        STORE16(q + (size_t)i * 8, (x >> S) & M, sh, off, bad16, L);
    }
    for (; i < full; i++) {
        uint32_t lo = (uint32_t)w[i], hi = (uint32_t)(w[i] >> 32);
        zml_v8u x = {lo, lo, lo, lo, hi, hi, hi, hi};
        const zml_v8u S8 = {0, 8, 16, 24, 0, 8, 16, 24};
        STORE8(q + (size_t)i * 8, (x >> S8) & M, sh, off, bad, L);
    }
    for (int t = 0; t < 16; t++)
        bad[t & 7] |= bad16[t];
    UNPACK_EPILOGUE(8)
}

ZML_V16 static uint32_t unpack_q4_v16(const uint64_t *restrict w, uint32_t d, int sgn,
                                      int32_t *restrict q)
{
    UNPACK_PROLOGUE(4)
    zml_v16u bad16 = {0};
    const zml_v16u S = {0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t lo = (uint32_t)w[i], hi = (uint32_t)(w[i] >> 32);
        zml_v16u a = {lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi};
        STORE16(q + (size_t)i * 16, (a >> S) & M, sh, off, bad16, L);
    }
    for (int t = 0; t < 16; t++)
        bad[t & 7] |= bad16[t];
    UNPACK_EPILOGUE(4)
}

ZML_V16 static uint32_t unpack_q2_v16(const uint64_t *restrict w, uint32_t d, int sgn,
                                      int32_t *restrict q)
{
    UNPACK_PROLOGUE(2)
    zml_v16u bad16 = {0};
    const zml_v16u S = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    for (uint32_t i = 0; i < full; i++) {
        uint32_t h[2] = {(uint32_t)w[i], (uint32_t)(w[i] >> 32)};
        for (int t = 0; t < 2; t++) {
            uint32_t x = h[t];
            zml_v16u a = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
            STORE16(q + (size_t)i * 32 + 16 * t, (a >> S) & M, sh, off, bad16, L);
        }
    }
    for (int t = 0; t < 16; t++)
        bad[t & 7] |= bad16[t];
    UNPACK_EPILOGUE(2)
}

ZML_V16 static uint32_t unpack_q1_v16(const uint64_t *restrict w, uint32_t d, int sgn,
                                      int32_t *restrict q)
{
    UNPACK_PROLOGUE(1)
    const zml_v16u S = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    zml_v16u bad16 = {0}; /* stays 0: every 1-bit code is valid */
    for (uint32_t i = 0; i < full; i++) {
        uint32_t h[2] = {(uint32_t)w[i], (uint32_t)(w[i] >> 32)};
        for (int t = 0; t < 2; t++) {
            uint32_t x = h[t];
            zml_v16u a = {x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
            STORE16(q + (size_t)i * 64 + 32 * t, (a >> S) & M, sh, off, bad16, L);
            STORE16(q + (size_t)i * 64 + 32 * t + 16, (a >> (S + 16)) & M, sh, off, bad16, L);
        }
    }
    for (int t = 0; t < 16; t++)
        bad[t & 7] |= bad16[t];
    UNPACK_EPILOGUE(1)
}
#endif /* ZML_X86_V4 */

/* smp2fix (ENGINE.md 2.3) in a branch-free form the compiler can vectorise; *bad collects data
 * errors. Equal to zml_smp2fix (checked by the C unit tests on every exponent). */
static inline int32_t smp2fix_fast(uint32_t v, uint32_t *bad)
{
    uint32_t ex = (v >> 23) & 0xFFu;
    uint32_t man = (v & 0x007FFFFFu) | 0x00800000u;
    /* v * 2^23 = man * 2^(ex - 127). ex <= 126: right shift by 127 - ex (capped at 26, which
     * gives 0 for everything smaller, subnormals and zeros included), round to nearest even.
     * 127 <= ex <= 134: exact left shift by ex - 127 <= 7. ex = 135: only -256.0 fits. */
    uint32_t rs = ex >= 127u ? 0u : (127u - ex > 26u ? 26u : 127u - ex);
    uint32_t ls = ex >= 127u && ex <= 134u ? ex - 127u : 0u;
    uint32_t half = rs ? (1u << rs) >> 1 : 0u;
    uint32_t down = rs ? (man + half - 1u + ((man >> rs) & 1u)) >> rs : man;
    uint32_t mag = ex == 135u ? 0x80000000u : down << ls;
    *bad |= (ex > 135u) | (ex == 135u && v != 0xC3800000u);
    return (int32_t)((v & 0x80000000u) ? 0u - mag : mag);
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* On a little-endian host lane j (bits 32*(j mod 2) .. of word j/2) is the j-th 32-bit unit in
 * memory; may_alias makes reading the words through this type well defined. */
typedef uint32_t __attribute__((may_alias)) zml_u32_alias;
ZML_HOT static uint32_t unpack_q0(const uint64_t *restrict w, uint32_t d, int32_t *restrict q)
{
    const zml_u32_alias *v = (const zml_u32_alias *)w;
    uint32_t bad = 0;
    for (uint32_t j = 0; j < d; j++)
        q[j] = smp2fix_fast(v[j], &bad);
    return bad;
}
#else
ZML_HOT static uint32_t unpack_q0(const uint64_t *restrict w, uint32_t d, int32_t *restrict q)
{
    uint32_t bad = 0, full = d / 2;
    for (uint32_t i = 0; i < full; i++) {
        uint64_t x = w[i];
        q[2 * (size_t)i] = smp2fix_fast((uint32_t)x, &bad);
        q[2 * (size_t)i + 1] = smp2fix_fast((uint32_t)(x >> 32), &bad);
    }
    if (d & 1u)
        q[d - 1] = smp2fix_fast((uint32_t)w[full], &bad);
    return bad;
}
#endif

/* Copy the lane values of one data copy; nonzero on ERR_BAD_SAMPLE. v16: use the 16-lane
 * variants (only when cpu_has_v4()). */
static uint32_t unpack(uint32_t bits, const uint64_t *w, uint32_t d, int sgn, int32_t *q,
                       int v16)
{
#if ZML_X86_V4
    if (v16) {
        switch (bits) {
        case 1: return unpack_q1_v16(w, d, sgn, q);
        case 2: return unpack_q2_v16(w, d, sgn, q);
        case 4: return unpack_q4_v16(w, d, sgn, q);
        case 8: return unpack_q8_v16(w, d, sgn, q);
        default: break;
        }
    }
#else
    (void)v16;
#endif
    switch (bits) {
    case 1: return unpack_q1(w, d, sgn, q);
    case 2: return unpack_q2(w, d, sgn, q);
    case 4: return unpack_q4(w, d, sgn, q);
    case 8: return unpack_q8(w, d, sgn, q);
    default: return unpack_q0(w, d, q);
    }
}

/* ------------------------------------------------------------------------------ dot product */

/* Qb: sum of X_j * q_j (section 5.2). |X_j q_j| <= 2^31 * 2^7 = 2^38 and d <= 8192, so every
 * product and partial sum is an integer below 2^51 in magnitude: exact in int64. */
ZML_HOT static int64_t dot_qb(const int32_t *restrict X, const int32_t *restrict q, uint32_t d)
{
    int64_t acc = 0;
    for (uint32_t j = 0; j < d; j++)
        acc += (int64_t)X[j] * q[j];
    return acc;
}

/* Q0: sum of (X_j q_j + 2^22) >>> 23. With |X_j q_j| <= 2^62, adding 2^62 + 2^22 makes the
 * operand non-negative, so a logical shift gives floor((X_j q_j + 2^22) / 2^23) + 2^39. */
ZML_HOT static int64_t dot_q0(const int32_t *restrict X, const int32_t *restrict q, uint32_t d)
{
    const uint64_t off = (UINT64_C(1) << 62) + (UINT64_C(1) << 22);
    uint64_t acc = 0;
    for (uint32_t j = 0; j < d; j++)
        acc += ((uint64_t)((int64_t)X[j] * q[j]) + off) >> 23;
    return (int64_t)(acc - ((uint64_t)d << 39));
}

/* ------------------------------------------------------------------------------ update */

/* X_j <- sat32(X_j - (X_j >>> r) - ((S q_j + 2^(QF-1)) >>> QF)) (section 5.4); returns nonzero
 * if some lane saturated. Arithmetic right shifts of negative int64 are written as floor
 * divisions by powers of two through an offset (exact, no implementation-defined shifts). */
ZML_HOT static uint32_t update(int32_t *restrict X, const int32_t *restrict q, uint32_t d,
                               int32_t S, unsigned qf, unsigned r)
{
    /* (S q + 2^(QF-1)) >>> QF = ((S q + 2^(QF-1) + 2^62) >> QF) - 2^(62-QF), |S q| <= 2^62 */
    const uint64_t half = qf ? (UINT64_C(1) << (qf - 1)) : 0;
    const uint64_t off = (UINT64_C(1) << 62) + half;
    const int64_t offq = (int64_t)(UINT64_C(1) << (62 - qf));
    /* X >>> r = ((X + 2^31) >> r) - 2^(31-r) for 1 <= r <= 31; r = 0 means no regularisation */
    const unsigned rr = r ? r : 63;
    const int64_t offr = r ? (int64_t)(UINT64_C(1) << (31 - r)) : 0;
    uint32_t sat = 0;
    for (uint32_t j = 0; j < d; j++) {
        int64_t x = X[j];
        int64_t delta = (int64_t)(((uint64_t)((int64_t)S * q[j]) + off) >> qf) - offq;
        int64_t reg = (int64_t)(((uint64_t)(x + (INT64_C(1) << 31))) >> rr) - offr;
        int64_t v = x - reg - delta;
        int64_t c = v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : v);
        sat |= (uint32_t)(c != v);
        X[j] = (int32_t)c;
    }
    return sat;
}

/* The same update for Qb (QF <= 7) when S != -2^31, in 32-bit lanes (twice the vector width of
 * the 64-bit form). With S = Sh 2^QF + Sl (0 <= Sl < 2^QF):
 *   delta = (S q + 2^(QF-1)) >>> QF = Sh q + ((Sl q + 2^(QF-1)) >>> QF)
 * |S q| <= (2^31 - 1) 2^QF, so |delta| <= 2^31 - 1: computed modulo 2^32 (uint32) it is exact even
 * where Sh q alone overflows. X - (X >>> r) always fits int32; the final subtraction saturates
 * (overflow detected from the signs). */
ZML_HOT static uint32_t update_qb32(int32_t *restrict X, const int32_t *restrict q, uint32_t d,
                                    int32_t S, unsigned qf, unsigned r)
{
    const int32_t Sh = (int32_t)((((int64_t)S + (INT64_C(1) << 31)) >> qf)
                                 - (INT64_C(1) << (31 - qf)));      /* floor(S / 2^QF) */
    const uint32_t Sl = (uint32_t)((int64_t)S - (int64_t)Sh * (INT64_C(1) << qf));
    /* (Sl q + 2^(QF-1)) >>> QF with |Sl q| < 2^14: offset 2^15 keeps the shift non-negative */
    const uint32_t lo_off = (qf ? (1u << (qf - 1)) : 0u) + (1u << 15);
    const uint32_t lo_sub = (1u << 15) >> qf;
    const uint32_t rs = r ? r : 0u, rsub = r ? (1u << (31 - r)) : 0u;
    uint32_t ovf = 0;
    for (uint32_t j = 0; j < d; j++) {
        uint32_t x = (uint32_t)X[j], qj = (uint32_t)q[j];
        uint32_t low = ((uint32_t)((int32_t)Sl * q[j]) + lo_off) >> qf;
        uint32_t delta = (uint32_t)Sh * qj + low - lo_sub;
        /* X >>> r = ((X + 2^31) >> r) - 2^(31-r); r = 0: no regularisation */
        uint32_t reg = r ? ((x ^ 0x80000000u) >> rs) - rsub : 0u;
        uint32_t a = x - reg;
        uint32_t v = a - delta;
        uint32_t o = ((a ^ delta) & (a ^ v)) >> 31; /* signed overflow of a - delta */
        ovf |= o;
        X[j] = o ? (int32_t)(0x7FFFFFFFu + (a >> 31)) : (int32_t)v;
    }
    return ovf;
}

/* Fused passes (the hardware does the same, section 6): apply the update of sample k (values
 * qk, step S) and, with the updated model, accumulate the dot product of sample m (values qm).
 * Each lane is computed exactly as in update_qb32 / update and dot_qb / dot_q0. */
ZML_HOT static int64_t fused_qb32(int32_t *restrict X, const int32_t *restrict qk,
                                  const int32_t *restrict qm, uint32_t d, int32_t S, unsigned qf,
                                  unsigned r, uint32_t *sat)
{
    const int32_t Sh = (int32_t)((((int64_t)S + (INT64_C(1) << 31)) >> qf)
                                 - (INT64_C(1) << (31 - qf)));
    const uint32_t Sl = (uint32_t)((int64_t)S - (int64_t)Sh * (INT64_C(1) << qf));
    const uint32_t lo_off = (qf ? (1u << (qf - 1)) : 0u) + (1u << 15);
    const uint32_t lo_sub = (1u << 15) >> qf;
    const uint32_t rsub = r ? (1u << (31 - r)) : 0u;
    uint32_t ovf = 0;
    int64_t acc = 0;
    for (uint32_t j = 0; j < d; j++) {
        uint32_t x = (uint32_t)X[j], qj = (uint32_t)qk[j];
        uint32_t low = ((uint32_t)((int32_t)Sl * qk[j]) + lo_off) >> qf;
        uint32_t delta = (uint32_t)Sh * qj + low - lo_sub;
        uint32_t reg = r ? ((x ^ 0x80000000u) >> r) - rsub : 0u;
        uint32_t a = x - reg;
        uint32_t v = a - delta;
        uint32_t o = ((a ^ delta) & (a ^ v)) >> 31;
        int32_t xn = o ? (int32_t)(0x7FFFFFFFu + (a >> 31)) : (int32_t)v;
        ovf |= o;
        X[j] = xn;
        acc += (int64_t)xn * qm[j];
    }
    *sat |= ovf;
    return acc;
}

ZML_HOT static int64_t fused_q0(int32_t *restrict X, const int32_t *restrict qk,
                                const int32_t *restrict qm, uint32_t d, int32_t S, unsigned r,
                                uint32_t *sat)
{
    const uint64_t off = (UINT64_C(1) << 62) + (UINT64_C(1) << 22);
    const int64_t offq = INT64_C(1) << 39;
    const unsigned rr = r ? r : 63;
    const int64_t offr = r ? (int64_t)(UINT64_C(1) << (31 - r)) : 0;
    uint32_t ovf = 0;
    uint64_t acc = 0;
    for (uint32_t j = 0; j < d; j++) {
        int64_t x = X[j];
        int64_t delta = (int64_t)(((uint64_t)((int64_t)S * qk[j]) + off) >> 23) - offq;
        int64_t reg = (int64_t)(((uint64_t)(x + (INT64_C(1) << 31))) >> rr) - offr;
        int64_t v = x - reg - delta;
        int64_t c = v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : v);
        ovf |= (uint32_t)(c != v);
        X[j] = (int32_t)c;
        acc += ((uint64_t)(c * qm[j]) + off) >> 23;
    }
    *sat |= ovf;
    return (int64_t)(acc - ((uint64_t)d << 39));
}

/* Update of sample k, then the dot product of sample m with the updated model. */
#if ZML_X86_V4
#include <immintrin.h>
/* dot_qb for AVX-512 hosts (chosen at run time like the 16-lane unpack): the same exact int64
 * sum, with the signed 32x32->64 multiply (vpmuldq) on even and odd lanes, which gcc does not
 * pick by itself (it emits the much slower 64x64 vpmullq). */
ZML_V16 static int64_t dot_qb_v16(const int32_t *restrict X, const int32_t *restrict q,
                                  uint32_t d)
{
    __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
    uint32_t j = 0;
    for (; j + 16 <= d; j += 16) {
        __m512i x = _mm512_loadu_si512((const void *)(X + j));
        __m512i k = _mm512_loadu_si512((const void *)(q + j));
        even = _mm512_add_epi64(even, _mm512_mul_epi32(x, k));
        odd = _mm512_add_epi64(odd, _mm512_mul_epi32(_mm512_srli_epi64(x, 32),
                                                      _mm512_srli_epi64(k, 32)));
    }
    int64_t acc = _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd));
    for (; j < d; j++)
        acc += (int64_t)X[j] * q[j];
    return acc;
}
#endif

/* The Qb dot product, through the AVX-512 kernel where available. */
static int64_t dot_qb_any(const int32_t *X, const int32_t *q, uint32_t d, int v16)
{
#if ZML_X86_V4
    if (v16)
        return dot_qb_v16(X, q, d);
#else
    (void)v16;
#endif
    return dot_qb(X, q, d);
}

static int64_t update_and_dot(uint32_t bits, int32_t *X, const int32_t *qk, const int32_t *qm,
                              uint32_t d, int32_t S, unsigned qf, unsigned r, uint32_t *sat,
                              int v16)
{
    if (bits == 0)
        return fused_q0(X, qk, qm, d, S, r, sat);
    if (S != INT32_MIN && !v16)
        return fused_qb32(X, qk, qm, d, S, qf, r, sat);
    /* two passes over the model (it is in L1): the update, then the dot product */
    *sat |= S != INT32_MIN ? update_qb32(X, qk, d, S, qf, r) : update(X, qk, d, S, qf, r);
    return dot_qb_any(X, qm, d, v16);
}

/* Update of one sample: the 32-bit form where it applies, else the 64-bit one. */
static uint32_t apply_update(int32_t *X, const int32_t *q, uint32_t d, int32_t S, unsigned qf,
                             unsigned r)
{
    if (qf <= 7 && S != INT32_MIN)
        return update_qb32(X, q, d, S, qf, r);
    return update(X, q, d, S, qf, r);
}

/* ------------------------------------------------------------------------------ one pass (AVX-512) */

#if ZML_X86_V4
/* One pass over the model per sample on AVX-512 hosts (chosen at run time like the other
 * 16-lane code): the codes of sample m are decoded straight from its stream words, checked,
 * stored into the ring (for its own update S_d + 1 samples later) and multiplied with the model,
 * after the pending update of sample k (values qk) has been applied to the same 16 lanes. The
 * separate unpack / update / dot passes of the portable path read and write the same values;
 * every lane is computed with the integer formulas of update() and dot_qb(), so the results are
 * identical (tests: engine runs with and without this path, cmodel/tests/test_cmodel.c).
 *
 * The update step delta(q) = (S q + 2^(QF-1)) >>> QF takes one value per code, so for
 * b <= 4 (|q| <= 8) it is looked up in a per-sample table of 32 entries indexed by q mod 32
 * (one two-register permute per 16 lanes) instead of being multiplied out; Q8 (257 codes) uses
 * the 32-bit product form of update_qb32. Both need S != -2^31 (|delta| < 2^31); the caller
 * applies that rare step with update() first. Little-endian only (x86-64): lane j of a word is
 * bits B*j .. of its 64-bit value, i.e. of its bytes in memory order. */
#define ZML_V16_INLINE static inline __attribute__((always_inline, target("arch=x86-64-v4")))

typedef struct {
    __m512i lo, hi;                 /* b <= 4: delta(q) for q mod 32 = 0..15 | 16..31 */
    __m512i sh, sl, lo_off, lo_sub; /* b = 8: the update_qb32 constants */
    unsigned qf;
    __m128i rs;                     /* REG_SHIFT, or 32 (no regularisation: shift gives 0) */
    __m512i rsub;
} zml_upd16;

ZML_V16 static void upd16_setup(zml_upd16 *u, unsigned bits, int32_t S, unsigned qf, unsigned r)
{
    u->qf = qf;
    u->rs = _mm_cvtsi32_si128(r ? (int)r : 32);
    u->rsub = _mm512_set1_epi32(r ? (int32_t)(1u << (31 - r)) : 0);
    if (bits <= 4) { /* delta as in update(): (int64) ((S q + 2^62 + 2^(QF-1)) >> QF) - 2^(62-QF) */
        const __m512i off = _mm512_set1_epi64((long long)((UINT64_C(1) << 62)
                                                          + (qf ? UINT64_C(1) << (qf - 1) : 0)));
        const __m512i offq = _mm512_set1_epi64((long long)(UINT64_C(1) << (62 - qf)));
        const __m512i s = _mm512_set1_epi64(S);
        const __m128i cnt = _mm_cvtsi32_si128((int)qf);
        __m256i part[4];
        for (int p = 0; p < 4; p++) { /* entries 8p .. 8p+7: q = i (i < 16) or i - 32 */
            const long long b = p < 2 ? 8 * p : 8 * p - 32;
            __m512i q = _mm512_add_epi64(_mm512_set1_epi64(b),
                                         _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
            __m512i t = _mm512_add_epi64(_mm512_mul_epi32(s, q), off); /* |S q| < 2^36 */
            part[p] = _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_srl_epi64(t, cnt), offq));
        }
        u->lo = _mm512_inserti64x4(_mm512_castsi256_si512(part[0]), part[1], 1);
        u->hi = _mm512_inserti64x4(_mm512_castsi256_si512(part[2]), part[3], 1);
        u->sh = u->sl = u->lo_off = u->lo_sub = _mm512_setzero_si512(); /* not used */
    } else {
        const int32_t Sh = (int32_t)((((int64_t)S + (INT64_C(1) << 31)) >> qf)
                                     - (INT64_C(1) << (31 - qf)));
        u->sh = _mm512_set1_epi32(Sh);
        u->sl = _mm512_set1_epi32((int32_t)((int64_t)S - (int64_t)Sh * (INT64_C(1) << qf)));
        u->lo_off = _mm512_set1_epi32((int32_t)((qf ? (1u << (qf - 1)) : 0u) + (1u << 15)));
        u->lo_sub = _mm512_set1_epi32((int32_t)((1u << 15) >> qf));
        u->lo = u->hi = _mm512_setzero_si512(); /* not used */
    }
}

/* Q4 on this path keeps the model, the ring values and qa in an interleaved order within every
 * full chunk of 16 lanes: stored lane t holds lane Q4_ORDER[t] of the chunk (lanes 0, 8, 1, 9,
 * .., 7, 15), the order in which two shifts decode a word (codes16); the last d mod 16 lanes
 * stay in place. Every per-lane operation is the same in any order, and the dot product is a
 * sum over all lanes; zml_run reorders the model when it is loaded (model_init) and emitted, and
 * the second data copy of double sampling after it is unpacked. */
#define Q4_ORDER 15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0 /* _mm512_set_epi32 */
#define Q4_NATURAL 15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0

/* Reorder the full chunks of v[0 .. d-1]: to the interleaved order (to_stored) or back. */
ZML_V16 static void q4_reorder(int32_t *v, uint32_t d, int to_stored)
{
    const __m512i idx = to_stored ? _mm512_set_epi32(Q4_ORDER) : _mm512_set_epi32(Q4_NATURAL);
    for (uint32_t c = 0; c < d / 16; c++) {
        __m512i x = _mm512_loadu_si512((const void *)(v + 16 * (size_t)c));
        _mm512_storeu_si512((void *)(v + 16 * (size_t)c), _mm512_permutexvar_epi32(idx, x));
    }
}

/* Codes of lanes 16c .. 16c+15 (zero-extended; Q4: in the interleaved order). */
ZML_V16_INLINE __m512i codes16(const uint64_t *w, uint32_t c, const unsigned B)
{
    const char *p = (const char *)w;
    if (B == 8)
        return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 16 * (size_t)c)));
    if (B == 4) { /* lane 2i: low half of the word >> 4i (code i), lane 2i+1: high half >> 4i
                   * (code 8+i): the interleaved order of Q4_ORDER, without a permute */
        __m512i x = _mm512_srlv_epi32(_mm512_set1_epi64((long long)w[c]),
                                      _mm512_set_epi32(28, 28, 24, 24, 20, 20, 16, 16,
                                                       12, 12, 8, 8, 4, 4, 0, 0));
        return _mm512_and_si512(x, _mm512_set1_epi32(15));
    }
    if (B == 2) {
        uint32_t h;
        memcpy(&h, p + 4 * (size_t)c, 4);
        __m512i x = _mm512_srlv_epi32(_mm512_set1_epi32((int32_t)h),
                                      _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16,
                                                       14, 12, 10, 8, 6, 4, 2, 0));
        return _mm512_and_si512(x, _mm512_set1_epi32(3));
    }
    uint16_t h; /* B == 1 */
    memcpy(&h, p + 2 * (size_t)c, 2);
    return _mm512_maskz_mov_epi32((__mmask16)h, _mm512_set1_epi32(1));
}

/* delta(q) of 16 lanes (values qo of the updated sample): table or product form, see above. */
ZML_V16_INLINE __m512i delta16(const zml_upd16 *u, __m512i qo, const unsigned B)
{
    if (B <= 4)
        return _mm512_permutex2var_epi32(u->lo, qo, u->hi);
    __m512i low = _mm512_srl_epi32(_mm512_add_epi32(_mm512_mullo_epi32(u->sl, qo), u->lo_off),
                                   _mm_cvtsi32_si128((int)u->qf));
    return _mm512_sub_epi32(_mm512_add_epi32(_mm512_mullo_epi32(u->sh, qo), low), u->lo_sub);
}

/* The rare case of pass16 where a - delta overflowed int32 in some lane of its full chunks:
 * X holds v = a - delta modulo 2^32 there. a = v + delta (modulo 2^32) is recovered, the
 * overflowing lanes are saturated as in update_qb32, and the dot product of those chunks is
 * computed again from the stored values qst. */
ZML_V16 static int64_t pass16_saturate(int32_t *restrict X, const int32_t *restrict qk,
                                       const int32_t *restrict qst, uint32_t full, unsigned B,
                                       const zml_upd16 *u)
{
    const __m512i maxv = _mm512_set1_epi32(INT32_MAX);
    __m512i even = _mm512_setzero_si512(), odd = even;
    for (uint32_t c = 0; c < full; c++) {
        const size_t j = 16 * (size_t)c;
        __m512i qo = _mm512_loadu_si512((const void *)(qk + j));
        __m512i delta = B <= 4 ? delta16(u, qo, 4) : delta16(u, qo, 8);
        __m512i v = _mm512_loadu_si512((const void *)(X + j));
        __m512i a = _mm512_add_epi32(v, delta);
        __mmask16 o = _mm512_movepi32_mask(_mm512_ternarylogic_epi32(a, delta, v, 0x18));
        v = _mm512_mask_mov_epi32(v, o, _mm512_xor_si512(_mm512_srai_epi32(a, 31), maxv));
        _mm512_storeu_si512((void *)(X + j), v);
        __m512i q = _mm512_loadu_si512((const void *)(qst + j));
        even = _mm512_add_epi64(even, _mm512_mul_epi32(v, q));
        odd = _mm512_add_epi64(odd, _mm512_mul_epi32(_mm512_srli_epi64(v, 32),
                                                     _mm512_srli_epi64(q, 32)));
    }
    return _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd));
}

/* The pass for one precision B, sign mode and without (pend = 0) or with the update (1: no
 * regularisation, 2: REG_SHIFT > 0); see above. qst receives the values of sample m (lanes
 * 0 .. d-1). *bad: a code of sample m exceeds L. Overflow of the update is only collected in
 * the loop (the sign bits of ovfv) and repaired afterwards by pass16_saturate. */
ZML_V16_INLINE int64_t pass16(int32_t *restrict X, const int32_t *restrict qk,
                              const uint64_t *restrict wm, int32_t *restrict qst, uint32_t d,
                              const unsigned B, const int sgn, const int pend,
                              const zml_upd16 *u, int32_t S, unsigned r, uint32_t *sat,
                              uint32_t *bad)
{
    const uint32_t full = d / 16, L = 1u << (B - 1);
    const __m512i vL = _mm512_set1_epi32((int32_t)L), sign = _mm512_set1_epi32(INT32_MIN);
    __m512i mx = _mm512_setzero_si512(), even = _mm512_setzero_si512(), odd = even, ovfv = even;
    uint32_t ovf = 0;
    for (uint32_t c = 0; c < full; c++) {
        const size_t j = 16 * (size_t)c;
        __m512i k = codes16(wm, c, B);
        if (B > 1)
            mx = _mm512_max_epu32(mx, k);
        __m512i q = sgn ? _mm512_sub_epi32(_mm512_add_epi32(k, k), vL) : k;
        _mm512_storeu_si512((void *)(qst + j), q);
        __m512i x = _mm512_loadu_si512((const void *)(X + j));
        if (pend) {
            __m512i delta = delta16(u, _mm512_loadu_si512((const void *)(qk + j)), B);
            __m512i a = x; /* pend = 2: minus the regularisation term X >>> r */
            if (pend == 2)
                a = _mm512_sub_epi32(x, _mm512_sub_epi32(
                                            _mm512_srl_epi32(_mm512_xor_si512(x, sign), u->rs),
                                            u->rsub));
            x = _mm512_sub_epi32(a, delta);
            /* signed overflow of a - delta: sign bit of (a ^ delta) & (a ^ x) */
            ovfv = _mm512_or_si512(ovfv, _mm512_ternarylogic_epi32(a, delta, x, 0x18));
            _mm512_storeu_si512((void *)(X + j), x);
        }
        even = _mm512_add_epi64(even, _mm512_mul_epi32(x, q));
        /* odd lanes moved down by a shuffle (not a shift: that port is busy with the decode) */
        odd = _mm512_add_epi64(odd, _mm512_mul_epi32(_mm512_shuffle_epi32(x, _MM_PERM_DDBB),
                                                     _mm512_shuffle_epi32(q, _MM_PERM_DDBB)));
    }
    if (pend && _mm512_movepi32_mask(ovfv)) {
        ovf = 1;
        even = _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, pass16_saturate(X, qk, qst, full, B, u));
        odd = _mm512_setzero_si512();
    }
    int64_t acc = _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd));
    uint32_t b = B > 1 && _mm512_reduce_max_epu32(mx) > L;
    /* the last d mod 16 lanes, one by one (as update() and dot_qb()) */
    const uint32_t V = 64 / B, M = (1u << B) - 1u;
    for (uint32_t j = 16 * full; j < d; j++) {
        uint32_t kj = (uint32_t)(wm[j / V] >> (B * (j % V))) & M;
        b |= kj > L;
        int32_t qj = sgn ? 2 * (int32_t)kj - (int32_t)L : (int32_t)kj;
        qst[j] = qj;
        if (pend)
            ovf |= update(X + j, qk + j, 1, S, u->qf, r);
        acc += (int64_t)X[j] * qj;
    }
    *sat |= ovf != 0;
    *bad |= b;
    return acc;
}

/* Q0 values of lanes 16c .. 16c+15 (smp2fix, ENGINE.md 2.3) and their validity. v * 2^23 is exact
 * in binary32 (a power-of-two scaling of |v| < 2^105; subnormals scale exactly too), and the
 * conversion rounds it to the nearest integer, ties to even: smp2fix for every valid v (|v| < 256,
 * or v = -256.0: -2^31). Rounding is explicit and exceptions suppressed, whatever MXCSR holds
 * (a DAZ flag would only turn subnormals into the 0 they round to anyway). Invalid iff
 * |v| >= 256 (NaN, infinities) other than -256.0, i.e. iff rol(v, 1) ^ 1 > 0x87000000: the
 * caller keeps the lane-wise maximum of that key. Checked against zml_smp2fix by the C tests. */
ZML_V16_INLINE __m512i q0_values16(const uint64_t *w, uint32_t c, __m512i *key)
{
    __m512i v = _mm512_loadu_si512((const void *)(w + 8 * (size_t)c));
    *key = _mm512_xor_si512(_mm512_rol_epi32(v, 1), _mm512_set1_epi32(1));
    __m512 p = _mm512_mul_round_ps(_mm512_castsi512_ps(v), _mm512_set1_ps(8388608.0f),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvt_roundps_epi32(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
#define Q0_BAD_KEY 0x87000000u

/* The Q0 update of 8 lanes in int64 (as update() with QF = 23): x, q sign-extended. Returns the
 * new values as int32 (vpmovsqd saturates exactly like sat32); *ovf collects v + 2^31, whose
 * upper half is nonzero iff v left the int32 range. */
ZML_V16_INLINE __m256i q0_update8(__m256i x32, __m256i q32, __m512i s, __m128i rr,
                                  __m512i offr, __m512i *ovf)
{
    const __m512i off = _mm512_set1_epi64((long long)((UINT64_C(1) << 62) + (UINT64_C(1) << 22)));
    const __m512i offq = _mm512_set1_epi64(INT64_C(1) << 39);
    const __m512i b31 = _mm512_set1_epi64(INT64_C(1) << 31);
    __m512i x = _mm512_cvtepi32_epi64(x32), q = _mm512_cvtepi32_epi64(q32);
    __m512i delta = _mm512_sub_epi64(
        _mm512_srli_epi64(_mm512_add_epi64(_mm512_mul_epi32(s, q), off), 23), offq);
    __m512i reg = _mm512_sub_epi64(_mm512_srl_epi64(_mm512_add_epi64(x, b31), rr), offr);
    __m512i v = _mm512_sub_epi64(_mm512_sub_epi64(x, reg), delta);
    *ovf = _mm512_or_si512(*ovf, _mm512_add_epi64(v, b31));
    return _mm512_cvtsepi64_epi32(v);
}

/* The Q0 counterpart of pass16 (same contract): values by q0_values16, update as update()
 * (QF = 23) when pend, dot product as dot_q0. */
ZML_V16_INLINE int64_t pass16_q0(int32_t *restrict X, const int32_t *restrict qk,
                                 const uint64_t *restrict wm, int32_t *restrict qst, uint32_t d,
                                 const int pend, int32_t S, unsigned r, uint32_t *sat,
                                 uint32_t *bad)
{
    const uint32_t full = d / 16;
    const __m512i off = _mm512_set1_epi64((long long)((UINT64_C(1) << 62) + (UINT64_C(1) << 22)));
    const __m512i s = _mm512_set1_epi64(S);
    const __m128i rr = _mm_cvtsi32_si128(r ? (int)r : 63);
    const __m512i offr = _mm512_set1_epi64(r ? (long long)(UINT64_C(1) << (31 - r)) : 0);
    __m512i mx = _mm512_setzero_si512(), ovf = mx, acc = mx;
    for (uint32_t c = 0; c < full; c++) {
        const size_t j = 16 * (size_t)c;
        __m512i key, q = q0_values16(wm, c, &key);
        mx = _mm512_max_epu32(mx, key);
        _mm512_storeu_si512((void *)(qst + j), q);
        __m512i x = _mm512_loadu_si512((const void *)(X + j));
        if (pend) {
            __m512i qo = _mm512_loadu_si512((const void *)(qk + j));
            __m256i lo = q0_update8(_mm512_castsi512_si256(x), _mm512_castsi512_si256(qo), s, rr,
                                    offr, &ovf);
            __m256i hi = q0_update8(_mm512_extracti64x4_epi64(x, 1),
                                    _mm512_extracti64x4_epi64(qo, 1), s, rr, offr, &ovf);
            x = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            _mm512_storeu_si512((void *)(X + j), x);
        }
        /* sum of (X_j q_j + 2^62 + 2^22) >> 23 (logical), even and odd lanes */
        __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, q), off);
        __m512i po = _mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(q, 32)), off);
        acc = _mm512_add_epi64(acc, _mm512_add_epi64(_mm512_srli_epi64(pe, 23),
                                                     _mm512_srli_epi64(po, 23)));
    }
    uint64_t sum = (uint64_t)_mm512_reduce_add_epi64(acc);
    uint32_t b = _mm512_reduce_max_epu32(mx) > Q0_BAD_KEY;
    uint32_t o = _mm512_test_epi64_mask(ovf, _mm512_set1_epi64((long long)0xFFFFFFFF00000000ull))
                 != 0;
    const zml_u32_alias *v = (const zml_u32_alias *)wm;
    for (uint32_t j = 16 * full; j < d; j++) { /* the last d mod 16 lanes, one by one */
        int32_t qj = smp2fix_fast(v[j], &b);
        qst[j] = qj;
        if (pend)
            o |= update(X + j, qk + j, 1, S, ZML_MODEL_FRAC_BITS, r);
        sum += ((uint64_t)((int64_t)X[j] * qj) + (UINT64_C(1) << 62) + (UINT64_C(1) << 22)) >> 23;
    }
    *sat |= o;
    *bad |= b;
    return (int64_t)(sum - ((uint64_t)d << 39));
}

/* Sample m in one pass (see above; Q0: pass16_q0): the update of sample k (values qk, step S)
 * when qk is not NULL, then the values of sample m (stream words wm) into qst and their dot
 * product with the model. For b > 0, S must not be -2^31 when qk is not NULL. */
ZML_V16 static int64_t sample_pass_v16(unsigned bits, int sgn, int32_t *X, const int32_t *qk,
                                       const uint64_t *wm, int32_t *qst, uint32_t d, int32_t S,
                                       unsigned qf, unsigned r, uint32_t *sat, uint32_t *bad)
{
    if (bits == 0)
        return qk ? pass16_q0(X, qk, wm, qst, d, 1, S, r, sat, bad)
                  : pass16_q0(X, qk, wm, qst, d, 0, S, r, sat, bad);
#define ZML_PASS16(P, U)                                                                       \
    switch (2 * bits + (sgn != 0)) {                                                           \
    case 2: return pass16(X, qk, wm, qst, d, 1, 0, (P), (U), S, r, sat, bad);                  \
    case 3: return pass16(X, qk, wm, qst, d, 1, 1, (P), (U), S, r, sat, bad);                  \
    case 4: return pass16(X, qk, wm, qst, d, 2, 0, (P), (U), S, r, sat, bad);                  \
    case 5: return pass16(X, qk, wm, qst, d, 2, 1, (P), (U), S, r, sat, bad);                  \
    case 8: return pass16(X, qk, wm, qst, d, 4, 0, (P), (U), S, r, sat, bad);                  \
    case 9: return pass16(X, qk, wm, qst, d, 4, 1, (P), (U), S, r, sat, bad);                  \
    case 16: return pass16(X, qk, wm, qst, d, 8, 0, (P), (U), S, r, sat, bad);                 \
    default: return pass16(X, qk, wm, qst, d, 8, 1, (P), (U), S, r, sat, bad);                 \
    }
    if (!qk) { /* no update: u is not read */
        const zml_upd16 *u = NULL;
        ZML_PASS16(0, u)
    }
    zml_upd16 u;
    upd16_setup(&u, bits, S, qf, r);
    if (r == 0)
        ZML_PASS16(1, &u)
    ZML_PASS16(2, &u)
#undef ZML_PASS16
}
#endif /* ZML_X86_V4 */

/* ------------------------------------------------------------------------------ scalar */

typedef struct {
    uint32_t loss, binarize, binval;
    uint32_t gamma, kp, kn; /* per-epoch constants (5.1) */
} scalar_ctx;

/* Section 4: the label y' (binary32) or ERR_BAD_LABEL. */
static uint32_t label(const scalar_ctx *c, uint32_t word, uint32_t *y)
{
    uint32_t v = zml_fflush(word);
    if (zml_fisnonfinite(v))
        return ZML_ERR_BAD_LABEL;
    if (c->binarize) {
        *y = zml_feq(v, c->binval) ? ZML_F32_ONE : ZML_F32_MONE;
        return ZML_ERR_NONE;
    }
    if (c->loss != ZML_LOSS_LINREG && v != ZML_F32_ONE && v != ZML_F32_MONE)
        return ZML_ERR_BAD_LABEL;
    *y = v;
    return ZML_ERR_NONE;
}

/* Section 5.3: the float step s for dot product z and label y'. */
static uint32_t scalar_step(const scalar_ctx *c, uint32_t z, uint32_t y)
{
    int pos = y == ZML_F32_ONE;
    switch (c->loss) {
    case ZML_LOSS_SVM: {
        uint32_t t = pos ? z : zml_fneg(z);
        uint32_t m = zml_fsub(ZML_F32_ONE, t);
        return zml_fgtz(m) ? zml_fmul(pos ? c->kp : c->kn, m) : 0u;
    }
    case ZML_LOSS_LINREG:
        return zml_fmul(c->gamma, zml_fsub(z, y));
    default: /* ZML_LOSS_LOGREG */
        return zml_fmul(c->gamma, zml_fsub(zml_plan(z), pos ? ZML_F32_ONE : 0u));
    }
}

/* L2-SVM samples with margin >= 1: the step is 0 whatever the rounding (a shortcut past the FP
 * stage, which most samples take once the model has settled). With z = fix2flt(acc, frac):
 * acc >= 2^frac gives z >= 1 (rounding is monotone and 1.0 is a float), so for y' = +1
 * m = 1 - z <= 0; acc <= -2^frac gives z <= -1, so for y' = -1 m = 1 + z <= 0; m <= 0 gives
 * s = 0 and flt2fix(0) = 0 (section 5.3). Checked against scalar_step by the C unit tests. */
static inline int svm_step_zero(int64_t acc, unsigned frac, uint32_t y)
{
    const int64_t one = INT64_C(1) << frac;
    return y == ZML_F32_ONE ? acc >= one : acc <= -one;
}

/* ------------------------------------------------------------------------------ run */

#if ZML_X86_V4
/* The L2-SVM step (section 5.3) flt2fix(fmul(k, fsub(1, t))), t = z or -z, z = fix2flt(acc,
 * frac), with the processor's binary32 arithmetic on AVX-512 hosts: every operation rounds to
 * nearest even by its own encoding (not MXCSR) and raises no exception. The same results as the
 * integer code of zipml_fp.c because no operand or result here is subnormal where the engine
 * would flush it: z = acc 2^-frac with |acc| >= 1 and frac <= 30 (exact scaling of the rounded
 * integer), 1 - t is 0 or at least 2^-24 in magnitude, k is a product already flushed by
 * zml_fmul, and a product k m below 2^-126 (subnormal here, 0 in the engine) gives the step 0
 * either way. k may be infinite (gamma * cost overflowed); nothing is NaN. flt2fix saturates
 * as zml_flt2fix: values at or beyond 2^31 in magnitude, except -2^31 itself. Checked against
 * the integer code by the C unit tests. */
ZML_V16 static int32_t svm_step_v16(int64_t acc, unsigned frac, uint32_t y, uint32_t kbits,
                                    uint32_t *sat)
{
    const int R = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    float k;
    memcpy(&k, &kbits, 4);
    __m128 z = _mm_cvt_roundi64_ss(_mm_setzero_ps(), (long long)acc, R);
    z = _mm_mul_round_ss(z, _mm_set_ss(1.0f / (float)(UINT32_C(1) << frac)), R); /* exact */
    if (y != ZML_F32_ONE)
        z = _mm_xor_ps(z, _mm_set_ss(-0.0f)); /* t = -z */
    __m128 m = _mm_sub_round_ss(_mm_set_ss(1.0f), z, R);
    if (!(_mm_cvtss_f32(m) > 0.0f))
        return 0;
    __m128 p = _mm_mul_round_ss(_mm_mul_round_ss(_mm_set_ss(k), m, R), _mm_set_ss(8388608.0f), R);
    float pf = _mm_cvtss_f32(p); /* s 2^23: exact, or infinite */
    if (pf >= 2147483648.0f || pf < -2147483648.0f) {
        *sat = 1;
        return pf > 0.0f ? INT32_MAX : INT32_MIN;
    }
    return _mm_cvt_roundss_si32(p, R);
}

/* svm_step_v16 without data-dependent branches (the same operations and results; the
 * shortcut of svm_step_zero is not needed: its samples have m <= 0 here too, see above): the
 * step of a sample only matters S_d + 1 samples later, so a mispredicted branch on its value
 * would only throw away the work on the next sample. kp, kn: k for y' = +1 / -1. */
ZML_V16 static int32_t svm_step_v16_nb(int64_t acc, unsigned frac, uint32_t y, uint32_t kp,
                                       uint32_t kn, uint32_t *sat)
{
    const int R = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const int pos = y == ZML_F32_ONE;
    const uint32_t kbits = pos ? kp : kn;
    const __m128i flip = _mm_cvtsi32_si128(pos ? 0 : (int)0x80000000u);
    __m128 z = _mm_cvt_roundi64_ss(_mm_setzero_ps(), (long long)acc, R);
    z = _mm_mul_round_ss(z, _mm_set_ss(1.0f / (float)(UINT32_C(1) << frac)), R); /* exact */
    z = _mm_xor_ps(z, _mm_castsi128_ps(flip)); /* t = z or -z */
    __m128 m = _mm_sub_round_ss(_mm_set_ss(1.0f), z, R);
    __m128 k = _mm_castsi128_ps(_mm_cvtsi32_si128((int)kbits));
    __m128 p = _mm_mul_round_ss(_mm_mul_round_ss(k, m, R), _mm_set_ss(8388608.0f), R);
    /* quiet compares: p is NaN (k infinite, m = 0) when m > 0 fails, and must not raise */
    const int mpos = _mm_cmp_ss_mask(m, _mm_setzero_ps(), _CMP_GT_OQ),
              hi = _mm_cmp_ss_mask(p, _mm_set_ss(2147483648.0f), _CMP_GE_OQ),
              lo = _mm_cmp_ss_mask(p, _mm_set_ss(-2147483648.0f), _CMP_LT_OQ);
    int32_t v = _mm_cvt_roundss_si32(p, R); /* INT32_MIN when out of range (lo) */
    v = hi ? INT32_MAX : v;
    *sat |= (uint32_t)(mpos & (hi | lo));
    return mpos ? v : 0;
}
#endif

/* Samples read ahead: the stream is read once per epoch, and the hardware prefetcher alone
 * leaves the Q0 loop waiting for memory (measured: Q0 epoch 19.3 -> 17.3 ms CPU time on
 * Fashion-MNIST, BENCHMARKS.md). A hint only: it never changes a result. */
#define PREFETCH_SAMPLES 4

static inline void prefetch_words(const uint64_t *w, uint64_t words)
{
#if defined(__GNUC__)
    const char *p = (const char *)w;
    for (uint64_t o = 0; o < words * sizeof *w; o += 64)
        __builtin_prefetch(p + o, 0, 3);
#else
    (void)w;
    (void)words;
#endif
}

/* The loss of one sample at the margin z = acc 2^-frac the engine computed for it (binary64;
 * ENGINE.md section 11): y' is +1/-1 (L2-SVM, logistic) or the label (least squares). */
static double sample_loss(uint32_t loss, double z, uint32_t ybits, double cp, double cn)
{
    float yf;
    memcpy(&yf, &ybits, 4);
    const double y = yf;
    switch (loss) {
    case ZML_LOSS_SVM: {
        const double m = 1.0 - y * z;
        return m > 0.0 ? 0.5 * (y > 0.0 ? cp : cn) * m * m : 0.0;
    }
    case ZML_LOSS_LINREG:
        return 0.5 * (z - y) * (z - y);
    default: { /* log(1 + exp(-t)), t = y z, without overflow */
        const double t = y * z;
        return (t < 0.0 ? -t : 0.0) + log1p(exp(t < 0.0 ? t : -t));
    }
    }
}

static double f32_value(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int zml_run(const zml_config *cfg, const uint64_t *stream, size_t stream_words,
            uint32_t num_buffers, const int32_t *model_init, size_t model_init_len,
            int32_t *models, size_t models_len, zml_status *status)
{
    return zml_run_loss(cfg, stream, stream_words, num_buffers, model_init, model_init_len,
                        models, models_len, NULL, 0, status);
}

int zml_run_loss(const zml_config *cfg, const uint64_t *stream, size_t stream_words,
                 uint32_t num_buffers, const int32_t *model_init, size_t model_init_len,
                 int32_t *models, size_t models_len, double *epoch_loss, size_t loss_len,
                 zml_status *status)
{
    int rc = zml_check_setup(cfg);
    if (rc != ZML_API_OK)
        return rc;
    if (!status)
        return ZML_API_NULL;
    memset(status, 0, sizeof *status);

    uint32_t sd32;
    uint32_t code = zml_config_error(cfg, &sd32);
    status->staleness = sd32;
    if (code != ZML_ERR_NONE) {
        status->error = code; /* DONE at once, no stream word taken, nothing emitted */
        return ZML_API_OK;
    }

    const uint32_t n = cfg->num_samples, d = cfg->num_features, E = cfg->num_epochs;
    const uint32_t bits = cfg->bits;
    const int ds = double_sampling(cfg);
    const int sgn = (int)mode_field(cfg->mode, ZML_MODE_SIGNED_LSB, ZML_MODE_SIGNED_WIDTH);
    const int keep = (int)mode_field(cfg->mode, ZML_MODE_KEEP_MODEL_LSB,
                                     ZML_MODE_KEEP_MODEL_WIDTH);
    const uint64_t D = data_words(cfg), W = words_per_sample(cfg);
    const uint64_t epoch_words = (uint64_t)n * W;

    if (!stream || !models)
        return ZML_API_NULL;
    if (num_buffers != 1 && num_buffers != E)
        return ZML_API_NUM_BUFFERS;
    if ((uint64_t)stream_words % num_buffers != 0
        || (uint64_t)stream_words / num_buffers != epoch_words)
        return ZML_API_STREAM_LENGTH;
    if ((uint64_t)models_len < (uint64_t)E * d)
        return ZML_API_MODELS_LENGTH;
    if (keep && model_init && (uint64_t)model_init_len < d)
        return ZML_API_MODEL_INIT;
    if (epoch_loss && (uint64_t)loss_len < E)
        return ZML_API_LOSS_LENGTH;

    /* Ring of pending samples: sample m lives in slot m % slots until its update, which is
     * fused with the dot product of sample m + S_d + 1: both must be held at once. */
    const uint64_t sd = sd32;
    const uint32_t slots = (uint32_t)(sd + 2 < n ? sd + 2 : n);
    const size_t dpad = ((size_t)d + 15u) & ~(size_t)15u;
    const uint64_t bytes = (((uint64_t)slots + 2) * dpad + 16) * sizeof(int32_t)
                           + (uint64_t)slots * sizeof(int32_t);
    if (bytes > MAX_WORKSPACE_BYTES)
        return ZML_API_NO_MEMORY;
    /* X, qa and the ring in one block, each 64-byte aligned (dpad is a multiple of 16 words):
     * 64-byte vector loads and stores then never straddle two cache lines */
    int32_t *block = calloc(((size_t)slots + 2) * dpad + 16, sizeof(int32_t));
    int32_t *ringS = calloc(slots, sizeof(int32_t));
    if (!block || !ringS) {
        free(block);
        free(ringS);
        return ZML_API_NO_MEMORY;
    }
    int32_t *X = block + ((64 - (uintptr_t)block % 64) % 64) / sizeof(int32_t);
    int32_t *qa = X + dpad;
    int32_t *ring = qa + dpad;
    if (keep && model_init)
        memcpy(X, model_init, (size_t)d * sizeof(int32_t));
    const int v16 = !zml_portable_only && cpu_has_v4();
#if ZML_X86_V4
    const int q4_order = v16 && cfg->bits == 4; /* interleaved chunks, see q4_reorder */
    if (q4_order)
        q4_reorder(X, cfg->num_features, 1);
#endif

    const unsigned qf = bits == 0 ? ZML_MODEL_FRAC_BITS : bits - 1u;
    const unsigned r = cfg->reg_shift;
    scalar_ctx c;
    c.loss = mode_field(cfg->mode, ZML_MODE_LOSS_LSB, ZML_MODE_LOSS_WIDTH);
    c.binarize = mode_field(cfg->mode, ZML_MODE_BINARIZE_LSB, ZML_MODE_BINARIZE_WIDTH);
    c.binval = cfg->binarize_value;
    c.gamma = cfg->step_size;
    uint32_t sat = 0, samples = 0, err = ZML_ERR_NONE, info = 0;
    const double lcp = f32_value(cfg->cost_pos), lcn = f32_value(cfg->cost_neg);

    for (uint32_t e = 0; e < E && err == ZML_ERR_NONE; e++) {
        if (e > 0)
            c.gamma = zml_fmul(c.gamma, cfg->step_decay);
        c.kp = zml_fneg(zml_fmul(c.gamma, cfg->cost_pos));
        c.kn = zml_fmul(c.gamma, cfg->cost_neg);
        const uint64_t *buf = stream + (num_buffers == 1 ? 0 : (size_t)e * epoch_words);

        /* slot = m % slots; next_k = (m - S_d - 1) % slots once m > S_d (counters, no division) */
        uint32_t slot = 0, next_k = 0;
        double lsum = 0.0;
        for (uint32_t m = 0; m < n; m++) {
            /* Section 6, sequential form: the update of sample k = m - S_d - 1 is applied after
             * the dot product of sample m - 1, i.e. before that of m (here fused with it). */
            uint32_t kslot = 0;
            int pending = 0;
            if ((uint64_t)m >= sd + 1) {
                kslot = next_k;
                next_k = next_k + 1 == slots ? 0 : next_k + 1;
                pending = ringS[kslot] != 0 || r != 0; /* else it changes nothing */
            }
            const int32_t *qk = ring + (size_t)kslot * dpad;
            const uint64_t *w = buf + (size_t)m * W;
            if (m + PREFETCH_SAMPLES < n)
                prefetch_words(buf + (size_t)(m + PREFETCH_SAMPLES) * W, W);
            int32_t *qb = ring + (size_t)slot * dpad; /* the values the update will use */
            int32_t *qdot = ds ? qa : qb;
            uint32_t y, bad = 0, lerr;
            int64_t acc;
#if ZML_X86_V4
            if (v16) { /* one pass; the pending update is applied first */
                const int32_t Sk = ringS[kslot];
                const int32_t *upd = pending ? qk : NULL;
                if (pending && Sk == INT32_MIN && bits != 0) { /* |delta| may be 2^31 */
                    sat |= update(X, qk, d, Sk, qf, r);
                    upd = NULL;
                }
                acc = sample_pass_v16(bits, sgn, X, upd, w, qdot, d, Sk, qf, r, &sat, &bad);
                if (ds) {
                    bad |= unpack(bits, w + D, d, sgn, qb, v16);
                    if (q4_order)
                        q4_reorder(qb, d, 1);
                }
                lerr = bad ? ZML_ERR_BAD_SAMPLE : label(&c, (uint32_t)w[W - 1], &y);
                if (lerr) { /* the update was applied before sample m was taken */
                    err = lerr;
                    info = m;
                    break;
                }
            } else
#endif
            {
                bad = unpack(bits, w, d, sgn, qdot, v16);
                if (ds)
                    bad |= unpack(bits, w + D, d, sgn, qb, v16);
                lerr = bad ? ZML_ERR_BAD_SAMPLE : label(&c, (uint32_t)w[W - 1], &y);
                if (lerr) { /* bits 31..0 of the label word were bad, or a lane before them */
                    if (pending) /* applied before sample m is taken */
                        sat |= apply_update(X, qk, d, ringS[kslot], qf, r);
                    err = lerr;
                    info = m;
                    break;
                }
                if (pending)
                    acc = update_and_dot(bits, X, qk, qdot, d, ringS[kslot], qf, r, &sat, v16);
                else
                    acc = bits == 0 ? dot_q0(X, qdot, d) : dot_qb_any(X, qdot, d, v16);
            }
            const unsigned frac = bits == 0 ? ZML_MODEL_FRAC_BITS : ZML_MODEL_FRAC_BITS + qf;
#if ZML_X86_V4
            if (c.loss == ZML_LOSS_SVM && v16) {
                ringS[slot] = svm_step_v16_nb(acc, frac, y, c.kp, c.kn, &sat);
            } else
#endif
            if (c.loss == ZML_LOSS_SVM && svm_step_zero(acc, frac, y)) {
                ringS[slot] = 0;
#if ZML_X86_V4
            } else if (c.loss == ZML_LOSS_SVM && v16) {
                ringS[slot] = svm_step_v16(acc, frac, y, y == ZML_F32_ONE ? c.kp : c.kn, &sat);
#endif
            } else {
                int s_sat = 0;
                ringS[slot] = zml_flt2fix(scalar_step(&c, zml_fix2flt(acc, frac), y), &s_sat);
                sat |= (uint32_t)s_sat;
            }
            if (epoch_loss)
                lsum += sample_loss(c.loss, (double)acc * ldexp(1.0, -(int)frac), y, lcp, lcn);
            samples++;
            slot = slot + 1 == slots ? 0 : slot + 1;
        }
        if (epoch_loss && err == ZML_ERR_NONE)
            epoch_loss[e] = lsum;
        if (err != ZML_ERR_NONE)
            break; /* the model is undefined now; no frame of this epoch is recorded */
        /* the updates not yet applied, in order: samples max(0, n - S_d - 1) .. n - 1 (the
         * text's loop applies n - S_d - 1 after the last dot product, then n - S_d .. n - 1) */
        for (uint64_t k = n > sd + 1 ? n - sd - 1 : 0; k < n; k++) {
            uint32_t slot = (uint32_t)(k % slots);
            if (ringS[slot] != 0 || r != 0)
                sat |= apply_update(X, ring + (size_t)slot * dpad, d, ringS[slot], qf, r);
        }
        memcpy(models + (size_t)e * d, X, (size_t)d * sizeof(int32_t));
#if ZML_X86_V4
        if (q4_order)
            q4_reorder(models + (size_t)e * d, d, 0);
#endif
        status->epoch_count = e + 1;
    }

    status->error = err;
    status->error_info = info;
    status->sat = sat != 0;
    status->sample_count = samples;
    free(block);
    free(ringS);
    return ZML_API_OK;
}
