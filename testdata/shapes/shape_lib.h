/*
 * Body of every shape library: some text, rodata, relro, data and bss.
 * A library source defines SHAPE_NAME (and optionally SHAPE_BSS_SIZE,
 * SHAPE_DATA_SIZE) and includes this file.
 */
#include "shapes.h"

#ifndef SHAPE_BSS_SIZE
#define SHAPE_BSS_SIZE (3 * 4096)
#endif
#ifndef SHAPE_DATA_SIZE
#define SHAPE_DATA_SIZE 64
#endif

/* .bss, page aligned so that every page of it is a pure bss page. */
static char shape_bss[SHAPE_BSS_SIZE] __attribute__((aligned(4096)));
/* .data (initialised, so it is in the file). */
static char shape_data[SHAPE_DATA_SIZE] = { 's', 'h', 'a', 'p', 'e' };
static int shape_x = 1, shape_y = 2;
/* .rodata */
static const char shape_rodata[] = "rodata of " SHAPE_NAME;
/* .data.rel.ro: const pointers needing relocation, made read-only by RELRO. */
static int *const shape_relro[] = { &shape_x, &shape_y, (int *)shape_data };

static int shape_text(int v)
{
	return v * 3 + shape_x;
}

void shape_info(struct shape_info *out)
{
	out->name = SHAPE_NAME;
	out->text = (const void *)&shape_text;
	out->rodata = shape_rodata;
	out->relro = shape_relro;
	out->data = shape_data;
	out->data_len = sizeof shape_data;
	out->bss = shape_bss;
	out->bss_len = sizeof shape_bss;
	shape_data[1] = (char)shape_text(shape_y);
}
