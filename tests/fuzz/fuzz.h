/*
 * fuzz.h - shared by the libFuzzer targets of common/'s parsers.
 *
 * Each target feeds the fuzzer's bytes to one parser and checks, besides
 * "no crash, no sanitizer report", what the parser promises about any value
 * it accepts. A broken promise aborts, which libFuzzer reports with the input.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

/* The input as a C string: up to its first NUL byte. Freed by the caller. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#define PROMISE(cond)                                                                       \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "broken promise: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
