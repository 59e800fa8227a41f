/* A parent that reboots the machine. */
#include <sys/reboot.h>
#include <unistd.h>

#include "lab.h"

int main(int argc, char *argv[])
{
    struct container c;

    lab_start(&c, argc, argv);
    say("clone(no new namespace): the child is pid 0 on the host");
    sync();
    reboot(RB_AUTOBOOT);
    return 0;
}
