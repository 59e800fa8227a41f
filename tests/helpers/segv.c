/*
 * segv - dies of a real segmentation fault. The harness runs it as a
 * container's PID 1: the kernel protects a namespace's init from every
 * signal it has no handler for, except SIGKILL and SIGSTOP from outside and
 * a fault of its own, like this one. Static: the rootfs has no libc.
 */
int main(void)
{
    volatile int *nowhere = (volatile int *)0;

    return *nowhere;
}
