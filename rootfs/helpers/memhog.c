/*
 * memhog - takes memory and touches it, for the lesson of step 10 (memory
 * limits): a container that needs more memory than its --memory is ended by
 * the kernel's OOM killer.
 *
 *     memhog MIB      allocates MIB mebibytes, 1 MiB at a time, writing
 *                     every page, then prints "took MIB MiB" and exits 0
 *
 * In a group whose memory.max (v2) or memory.limit_in_bytes (v1) is below
 * that, the kernel kills it with SIGKILL part of the way: the shell that ran
 * it sees status 137. Exit status 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char *argv[])
{
    char *end;
    long mib = argc == 2 ? strtol(argv[1], &end, 10) : 0;

    if (argc != 2 || *end || mib <= 0) {
        fprintf(stderr, "usage: memhog MIB\n");
        return 2;
    }
    for (long i = 0; i < mib; i++) {
        char *chunk = malloc(1 << 20);

        if (!chunk) {
            fprintf(stderr, "memhog: out of memory after %ld MiB\n", i);
            return 1;
        }
        memset(chunk, 1, 1 << 20); /* touched: counted against the group */
    }
    printf("took %ld MiB\n", mib);
    return 0;
}
