/*
 * wx: a real W+X executable for tests/layout.rs, linked with -Wl,-N (--omagic):
 * text, rodata, data and bss share one RWX PT_LOAD whose file offset is not page
 * aligned, and the ELF headers are in no PT_LOAD.
 *
 * glibc cannot be linked this way on Debian 12: its static start code needs
 * __ehdr_start, which ld leaves undefined when the headers are not loaded. So there
 * is no C library: _start is here and talks to the kernel directly (x86-64).
 *
 * Build: cc -O0 -g0 -nostdlib -static -fno-pie -no-pie -fno-stack-protector \
 *           -Wl,-N -Wl,--no-warn-rwx-segments -o wx wx.c
 *
 * Writes "READY", waits until its standard input ends, exits 0.
 */

#if !defined(__x86_64__)
#error "wx.c makes x86-64 system calls"
#endif

static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}

static const char ready[] = "READY\n"; /* .rodata */
int data = 1;                          /* .data */
static char bss[100000];               /* .bss: pages past the end of the file */
__thread int tls = 2;                  /* PT_TLS */

void _start(void)
{
    char buf[16];
    bss[sizeof bss - 1] = (char)(data + tls * 0);
    sys3(1 /* write */, 1, (long)ready, sizeof ready - 1);
    while (sys3(0 /* read */, 0, (long)buf, sizeof buf) > 0) {
    }
    sys3(60 /* exit */, 0, 0, 0);
    for (;;) {
    }
}
