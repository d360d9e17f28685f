/* Shared between cross.c and the cross libraries (see README.md). */
#ifndef CROSS_H
#define CROSS_H

struct lib_info {
	const char *name;
	const void *text;
	const void *rodata;
	const void *relro;
	void *data;
	void *bss;
	unsigned long bss_len;
};

typedef void (*lib_info_fn)(struct lib_info *out);

void lib_info(struct lib_info *out);

#endif
