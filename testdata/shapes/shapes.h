/* Shared between shapes.c and the shape libraries (see README.md). */
#ifndef SHAPES_H
#define SHAPES_H

/* Addresses of one library's parts, filled in by its shape_info(). */
struct shape_info {
	const char *name;
	const void *text;       /* a function: in the executable PT_LOAD        */
	const void *rodata;     /* a string: in the read-only PT_LOAD           */
	const void *relro;      /* a const pointer table: in .data.rel.ro       */
	void *data;             /* initialised data                            */
	unsigned long data_len;
	void *bss;              /* page-aligned zeroed array                    */
	unsigned long bss_len;
};

typedef void (*shape_info_fn)(struct shape_info *out);

void shape_info(struct shape_info *out);

#endif
