"""cffi build script of the C engine extension ``zipml._zipml_c``.

Used by ``setup.py`` (``cffi_modules=["zipml/_cffi_build.py:ffibuilder"]``); can also be run
directly (``python zipml/_cffi_build.py``) to build the extension in place.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CMODEL = ROOT / "cmodel"
SOURCES = ["zipml_fp.c", "zipml_engine.c"]

CDEF = """
uint32_t zml_fadd(uint32_t a, uint32_t b);
uint32_t zml_fsub(uint32_t a, uint32_t b);
uint32_t zml_fmul(uint32_t a, uint32_t b);
uint32_t zml_fneg(uint32_t a);
uint32_t zml_fix2flt(int64_t a, unsigned frac);
int32_t zml_flt2fix(uint32_t v, int *sat);
int32_t zml_smp2fix(uint32_t v, int *err);
uint32_t zml_plan(uint32_t z);

void zml_fadd_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n);
void zml_fsub_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n);
void zml_fmul_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n);
void zml_fix2flt_array(const int64_t *a, const uint32_t *frac, uint32_t *out, size_t n);
void zml_flt2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n);
void zml_smp2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n);
void zml_plan_array(const uint32_t *z, uint32_t *out, size_t n);
"""

ENGINE_CDEF = """
typedef struct {
    uint32_t bits;
    uint32_t max_dim;
    uint32_t fifo_words;
    uint32_t mode;
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

typedef struct {
    uint32_t error;
    uint32_t error_info;
    uint32_t sat;
    uint32_t staleness;
    uint32_t epoch_count;
    uint32_t sample_count;
} zml_status;

#define ZML_API_OK ...
#define ZML_API_BAD_BITS ...
#define ZML_API_BAD_MAX_DIM ...
#define ZML_API_NULL ...
#define ZML_API_STREAM_LENGTH ...
#define ZML_API_NUM_BUFFERS ...
#define ZML_API_MODEL_INIT ...
#define ZML_API_MODELS_LENGTH ...
#define ZML_API_NO_MEMORY ...

int zml_check_setup(const zml_config *cfg);
uint32_t zml_config_error(const zml_config *cfg, uint32_t *staleness);
uint64_t zml_epoch_words(const zml_config *cfg);
int zml_run(const zml_config *cfg, const uint64_t *stream, size_t stream_words,
            uint32_t num_buffers, const int32_t *model_init, size_t model_init_len,
            int32_t *models, size_t models_len, zml_status *status);
const char *zml_api_error_text(int code);
"""

ARRAY_SRC = r"""
#include "zipml_fp.h"
#include "zipml_engine.h"

void zml_fadd_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fadd(a[i], b[i]); }
void zml_fsub_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fsub(a[i], b[i]); }
void zml_fmul_array(const uint32_t *a, const uint32_t *b, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fmul(a[i], b[i]); }
void zml_fix2flt_array(const int64_t *a, const uint32_t *frac, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_fix2flt(a[i], frac[i]); }
void zml_flt2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n)
{ for (size_t i = 0; i < n; i++) { int f = 0; out[i] = zml_flt2fix(v[i], &f); flag[i] = (uint8_t)f; } }
void zml_smp2fix_array(const uint32_t *v, int32_t *out, uint8_t *flag, size_t n)
{ for (size_t i = 0; i < n; i++) { int f = 0; out[i] = zml_smp2fix(v[i], &f); flag[i] = (uint8_t)f; } }
void zml_plan_array(const uint32_t *z, uint32_t *out, size_t n)
{ for (size_t i = 0; i < n; i++) out[i] = zml_plan(z[i]); }
"""


def _compile_args() -> list[str]:
    args = ["-O3", "-std=c99", "-Wall"]
    if os.environ.get("ZIPML_CFLAGS"):
        args += os.environ["ZIPML_CFLAGS"].split()
    return args


ffibuilder = FFI()
ffibuilder.cdef(CDEF + ENGINE_CDEF)
ffibuilder.set_source(
    "zipml._zipml_c",
    ARRAY_SRC,
    # setuptools wants paths relative to setup.py; a direct build (tmpdir) needs absolute ones
    sources=[f"cmodel/{s}" if Path.cwd() == ROOT else str(CMODEL / s) for s in SOURCES],
    include_dirs=[str(CMODEL)],
    extra_compile_args=_compile_args(),
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(ROOT / "build" / "cffi"), verbose=True)
    print("machine:", platform.machine())
