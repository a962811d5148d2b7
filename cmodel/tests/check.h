/* What the C unit tests share: CHECK (counts checks and failures, prints the failed
 * condition with a message) and a xorshift64* generator (rnd64) seeded by RNG_SEED. */
#ifndef ZIPML_TESTS_CHECK_H
#define ZIPML_TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        checks++;                                                                              \
        if (!(cond)) {                                                                         \
            failures++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

static uint64_t rng_state = RNG_SEED;
static uint64_t rnd64(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

#endif /* ZIPML_TESTS_CHECK_H */
