/*
 * ipcmk - makes an IPC object, for the lesson of step 09 (the IPC namespace).
 * The rootfs's busybox has no ipcmk; this one takes util-linux's options,
 * and one of its own for POSIX message queues:
 *
 *     ipcmk -M SIZE [-k KEY] [-t]   a System V shared memory segment (-t: and
 *                                   touch every page of it, so that it holds
 *                                   SIZE bytes of memory until it is removed)
 *     ipcmk -S NSEMS [-k KEY]       a System V semaphore set
 *     ipcmk -Q [-k KEY]             a System V message queue
 *     ipcmk -P /NAME                a POSIX message queue (lab only)
 *
 * SIZE may end in k, m or g. KEY is a number (0x... for hex); without it the
 * object is private (IPC_PRIVATE), as with util-linux's ipcmk. It prints the
 * new object's id, as util-linux does ("Shared memory id: 3"), and leaves it
 * behind: in the container's IPC namespace it lives until the namespace goes.
 * /proc/sysvipc/{shm,sem,msg} and /dev/mqueue list them (ipcs reads those).
 *
 * Exit status: 0 when the object was made, 1 when it was not, 2 on a usage
 * error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr,
            "usage: ipcmk -M SIZE [-k KEY] [-t] | -S NSEMS [-k KEY] | -Q [-k KEY] | -P /NAME\n");
    return 2;
}

static int fail(const char *what)
{
    fprintf(stderr, "ipcmk: %s: %s\n", what, strerror(errno));
    return 1;
}

/* "64m" -> 67108864; 0 on a bad size. */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 0);

    switch (*end) {
    case 'k': case 'K': n <<= 10; end++; break;
    case 'm': case 'M': n <<= 20; end++; break;
    case 'g': case 'G': n <<= 30; end++; break;
    }
    return *end || end == s ? 0 : (size_t)n;
}

static int make_shm(key_t key, size_t size, int touch)
{
    int id = shmget(key, size, IPC_CREAT | IPC_EXCL | 0600);

    if (id < 0)
        return fail("shmget");
    if (touch) {
        char *mem = shmat(id, NULL, 0);

        if (mem == (void *)-1)
            return fail("shmat");
        for (size_t i = 0; i < size; i += 4096)
            mem[i] = 1;
        shmdt(mem);
    }
    printf("Shared memory id: %d\n", id);
    return 0;
}

int main(int argc, char *argv[])
{
    int opt, kind = 0, touch = 0, id;
    key_t key = IPC_PRIVATE;
    const char *value = NULL;
    mqd_t q;

    while ((opt = getopt(argc, argv, "M:S:QP:k:t")) != -1) {
        switch (opt) {
        case 'M': case 'S': case 'P':
            value = optarg;
            /* fall through */
        case 'Q':
            kind = opt;
            break;
        case 'k':
            key = (key_t)strtol(optarg, NULL, 0);
            break;
        case 't':
            touch = 1;
            break;
        default:
            return usage();
        }
    }
    switch (kind) {
    case 'M':
        if (!parse_size(value))
            return usage();
        return make_shm(key, parse_size(value), touch);
    case 'S':
        if ((id = semget(key, atoi(value), IPC_CREAT | IPC_EXCL | 0600)) < 0)
            return fail("semget");
        printf("Semaphore id: %d\n", id);
        return 0;
    case 'Q':
        if ((id = msgget(key, IPC_CREAT | IPC_EXCL | 0600)) < 0)
            return fail("msgget");
        printf("Message queue id: %d\n", id);
        return 0;
    case 'P':
        if ((q = mq_open(value, O_CREAT | O_EXCL | O_RDWR, 0600, NULL)) == (mqd_t)-1)
            return fail(value);
        mq_close(q);
        printf("POSIX message queue: %s\n", value);
        return 0;
    }
    return usage();
}
