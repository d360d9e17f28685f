/*
 * Body of the cross libraries (see README.md): text, rodata, a relro table
 * (.data.rel.ro), initialised data and a page-aligned bss array. A library
 * source defines LIB_NAME, LIB_BSS_SIZE and LIB_DATA_SIZE and includes this.
 */
#include "cross.h"

/* .bss, page aligned so that every page of it is a pure bss page. */
static char lib_bss[LIB_BSS_SIZE] __attribute__((aligned(4096)));
/* .data (initialised, so it is in the file). */
static char lib_data[LIB_DATA_SIZE] = { 'c', 'r', 'o', 's', 's' };
static int lib_x = 1, lib_y = 2;
/* .rodata */
static const char lib_rodata[] = "rodata of " LIB_NAME;
/* .data.rel.ro: const pointers needing relocation, made read-only by RELRO. */
static int *const lib_relro[] = { &lib_x, &lib_y, (int *)lib_data };

static int lib_text(int v)
{
	return v * 3 + lib_x;
}

void lib_info(struct lib_info *out)
{
	out->name = LIB_NAME;
	out->text = (const void *)&lib_text;
	out->rodata = lib_rodata;
	out->relro = lib_relro;
	out->data = lib_data;
	out->bss = lib_bss;
	out->bss_len = sizeof lib_bss;
	lib_data[1] = (char)lib_text(lib_y);
}
