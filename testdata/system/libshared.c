/* The library that every mapper of tests/system.rs loads: four pages of text (a pad
 * of `ret` instructions after the code), some rodata and data, and a bss. touch()
 * reads every page of the pad and writes the data, so those pages are resident in
 * every process that maps the library. */
#define PAGE 4096

__asm__(".text\n"
        ".p2align 12\n"
        ".globl shared_pad\n"
        "shared_pad:\n"
        ".fill 16384, 1, 0xc3\n");

extern const unsigned char shared_pad[];

static const char table[3 * PAGE] = "shared rodata";
static char data[2 * PAGE] = "shared data";
static char bss[4 * PAGE];

long touch(void) {
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        sum += shared_pad[i * PAGE];
    }
    sum += table[0] + table[PAGE] + table[2 * PAGE];
    data[PAGE] = 1;
    bss[0] = 1;
    return sum + data[0] + bss[PAGE];
}
