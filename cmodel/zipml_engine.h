/* The ZipML SGD engine in C: the executable form of docs/ENGINE.md.
 *
 * One call of zml_run() is one engine run (CTRL.START .. DONE): configuration check (7.4),
 * NUM_EPOCHS epochs over the sample stream with the delayed-update schedule of section 6 in its
 * sequential form, label handling (4), dot product, scalar step and update (5), data errors,
 * SAT, STALENESS, EPOCH_COUNT and SAMPLE_COUNT.
 *
 * The C engine has no stream framing: CHUNK_SAMPLES, tlast and the tlast errors (7.5) do not
 * apply; the stream is one array of 64-bit words per epoch (or one array reused by every
 * epoch). It never reads or writes outside the buffers it is given: it receives their lengths
 * and checks them before it touches them.
 */
#ifndef ZIPML_ENGINE_H
#define ZIPML_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "zipml_spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the host writes into the parameter registers, plus the build parameters of the engine
 * (bits = G_BITS, max_dim = MAX_DIM, fifo_words = FIFO_WORDS). Float parameters are binary32
 * bit patterns; mode is the MODE register word. */
typedef struct {
    uint32_t bits;        /* engine precision: 0 (float32), 1, 2, 4, 8 */
    uint32_t max_dim;     /* MAX_DIM, 1 .. ZML_MAX_DIM_LIMIT */
    uint32_t fifo_words;  /* FIFO_WORDS */
    uint32_t mode;        /* MODE register */
    uint32_t num_samples;
    uint32_t num_features;
    uint32_t num_epochs;
    uint32_t step_size;
    uint32_t step_decay;
    uint32_t cost_pos;
    uint32_t cost_neg;
    uint32_t reg_shift;
    uint32_t binarize_value;
    uint32_t delay;
} zml_config;

/* The status registers at the end of a run. */
typedef struct {
    uint32_t error;        /* STATUS.ERROR (ZML_ERR_*) */
    uint32_t error_info;   /* ERROR_INFO: sample index within the epoch of a data error */
    uint32_t sat;          /* STATUS.SAT */
    uint32_t staleness;    /* STALENESS: S_d computed from the registers at START */
    uint32_t epoch_count;  /* EPOCH_COUNT: epochs completed */
    uint32_t sample_count; /* SAMPLE_COUNT: samples taken without error, all epochs */
} zml_status;

/* API errors (misuse of the C interface, not engine errors): negative return values. */
#define ZML_API_OK 0
#define ZML_API_BAD_BITS (-1)        /* bits not in {0, 1, 2, 4, 8} */
#define ZML_API_BAD_MAX_DIM (-2)     /* max_dim not in 1 .. ZML_MAX_DIM_LIMIT */
#define ZML_API_NULL (-3)            /* a required pointer is NULL */
#define ZML_API_STREAM_LENGTH (-4)   /* stream_words != num_buffers * epoch words */
#define ZML_API_NUM_BUFFERS (-5)     /* num_buffers is neither 1 nor num_epochs */
#define ZML_API_MODEL_INIT (-6)      /* model_init shorter than num_features */
#define ZML_API_MODELS_LENGTH (-7)   /* models shorter than num_epochs * num_features */
#define ZML_API_NO_MEMORY (-8)       /* working memory could not be allocated */
#define ZML_API_LOSS_LENGTH (-9)     /* epoch_loss shorter than num_epochs */

/* Check the build parameters (bits, max_dim): ZML_API_OK or a ZML_API_* code. */
int zml_check_setup(const zml_config *cfg);

/* The configuration error code START would report (ENGINE.md 7.4, same checks and precedence as
 * zipml/config.py EngineConfig.config_error); 0 when valid. *staleness (may be NULL) receives
 * S_d of section 6 computed from the registers (also when the configuration is invalid).
 * cfg must pass zml_check_setup. */
uint32_t zml_config_error(const zml_config *cfg, uint32_t *staleness);

/* Words of one epoch, n * W (section 3.1); 0 when num_features is 0. */
uint64_t zml_epoch_words(const zml_config *cfg);

/* One engine run.
 *
 * stream: num_buffers consecutive epoch buffers of zml_epoch_words() words each
 *         (stream_words in total); num_buffers = 1 (the buffer is streamed every epoch) or
 *         num_epochs (buffer e is epoch e).
 * model_init: with MODE.KEEP_MODEL, the model at START (model_init_len >= num_features), or
 *         NULL for a zero model; ignored without KEEP_MODEL.
 * models: receives the model after every completed epoch, row e at models[e * d]
 *         (models_len >= num_epochs * num_features); rows of epochs not completed are not
 *         written.
 * status: the status registers at the end of the run.
 *
 * Returns ZML_API_OK when the run took place (its outcome, including configuration and data
 * errors, is in *status), or a negative ZML_API_* code when the call itself is malformed (then
 * nothing was read or written except *status, which is zeroed). A configuration error is
 * reported before the buffer lengths are checked (the engine takes no stream word then). */
int zml_run(const zml_config *cfg, const uint64_t *stream, size_t stream_words,
            uint32_t num_buffers, const int32_t *model_init, size_t model_init_len,
            int32_t *models, size_t models_len, zml_status *status);

/* zml_run, and the progressive training loss of every completed epoch (ENGINE.md section 11):
 * epoch_loss[e] = the sum over the samples of epoch e of the loss at the margin the engine
 * computed for the sample (before its own update), in binary64 (epoch_loss_len >= num_epochs;
 * epoch_loss NULL: not computed, as zml_run). An extension of the C engine: the RTL has no
 * such register. */
int zml_run_loss(const zml_config *cfg, const uint64_t *stream, size_t stream_words,
                 uint32_t num_buffers, const int32_t *model_init, size_t model_init_len,
                 int32_t *models, size_t models_len, double *epoch_loss, size_t loss_len,
                 zml_status *status);

/* Text of a ZML_API_* code. */
const char *zml_api_error_text(int code);

#ifdef __cplusplus
}
#endif

#endif /* ZIPML_ENGINE_H */
