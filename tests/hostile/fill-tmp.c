/* A step that fills /tmp, then carries on as if nothing happened. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

int main(int argc, char *argv[])
{
    static char block[1 << 20];
    struct container c;
    int fd;

    lab_start(&c, argc, argv);
    say("clone(no new namespace): the child is pid 0 on the host");
    memset(block, 'x', sizeof(block));
    fd = open("/tmp", O_TMPFILE | O_WRONLY, 0600);
    if (fd >= 0) {
        while (write(fd, block, sizeof(block)) > 0)
            ;
        /* kept open: the space stays taken while the step lives */
        (void)linkat(fd, "", AT_FDCWD, "/tmp/hostile-fill", AT_EMPTY_PATH);
        close(fd);
    }
    return 0;
}
