/*
 * Body of the stale program and of libstale: text, rodata, a relro table
 * (.data.rel.ro in position-independent code), data and bss, each several
 * pages, so that every segment has whole pages of its own in the maps.
 *
 * -DSTALE_MORE builds the same segments with more code: a rebuilt file whose
 * program headers have other sizes. -DSTALE_RODATA_PAD=N sets the size of the
 * read-only data (the tests tune it so that a rebuilt file's writable segment
 * starts in the same file page as the original's); -DSTALE_BSS_PAGES=N the
 * size of the bss in 4 KiB pages (default 4); -DSTALE_RELRO_PTRS=N adds N relocated
 * const pointers to the relro table (512: a RELRO one 4 KiB page longer).
 *
 * A file includes it after defining BODY(name), which makes its symbols
 * distinct (the executable's from the library's).
 */
#ifndef BODY
#error "define BODY(name) before including body.h"
#endif

#ifdef STALE_MORE
#define STALE_TEXT_PAD 0x5000
#else
#define STALE_TEXT_PAD 0x2000
#endif
#ifndef STALE_RODATA_PAD
#define STALE_RODATA_PAD 0x6000
#endif
#ifndef STALE_BSS_PAGES
#define STALE_BSS_PAGES 4
#endif
#define STALE_STR_(x) #x
#define STALE_STR(x) STALE_STR_(x)

/* Code that is never run: STALE_TEXT_PAD bytes of .text. */
__asm__(".pushsection .text\n\t.balign 16\n\t.skip " STALE_STR(STALE_TEXT_PAD) "\n\t.popsection");

/* .rodata, kept although nothing reads most of it. */
static const char BODY(rodata)[STALE_RODATA_PAD] __attribute__((used)) = { 'r', 'o' };
/* .data (initialised, so in the file), written at run time. */
static char BODY(data)[3 * 4096 + 100] = { 'd', 'a', 't', 'a' };
static int BODY(x) = 1, BODY(y) = 2;
/* Const pointers that need relocation in position-independent code: .data.rel.ro. */
static int *const BODY(relro)[] __attribute__((used)) = { &BODY(x), &BODY(y), (int *)BODY(data) };
#ifdef STALE_RELRO_PTRS
/* More relocated const pointers: a RELRO longer by STALE_RELRO_PTRS pointers. */
static int *const BODY(relro_more)[STALE_RELRO_PTRS] __attribute__((used)) = { &BODY(x) };
#endif
/* .bss, page aligned, written at run time. */
static char BODY(bss)[STALE_BSS_PAGES * 4096] __attribute__((aligned(4096)));

static int BODY(text)(int v)
{
	return v * 3 + BODY(x);
}

/* Writes to the data and to a page of the bss; returns a value read from each part. */
static int BODY(touch)(void)
{
	BODY(data)[4096] = (char)BODY(text)(BODY(y));
	BODY(bss)[4096] = 1;
	return BODY(rodata)[0] + *BODY(relro)[0] + BODY(data)[4096] + BODY(bss)[4096];
}
