/* Fast libsvm text tokenizer used by zipml/data.py (cffi module zipml._libsvm).
 * See zipml_libsvm.c for the contract. */
#ifndef ZIPML_LIBSVM_H
#define ZIPML_LIBSVM_H

#include <stdint.h>

/* bump when the interface (functions, struct layout, codes) changes; zipml/data.py checks it */
#define ZML_LS_ABI 2

/* error codes (mirrored in zipml/data.py) */
#define ZML_LS_OK 0
#define ZML_LS_BAD_LABEL 1
#define ZML_LS_BAD_TOKEN 2
#define ZML_LS_BAD_INDEX 3
#define ZML_LS_INDEX_RANGE 4
#define ZML_LS_DUPLICATE 5
#define ZML_LS_NONFINITE_VALUE 6
#define ZML_LS_NONFINITE_LABEL 7
#define ZML_LS_MISSING_LABEL 8
#define ZML_LS_FLOAT32_RANGE 9
#define ZML_LS_BAD_QID 10
#define ZML_LS_CAPACITY 11
#define ZML_LS_NOMEM 12

typedef struct {
    int64_t n_rows;   /* samples parsed */
    int64_t nnz;      /* feature entries stored */
    int64_t max_col;  /* largest 0-based column seen, -1 if none */
    int64_t lines;    /* lines consumed */
    int64_t consumed; /* bytes consumed */
    int64_t err_line; /* 0-based line (within the buffer) of the error */
    int64_t err_pos;  /* byte offset of the offending token */
    int64_t err_len;  /* its length */
    int32_t err_code; /* ZML_LS_* */
} zml_parse_result;

int zml_libsvm_abi(void);
int zml_libsvm_init(void);

int zml_libsvm_parse(const char *buf, int64_t len, int zero_based, int64_t n_features,
                     int64_t max_rows, double *labels, int64_t *rowptr, int32_t *cols,
                     float *vals, int32_t *scratch, int64_t rows_cap, int64_t nnz_cap,
                     zml_parse_result *res);

void zml_libsvm_count(const char *buf, int64_t len, int64_t *newlines, int64_t *colons);

void zml_libsvm_fill(const int64_t *rowptr, const int32_t *cols, const float *vals,
                     int64_t n_rows, int64_t d, float *x);

#endif
