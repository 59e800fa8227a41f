/* No mount namespace: a tmpfs mounted over the root of the machine. */
#define _GNU_SOURCE
#include <sys/mount.h>

#include "lab.h"

int main(int argc, char *argv[])
{
    struct container c;

    lab_start(&c, argc, argv);
    say("clone(no new namespace): the child is pid 0 on the host");
    if (mount("hostile", "/", "tmpfs", 0, NULL) < 0)
        die("mount");
    return 0;
}
