/* Float32 stage of the ZipML engine (docs/ENGINE.md sections 2.2, 2.3 and 5.3).
 *
 * Every value is a binary32 bit pattern held in a uint32_t. The operations follow the rules of
 * the Xilinx Floating-Point Operator without subnormal support, as ENGINE.md 2.2 states them:
 * subnormal inputs are read as zero of the same sign, results are rounded to 24 bits (round to
 * nearest, ties to even, unbounded exponent), then flushed to signed zero below 2^-126 and turned
 * into infinity at 2^128 or more; every NaN result is 0x7FC00000.
 *
 * All rounding and flushing is integer code: the results do not depend on the platform's
 * floating-point environment (rounding mode, FTZ/DAZ), so x86-64 and 32-bit ARM agree bit for
 * bit.
 */
#ifndef ZIPML_FP_H
#define ZIPML_FP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZML_F32_QNAN 0x7FC00000u   /* the one NaN the FP stage produces */
#define ZML_F32_ONE 0x3F800000u    /* 1.0 */
#define ZML_F32_MONE 0xBF800000u   /* -1.0 */

/* a + b (ENGINE.md 2.2). */
uint32_t zml_fadd(uint32_t a, uint32_t b);
/* a - b = fadd(a, neg(b)). */
uint32_t zml_fsub(uint32_t a, uint32_t b);
/* a * b. */
uint32_t zml_fmul(uint32_t a, uint32_t b);
/* -a: flips the sign bit, nothing else (exact, also for NaN and subnormals). */
uint32_t zml_fneg(uint32_t a);

/* The value after input flushing: subnormals become zero of the same sign. */
uint32_t zml_fflush(uint32_t a);
/* 1 if a is NaN. */
int zml_fisnan(uint32_t a);
/* 1 if a is NaN or infinite. */
int zml_fisnonfinite(uint32_t a);
/* Comparisons on flushed values: -0 == +0, NaN compares false. */
int zml_feq(uint32_t a, uint32_t b);
int zml_flt(uint32_t a, uint32_t b);
/* a > 0 (false for zeros, subnormals and NaN). */
int zml_fgtz(uint32_t a);

/* fix2flt(A, F): nearest binary32 to A * 2^-F with the rules of 2.2 (exact zero -> +0).
 * frac may be 0..1000; larger exponents simply flush. */
uint32_t zml_fix2flt(int64_t a, unsigned frac);

/* flt2fix(v): Q8.23 (v * 2^23 rounded to nearest even, then sat32). Subnormal and NaN -> 0,
 * +inf -> 2^31-1, -inf -> -2^31. *sat is set to 1 when the result saturated (including
 * infinities), else left unchanged (sticky flag). */
int32_t zml_flt2fix(uint32_t v, int *sat);

/* smp2fix(v): Q8.23 conversion of a Q0 sample. Returns 0 and sets *err = 1 for NaN, infinities
 * and values whose rounded v * 2^23 lies outside [-2^31, 2^31-1]; otherwise *err is left
 * unchanged. */
int32_t zml_smp2fix(uint32_t v, int *err);

/* plan(z): the PLAN piecewise-linear sigmoid of ENGINE.md 5.3. plan(NaN) = NaN (the engine
 * never passes a NaN; ENGINE.md leaves that case open). */
uint32_t zml_plan(uint32_t z);

#ifdef __cplusplus
}
#endif

#endif /* ZIPML_FP_H */
