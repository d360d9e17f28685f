/*
 * stale: ground truth for offline analysis against a sysroot (see README.md).
 *
 * Dlopens each library named on the command line and calls its
 * stale_lib_touch(), prints what the loader says (dl_iterate_phdr) in the
 * report format of testdata/shapes/README.md, then blocks on stdin until EOF.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#define BODY(name) exe_##name
#include "body.h"

typedef unsigned long long ull;

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("stale: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
		printf("NOTE skipped the vdso (%s) at 0x%llx\n", name, (ull)info->dlpi_addr);
		return 0;
	}
	if ((uintptr_t)info->dlpi_phdr == getauxval(AT_PHDR)) {
		if (!realpath("/proc/self/exe", buf))
			die("realpath /proc/self/exe: %s", strerror(errno));
		name = buf;
	} else if (name && name[0] && realpath(name, buf)) {
		name = buf;
	} else if (!name || !name[0]) {
		name = "?";
	}
	printf("OBJ %d 0x%llx %d %s\n", *index, (ull)info->dlpi_addr, info->dlpi_phnum, name);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		printf("PH %d %d 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx\n", *index, i,
		       (ull)ph->p_type, (ull)ph->p_flags, (ull)ph->p_offset,
		       (ull)ph->p_vaddr, (ull)ph->p_filesz, (ull)ph->p_memsz);
	}
	++*index;
	return 0;
}

int main(int argc, char **argv)
{
	uintptr_t vdso;
	char buf[256];
	int index = 0;
	int sum = exe_touch();

	printf("INFO ptrbits=%d page=%ld\n", (int)(8 * sizeof(void *)), sysconf(_SC_PAGESIZE));
	for (int i = 1; i < argc; i++) {
		void *h = dlopen(argv[i], RTLD_NOW);
		int (*touch)(void);

		if (!h)
			die("dlopen %s: %s", argv[i], dlerror());
		*(void **)&touch = dlsym(h, "stale_lib_touch");
		if (!touch)
			die("%s: no stale_lib_touch: %s", argv[i], dlerror());
		sum += touch();
		printf("LIB %s\n", argv[i]);
	}
	printf("NOTE sum %d\n", sum);
	vdso = getauxval(AT_SYSINFO_EHDR);
	if (vdso)
		printf("VDSO 0x%llx\n", (ull)vdso);
	dl_iterate_phdr(report_cb, &index);
	printf("READY\n");
	if (fflush(stdout) != 0)
		die("stdout: %s", strerror(errno));
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
