/* A parent that sends SIGKILL to every process it may signal. */
#include <signal.h>

#include "lab.h"

int main(int argc, char *argv[])
{
    struct container c;

    lab_start(&c, argc, argv);
    say("clone(no new namespace): the child is pid 0 on the host");
    kill(-1, SIGKILL);
    return 0;
}
