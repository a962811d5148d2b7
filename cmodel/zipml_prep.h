/* Host data preparation in C: from the user's matrix to the engine's DMA stream in one pass.
 *
 * What zipml/data.py (normalize, add_bias), zipml/quantize.py (quantize) and zipml/pack.py
 * (pack) define in numpy, fused per sample and written straight into the caller's stream
 * buffer (on a board, a pynq.allocate array): normalisation (per column with given statistics,
 * or per row), the bias column, the label word, nearest or stochastic rounding to b-bit codes
 * (double sampling: two copies) and the packing of docs/ENGINE.md section 3. Results are
 * bit-identical to the numpy path (the tests keep it as the reference): every step uses the
 * same binary64 operations in the same order, rounded to binary32 where numpy rounds.
 *
 * Inputs are float32 or float64 matrices with any element strides (C or Fortran order, views),
 * read in place: no converted copy. A float64 value is first rounded to float32 (as numpy's
 * astype(float32)); one beyond the float32 range is an error, not an infinity.
 *
 * Also here: per-column or per-row minimum and maximum (the normalisation statistics), and the
 * dot products of the rows (normalised on the fly, bias included) with k models in binary64,
 * which serve losses, accuracy and predictions without a float64 copy of the data.
 *
 * Errors are reported in a zml_prep_error: what (ZML_PREP_E_*), the row and column of the
 * *source* matrix (the first bad element in row-major order) and the offending value.
 */
#ifndef ZIPML_PREP_H
#define ZIPML_PREP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZML_PREP_ABI 1

/* element types */
#define ZML_PREP_F32 0
#define ZML_PREP_F64 1

/* normalisation */
#define ZML_PREP_NORM_NONE 0
#define ZML_PREP_NORM_COL 1 /* (clip(x, lo_j, hi_j) - lo_j) / (hi_j - lo_j), given lo, hi */
#define ZML_PREP_NORM_ROW 2 /* (x - min_i) / (max_i - min_i), statistics of the row itself */

/* rounding to codes */
#define ZML_PREP_NEAREST 0
#define ZML_PREP_STOCHASTIC 1

/* error codes */
#define ZML_PREP_OK 0
#define ZML_PREP_E_NONFINITE 1   /* NaN or infinity in the data */
#define ZML_PREP_E_F32_RANGE 2   /* float64 value beyond the float32 range */
#define ZML_PREP_E_Q0_RANGE 3    /* Q0 value outside [-256, 256) (smp2fix, ENGINE.md 2.3) */
#define ZML_PREP_E_QB_RANGE 4    /* value outside [0, 1] / [-1, 1] for b-bit codes */
#define ZML_PREP_E_LABEL 5       /* label not a finite float32 */
#define ZML_PREP_E_ARGS 6        /* malformed call (NULL pointer, bad sizes, bad option) */

/* A matrix read in place: element (i, j) at data + i * row_stride + j * col_stride elements. */
typedef struct {
    const void *data;
    uint32_t dtype; /* ZML_PREP_F32 / ZML_PREP_F64 */
    int64_t row_stride;
    int64_t col_stride;
    uint64_t rows;
    uint64_t cols;
} zml_matrix;

typedef struct {
    uint32_t code;  /* ZML_PREP_E_* */
    uint64_t row;   /* source row (label: source index) */
    uint64_t col;   /* source column (before the bias column is added) */
    double value;   /* the offending value as read (float64 input: the float64 value) */
} zml_prep_error;

/* Normalisation applied on the fly by zml_pack_rows and zml_dot_rows. */
typedef struct {
    uint32_t mode;        /* ZML_PREP_NORM_* */
    uint32_t to_min1_1;   /* target range [-1, 1] instead of [0, 1] */
    const double *lo;     /* NORM_COL: per-column minimum (cols entries) */
    const double *hi;     /* NORM_COL: per-column maximum */
    uint32_t add_bias;    /* prepend the bias column (value 1.0) */
    uint32_t in_range;    /* NORM_COL: every value lies in [lo_j, hi_j] (the statistics are
                           * of these very data), so the clip to them is skipped */
    uint32_t checked;     /* every element was checked by zml_minmax (finite, within
                           * float32): not checked again */
} zml_norm;

/* Per-column (axis 0, lo/hi have cols entries) or per-row (axis 1, rows entries) minimum and
 * maximum of the float32 values of X (float64 input rounded to float32 first). Checks every
 * element: NaN/infinity (E_NONFINITE) and float64 beyond float32 (E_F32_RANGE). An empty
 * reduction gives 0. Returns ZML_PREP_OK or an error code (also in *err). */
int zml_minmax(const zml_matrix *X, uint32_t axis, double *lo, double *hi, zml_prep_error *err);

/* The state of numpy's PCG64 bit generator (bit_generator.state["state"]: 128-bit state and
 * increment, as high and low 64-bit halves): element k of the uniform sequence of stochastic
 * rounding is the k-th Generator.random() draw from this state. */
typedef struct {
    uint64_t state_hi, state_lo;
    uint64_t inc_hi, inc_lo;
} zml_pcg64;

/* Pack output samples r0 .. r1-1 of the stream.
 *
 * Output sample i is source row order[i] of X (order NULL: row i), normalised by *norm, with
 * the bias column when norm->add_bias (d = cols + add_bias values per sample), then for
 * bits = 0 written as float32 (must be in [-256, 256)), for bits > 0 quantized to codes
 * 0 .. L = 2^(bits-1) of the range [0, 1] (sgn = 0) or [-1, 1] (sgn = 1); values may lie
 * outside the range by at most tol and are clipped (beyond: E_QB_RANGE).
 * Rounding: NEAREST (half to even) or STOCHASTIC with k = floor(pos) + (u < frac(pos)), where
 * u of output element (i, j) is element i * d + j of the uniform sequence of *rng (row-major,
 * bias column included: numpy's Generator.random filling an (n, d) array). With
 * double_sampling a second copy is quantized with elements (rows_out + i) * d + j (the same
 * generator continued, as zipml.quantize.double_sample draws it) and written after the first.
 * The label of output sample i is y[order[i]] (y NULL: 0) rounded to float32; with
 * label_check it must be finite (E_LABEL).
 *
 * stream: the whole epoch buffer, stream_words = rows_out * W words (W of ENGINE.md 3.1); only
 * the words of samples r0 .. r1-1 are written. sumsq (may be NULL): receives the sum over the
 * written samples of ||a_i||^2, a_i the float32 values after normalisation (bias included),
 * accumulated in binary64 (the auto step size rule). Errors name the source row.
 * On an error nothing is guaranteed about the words of this call's samples. */
int zml_pack_rows(const zml_matrix *X, const int64_t *order, uint64_t rows_out, uint64_t r0,
                  uint64_t r1, const zml_norm *norm, uint32_t bits, uint32_t sgn,
                  uint32_t rounding, double tol, const zml_pcg64 *rng,
                  uint32_t double_sampling, const double *y, uint32_t label_check,
                  uint64_t *stream, size_t stream_words, double *sumsq, zml_prep_error *err);

/* zml_pack_rows the other way round, for data that arrive in chunks (a file): row r of X goes
 * to output sample dest[r] (dest NULL: first + r) with label y[r]; everything else as
 * zml_pack_rows. Errors name the row of X. */
int zml_pack_scatter(const zml_matrix *X, const int64_t *dest, uint64_t first,
                     uint64_t rows_out, const zml_norm *norm, uint32_t bits, uint32_t sgn,
                     uint32_t rounding, double tol, const zml_pcg64 *rng,
                     uint32_t double_sampling, const double *y, uint32_t label_check,
                     uint64_t *stream, size_t stream_words, double *sumsq, zml_prep_error *err);

/* The normalised float32 values of rows r0 .. r1-1 of X without the bias column (norm->add_bias
 * must be 0): out[(i - r0) * out_stride + j]. out may be X itself (float32, same layout): each
 * row is read completely before it is written. */
int zml_normalize_rows(const zml_matrix *X, uint64_t r0, uint64_t r1, const zml_norm *norm,
                       float *out, int64_t out_stride, zml_prep_error *err);

/* Column statistics of sparse rows (CSR: the entries of row i are cols/vals[rowptr[i] ..
 * rowptr[i+1] - 1], rowptr absolute): for columns 0 .. d-1, lo/hi are updated with the
 * explicit values (min/max, in place) and count[j] counts them; the implicit zeros are the
 * caller's (a column with fewer entries than rows also holds 0). Entries with a column >= d
 * are an error (E_ARGS, row and column named). */
int zml_csr_colstats(const int64_t *rowptr, const int32_t *cols, const float *vals,
                     uint64_t n_rows, uint64_t d, double *lo, double *hi, uint64_t *count,
                     zml_prep_error *err);

/* Dot products of the normalised rows r0 .. r1-1 of X (bias included when norm->add_bias, as
 * zml_pack_rows builds them, float32 values) with k models (models[c * d + j], d = cols +
 * add_bias), in binary64: out[(i - r0) * k + c]. */
int zml_dot_rows(const zml_matrix *X, uint64_t r0, uint64_t r1, const zml_norm *norm,
                 const double *models, uint32_t k, double *out, zml_prep_error *err);

/* Dot products of packed samples with k models: the values the engine takes (Q0 float32, or
 * b-bit codes as k/L or (2k-L)/L; the first copy with double sampling) in binary64.
 * out[i * k + c] for the n samples of one epoch buffer of words_per_sample W. Labels (float32
 * of the label words) go to labels[i] when labels is not NULL. */
int zml_dot_stream(const uint64_t *stream, size_t stream_words, uint64_t n, uint32_t d,
                   uint32_t bits, uint32_t sgn, uint32_t double_sampling,
                   const double *models, uint32_t k, double *out, float *labels);

#ifdef __cplusplus
}
#endif

#endif /* ZIPML_PREP_H */
