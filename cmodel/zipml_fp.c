/* Float32 stage of the ZipML engine: see zipml_fp.h and docs/ENGINE.md 2.2, 2.3, 5.3.
 *
 * Pure integer code: no floating-point arithmetic at all, so the platform's rounding mode and
 * FTZ/DAZ settings cannot change a result.
 */
#include "zipml_fp.h"

#include <stddef.h>

#define SIGN_BIT 0x80000000u
#define EXP_MASK 0x7F800000u
#define MAN_MASK 0x007FFFFFu
#define HIDDEN 0x00800000u
#define F32_INF 0x7F800000u

/* Constants of the PLAN sigmoid (binary32 bit patterns; tests/test_cengine.py checks them
 * against numpy.float32). */
#define F32_5_0 0x40A00000u     /* 5.0 */
#define F32_2_375 0x40180000u   /* 2.375 */
#define F32_0_03125 0x3D000000u /* 0.03125 = 2^-5 */
#define F32_0_84375 0x3F580000u /* 0.84375 */
#define F32_0_125 0x3E000000u   /* 0.125 */
#define F32_0_625 0x3F200000u   /* 0.625 */
#define F32_0_25 0x3E800000u    /* 0.25 */
#define F32_0_5 0x3F000000u     /* 0.5 */

static int msb64(uint64_t m) /* position of the highest set bit, m != 0 */
{
#if defined(__GNUC__)
    return 63 - __builtin_clzll(m);
#else
    int p = 0;
    while (m >>= 1)
        p++;
    return p;
#endif
}

/* Round the exact value (-1)^sign * m * 2^e (m != 0; bit 0 of m may be a jammed sticky bit, as
 * long as the rounding position is at least two bits above it) to a 24-bit significand, ties to
 * even, unbounded exponent; then flush below 2^-126 and overflow at 2^128. */
static uint32_t round_pack(uint32_t sign, int32_t e, uint64_t m)
{
    int p = msb64(m);
    uint64_t keep;
    int32_t ex;
    if (p > 23) {
        int sh = p - 23;
        uint64_t rem = m & ((UINT64_C(1) << sh) - 1);
        uint64_t half = UINT64_C(1) << (sh - 1);
        keep = m >> sh;
        ex = e + sh;
        if (rem > half || (rem == half && (keep & 1u)))
            keep++;
        if (keep == (UINT64_C(1) << 24)) {
            keep >>= 1;
            ex++;
        }
    } else {
        keep = m << (23 - p);
        ex = e - (23 - p);
    }
    /* value = keep * 2^ex with 2^23 <= keep < 2^24, i.e. 1.f * 2^(ex + 23) */
    int32_t E = ex + 23;
    if (E < -126)
        return sign << 31;
    if (E > 127)
        return (sign << 31) | F32_INF;
    return (sign << 31) | ((uint32_t)(E + 127) << 23) | ((uint32_t)keep & MAN_MASK);
}

uint32_t zml_fflush(uint32_t a)
{
    return (a & EXP_MASK) == 0 ? (a & SIGN_BIT) : a;
}

int zml_fisnan(uint32_t a)
{
    return (a & EXP_MASK) == EXP_MASK && (a & MAN_MASK) != 0;
}

int zml_fisnonfinite(uint32_t a)
{
    return (a & EXP_MASK) == EXP_MASK;
}

uint32_t zml_fneg(uint32_t a)
{
    return a ^ SIGN_BIT;
}

uint32_t zml_fadd(uint32_t a, uint32_t b)
{
    a = zml_fflush(a);
    b = zml_fflush(b);
    uint32_t ea = (a >> 23) & 0xFFu, eb = (b >> 23) & 0xFFu;
    if (ea == 0xFFu || eb == 0xFFu) {
        if (zml_fisnan(a) || zml_fisnan(b))
            return ZML_F32_QNAN;
        if (ea == 0xFFu && eb == 0xFFu)
            return a == b ? a : ZML_F32_QNAN; /* inf - inf */
        return ea == 0xFFu ? a : b;
    }
    if (ea == 0) {
        if (eb == 0)
            return a & b & SIGN_BIT; /* -0 only for (-0) + (-0) */
        return b;
    }
    if (eb == 0)
        return a;
    if ((a & ~SIGN_BIT) < (b & ~SIGN_BIT)) { /* |a| >= |b| from here */
        uint32_t t = a;
        a = b;
        b = t;
        t = ea;
        ea = eb;
        eb = t;
    }
    uint64_t ma = (uint64_t)((a & MAN_MASK) | HIDDEN) << 39; /* msb at bit 62 */
    uint64_t mb = (uint64_t)((b & MAN_MASK) | HIDDEN) << 39;
    uint32_t dexp = ea - eb;
    if (dexp >= 63) {
        mb = 1; /* all sticky */
    } else if (dexp > 0) {
        uint64_t lost = mb & ((UINT64_C(1) << dexp) - 1);
        mb = (mb >> dexp) | (lost != 0);
    }
    uint64_t m = ((a ^ b) & SIGN_BIT) ? ma - mb : ma + mb;
    if (m == 0)
        return 0; /* x + (-x) = +0 */
    return round_pack(a >> 31, (int32_t)ea - 127 - 23 - 39, m);
}

uint32_t zml_fsub(uint32_t a, uint32_t b)
{
    return zml_fadd(a, zml_fneg(b));
}

uint32_t zml_fmul(uint32_t a, uint32_t b)
{
    a = zml_fflush(a);
    b = zml_fflush(b);
    uint32_t sign = (a ^ b) >> 31;
    uint32_t ea = (a >> 23) & 0xFFu, eb = (b >> 23) & 0xFFu;
    if (zml_fisnan(a) || zml_fisnan(b))
        return ZML_F32_QNAN;
    if (ea == 0xFFu || eb == 0xFFu) {
        if (ea == 0 || eb == 0)
            return ZML_F32_QNAN; /* 0 * inf */
        return (sign << 31) | F32_INF;
    }
    if (ea == 0 || eb == 0)
        return sign << 31;
    uint64_t m = (uint64_t)((a & MAN_MASK) | HIDDEN) * (uint64_t)((b & MAN_MASK) | HIDDEN);
    return round_pack(sign, ((int32_t)ea - 150) + ((int32_t)eb - 150), m);
}

int zml_feq(uint32_t a, uint32_t b)
{
    a = zml_fflush(a);
    b = zml_fflush(b);
    if (zml_fisnan(a) || zml_fisnan(b))
        return 0;
    if (((a | b) & ~SIGN_BIT) == 0)
        return 1; /* -0 == +0 */
    return a == b;
}

static uint32_t order_key(uint32_t a) /* monotonic in the value, for non-NaN, non-zero-pair */
{
    return (a & SIGN_BIT) ? ~a : (a | SIGN_BIT);
}

int zml_flt(uint32_t a, uint32_t b)
{
    a = zml_fflush(a);
    b = zml_fflush(b);
    if (zml_fisnan(a) || zml_fisnan(b))
        return 0;
    if ((a & ~SIGN_BIT) == 0)
        a = 0;
    if ((b & ~SIGN_BIT) == 0)
        b = 0;
    return order_key(a) < order_key(b);
}

int zml_fgtz(uint32_t a)
{
    a = zml_fflush(a);
    return !(a & SIGN_BIT) && (a & ~SIGN_BIT) != 0 && !zml_fisnan(a);
}

uint32_t zml_fix2flt(int64_t a, unsigned frac)
{
    if (a == 0)
        return 0;
    uint32_t sign = a < 0;
    uint64_t mag = sign ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    if (frac > 4096u)
        return sign << 31; /* |A| * 2^-F < 2^(64 - 4096): flushes */
    return round_pack(sign, -(int32_t)frac, mag);
}

/* round(v * 2^23), ties to even, for a finite normal or zero v (already flushed). The result is
 * exact for |result| <= 2^40; larger magnitudes are returned as +-2^40 (out of Q8.23 range
 * anyway). */
static int64_t q823_round(uint32_t v)
{
    uint32_t ex = (v >> 23) & 0xFFu;
    if (ex == 0)
        return 0;
    uint64_t man = (v & MAN_MASK) | HIDDEN;
    int32_t e = (int32_t)ex - 127; /* v * 2^23 = man * 2^e */
    uint64_t mag;
    if (e >= 0) {
        mag = e > 16 ? (UINT64_C(1) << 40) : man << e;
    } else {
        int sh = -e;
        if (sh > 25) {
            mag = 0; /* < 0.25 */
        } else {
            uint64_t rem = man & ((UINT64_C(1) << sh) - 1);
            uint64_t half = UINT64_C(1) << (sh - 1);
            mag = man >> sh;
            if (rem > half || (rem == half && (mag & 1u)))
                mag++;
        }
    }
    return (v & SIGN_BIT) ? -(int64_t)mag : (int64_t)mag;
}

int32_t zml_flt2fix(uint32_t v, int *sat)
{
    v = zml_fflush(v);
    if (zml_fisnan(v))
        return 0;
    if (zml_fisnonfinite(v)) {
        *sat = 1;
        return (v & SIGN_BIT) ? INT32_MIN : INT32_MAX;
    }
    int64_t r = q823_round(v);
    if (r > INT32_MAX) {
        *sat = 1;
        return INT32_MAX;
    }
    if (r < INT32_MIN) {
        *sat = 1;
        return INT32_MIN;
    }
    return (int32_t)r;
}

int32_t zml_smp2fix(uint32_t v, int *err)
{
    v = zml_fflush(v);
    if (zml_fisnonfinite(v)) {
        *err = 1;
        return 0;
    }
    int64_t r = q823_round(v);
    if (r > INT32_MAX || r < INT32_MIN) {
        *err = 1;
        return 0;
    }
    return (int32_t)r;
}

uint32_t zml_plan(uint32_t z)
{
    if (zml_fisnan(z))
        return ZML_F32_QNAN;
    uint32_t u = zml_fflush(z & ~SIGN_BIT); /* |z|: comparisons below are on a non-negative
                                               non-NaN value, so unsigned order = value order */
    uint32_t h;
    if (u >= F32_5_0)
        h = ZML_F32_ONE;
    else if (u >= F32_2_375)
        h = zml_fadd(zml_fmul(u, F32_0_03125), F32_0_84375);
    else if (u >= ZML_F32_ONE)
        h = zml_fadd(zml_fmul(u, F32_0_125), F32_0_625);
    else
        h = zml_fadd(zml_fmul(u, F32_0_25), F32_0_5);
    return zml_flt(z, 0) ? zml_fsub(ZML_F32_ONE, h) : h;
}
