/*
 * cross: captures a fixture for elfmaps' offline tests on another
 * architecture (run under qemu-user, see README.md).
 *
 *     cross MAPS_OUT TRUTH_OUT LIB.so...
 *
 * dlopens each library, touches some bss, then writes what the loader says
 * (dl_iterate_phdr, same line format as testdata/shapes) to TRUTH_OUT and a
 * copy of its own /proc/self/maps to MAPS_OUT.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "cross.h"

typedef unsigned long long ull;

static char main_bss[4 * 4096] __attribute__((aligned(4096)));
static const char *main_rodata = "rodata of cross";
static FILE *out;

static void die(const char *what)
{
	fprintf(stderr, "cross: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int report_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	int *index = data;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name = info->dlpi_name;
	char buf[PATH_MAX];

	(void)size;
	if (vdso && (uintptr_t)info->dlpi_phdr == vdso + ((const ElfW(Ehdr) *)vdso)->e_phoff) {
		fprintf(out, "NOTE skipped the vdso (%s) at 0x%llx\n", name, (ull)info->dlpi_addr);
		return 0;
	}
	if ((uintptr_t)info->dlpi_phdr == getauxval(AT_PHDR)) {
		if (!realpath("/proc/self/exe", buf))
			die("realpath /proc/self/exe");
		name = buf;
	} else if (!name || !name[0]) {
		name = "?";
	}
	/* The name is the loader's (a guest path); the maps line names the file. */
	fprintf(out, "OBJ %d 0x%llx %d %s\n", *index, (ull)info->dlpi_addr, info->dlpi_phnum, name);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		fprintf(out, "PH %d %d 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx\n", *index, i,
			(ull)ph->p_type, (ull)ph->p_flags, (ull)ph->p_offset,
			(ull)ph->p_vaddr, (ull)ph->p_filesz, (ull)ph->p_memsz);
	}
	++*index;
	return 0;
}

/* One read of /proc/self/maps, written out unchanged. */
static void copy_maps(const char *dst)
{
	static char buf[1 << 20];
	size_t n = 0, r;
	FILE *in = fopen("/proc/self/maps", "r"), *o;

	if (!in)
		die("/proc/self/maps");
	while ((r = fread(buf + n, 1, sizeof buf - n, in)) > 0)
		n += r;
	fclose(in);
	o = fopen(dst, "w");
	if (!o || fwrite(buf, 1, n, o) != n || fclose(o))
		die(dst);
}

int main(int argc, char **argv)
{
	unsigned long page = sysconf(_SC_PAGESIZE);
	int index = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: cross MAPS_OUT TRUTH_OUT LIB.so...\n");
		return 2;
	}
	out = fopen(argv[2], "w");
	if (!out)
		die(argv[2]);
	fprintf(out, "INFO ptrbits=%d page=%lu libc=glibc link=dynamic\n",
		(int)(8 * sizeof(void *)), page);
	for (int i = 3; i < argc; i++) {
		void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
		struct lib_info li;
		lib_info_fn fn;

		if (!h) {
			fprintf(stderr, "cross: dlopen %s: %s\n", argv[i], dlerror());
			return 1;
		}
		fn = (lib_info_fn)dlsym(h, "lib_info");
		if (!fn) {
			fprintf(stderr, "cross: %s: no lib_info\n", argv[i]);
			return 1;
		}
		fn(&li);
		/* Write every 4th page of the bss. */
		for (unsigned long o = 0; o < li.bss_len; o += 4 * page)
			((volatile char *)li.bss)[o] = 1;
		fprintf(out, "LIB %s %s text=%p rodata=%p relro=%p data=%p bss=%p+0x%lx\n",
			li.name, argv[i], (void *)li.text, (void *)li.rodata, (void *)li.relro,
			li.data, li.bss, li.bss_len);
	}
	main_bss[sizeof main_bss / 2] = (char)main_rodata[0];
	fprintf(out, "NOTE main_bss=%p main_rodata=%p\n", (void *)main_bss, (void *)main_rodata);
	dl_iterate_phdr(report_cb, &index);
	copy_maps(argv[1]);
	if (fclose(out))
		die(argv[2]);
	return 0;
}
