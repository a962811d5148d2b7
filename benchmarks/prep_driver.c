/* Driver for benchmarks/board_estimate.py: the host data path of one fit (column statistics,
 * then normalise + bias + quantize + pack) on an n x d float32 matrix at one precision, so
 * that valgrind --tool=callgrind can count the instructions of zml_minmax and zml_pack_rows
 * (--toggle-collect) in a portable build (-DZML_NO_CLONES: no AVX code, as on the ARM).
 * Usage: prep_driver N D BITS */
#include <stdio.h>
#include <stdlib.h>

#include "../cmodel/zipml_prep.h"

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    const uint64_t n = strtoull(argv[1], NULL, 10), m = strtoull(argv[2], NULL, 10);
    const uint32_t bits = (uint32_t)atoi(argv[3]);
    float *x = malloc(n * m * sizeof *x);
    double *y = malloc(n * sizeof *y), *lo = malloc(m * sizeof *lo), *hi = malloc(m * sizeof *hi);
    uint64_t s = 88172645463325252u;
    for (uint64_t i = 0; i < n * m; i++) { /* pixel-like values: about half zero */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = (s & 1) ? (float)(s >> 56) / 255.0f : 0.0f;
    }
    for (uint64_t i = 0; i < n; i++)
        y[i] = (double)(i % 10);
    const uint64_t d = m + 1, V = bits ? 64 / bits : 2, D = (d + V - 1) / V, W = D + 1;
    uint64_t *stream = malloc(n * W * sizeof *stream);
    zml_matrix X = {x, ZML_PREP_F32, (int64_t)m, 1, n, m};
    zml_prep_error err;
    if (zml_minmax(&X, 0, lo, hi, &err))
        return 1;
    zml_norm nm = {ZML_PREP_NORM_COL, 0, lo, hi, 1, 1, 1}; /* as ZipMLClassifier.fit: the
                                                          * statistics of these data */
    int rc = zml_pack_rows(&X, NULL, n, 0, n, &nm, bits, 0, ZML_PREP_NEAREST, 0.0, NULL, 0, y,
                           1, stream, n * W, NULL, &err); /* a given step: no sum of squares */
    printf("packed %llu words (rc %d)\n", (unsigned long long)(n * W), rc);
    free(x);
    free(y);
    free(lo);
    free(hi);
    free(stream);
    return rc;
}
