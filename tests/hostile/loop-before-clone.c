/* A parent that never gets as far as clone(2). */
#include "lab.h"

int main(int argc, char *argv[])
{
    struct container c;
    volatile unsigned long n = 0;

    lab_start(&c, argc, argv);
    for (;;)
        n++;
}
