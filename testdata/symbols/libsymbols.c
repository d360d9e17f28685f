/* A shared library with functions and tables at known places, for `elfmaps symbols`
 * (tests/symbols.rs). The functions are written in assembly so that their sizes are
 * exact (`.size`) and their bodies are `ret` instructions (callable):
 *   .text.unlikely.x  cold_lead (16 pages), cold_one (4), cold_two (2, local),
 *                     cold_pad (16): the cold functions sit 64 KiB away from any
 *                     page this library touches, so fault-around (which maps the
 *                     cached pages of the 64 KiB block around a fault) never maps them;
 *   .text.hot.x       hot_one (3 pages, page-aligned), hot_two (1 page + 100 bytes).
 * GNU ld's default script puts .text.unlikely.* then .text.hot.* at the start of
 * .text. Read-only tables hot_table and cold_table (8 pages each, in .rodata) and a
 * 16-page bss_buf. symbols_touch() calls hot_one and hot_two, reads every page of
 * both, pages 0-3 of hot_table, writes pages 0 and 5 of bss_buf, prints
 * "SYM name start end" (hex) for each symbol, and last drops cold_one, cold_two and
 * cold_table from its page tables (MADV_DONTNEED): they are not resident, whatever
 * the page cache holds. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>

#define PAGE 4096

__asm__(".section .text.unlikely.x,\"ax\",@progbits\n"
        ".balign 4096\n"
        ".type cold_lead,@function\ncold_lead:\n.fill 16*4096,1,0xc3\n.size cold_lead, 16*4096\n"
        ".globl cold_one\n.type cold_one,@function\ncold_one:\n.fill 4*4096,1,0xc3\n"
        ".size cold_one, 4*4096\n"
        ".type cold_two,@function\ncold_two:\n.fill 2*4096,1,0xc3\n.size cold_two, 2*4096\n"
        ".type cold_pad,@function\ncold_pad:\n.fill 16*4096,1,0xc3\n.size cold_pad, 16*4096\n"
        ".section .text.hot.x,\"ax\",@progbits\n"
        ".balign 4096\n"
        ".globl hot_one\n.type hot_one,@function\nhot_one:\n.fill 3*4096,1,0xc3\n"
        ".size hot_one, 3*4096\n"
        ".globl hot_two\n.type hot_two,@function\nhot_two:\n.fill 4096+100,1,0xc3\n"
        ".size hot_two, 4096+100\n"
        ".text\n");

extern char cold_one[], cold_two[], hot_one[], hot_two[];

__attribute__((aligned(PAGE))) const unsigned char hot_table[8 * PAGE] = {1};
__attribute__((aligned(PAGE))) const unsigned char cold_table[8 * PAGE] = {2};
__attribute__((aligned(PAGE))) unsigned char bss_buf[16 * PAGE];

static volatile unsigned sink;

static void drop(const void *p, size_t len) {
    unsigned long a = (unsigned long)p & ~(unsigned long)(PAGE - 1);
    madvise((void *)a, len + ((unsigned long)p - a), MADV_DONTNEED);
}

static void show(const char *name, const void *p, size_t len) {
    printf("SYM %s 0x%lx 0x%lx\n", name, (unsigned long)p, (unsigned long)p + len);
}

void symbols_touch(void) {
    ((void (*)(void))hot_one)();
    ((void (*)(void))hot_two)();
    for (int k = 0; k < 3; k++)
        sink += ((volatile unsigned char *)hot_one)[k * PAGE];
    sink += ((volatile unsigned char *)hot_two)[PAGE];
    for (int k = 0; k < 4; k++)
        sink += ((const volatile unsigned char *)hot_table)[k * PAGE];
    bss_buf[0] = 1;
    bss_buf[5 * PAGE] = 1;
    show("hot_one", hot_one, 3 * PAGE);
    show("hot_two", hot_two, PAGE + 100);
    show("cold_one", cold_one, 4 * PAGE);
    show("cold_two", cold_two, 2 * PAGE);
    show("hot_table", hot_table, sizeof hot_table);
    show("cold_table", cold_table, sizeof cold_table);
    show("bss_buf", bss_buf, sizeof bss_buf);
    /* Last, so that no later fault maps them again: the page cache may hold the
     * whole file in one large folio, and a fault maps every cached page of the
     * folio (or fault-around block) it hits. Nothing of this library runs after
     * these calls but their return (its page is mapped). */
    drop(cold_one, 6 * PAGE);
    drop(cold_table, sizeof cold_table);
}
