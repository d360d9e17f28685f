/*
 * shapes: ground truth for elfmaps' tests. See README.md.
 *
 * Loads the shape libraries named on the command line (or found in a
 * directory), gives the address space some known shapes, prints what the
 * loader says (dl_iterate_phdr) and blocks on stdin until EOF.
 *
 * Built with -DSHAPES_STATIC (static executables), libbigbss.c is linked in
 * and nothing is dlopened.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef SHAPES_STATIC
#include <dlfcn.h>
#endif

#include "shapes.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Pages mapped after the bss of the merge target. */
#define MERGE_PAGES 4

static char main_bss[4 * 4096] __attribute__((aligned(4096)));
static uintptr_t page;

typedef unsigned long long ull;

static void note(const char *fmt, ...)
{
	va_list ap;

	fputs("NOTE ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("shapes: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uintptr_t pagedown(uintptr_t a) { return a & ~(page - 1); }
static uintptr_t pageup(uintptr_t a) { return pagedown(a + page - 1); }

/* Write one byte in each of n pages, stride bytes apart. */
static void touch_write(const char *label, char *start, unsigned long n, unsigned long stride)
{
	for (unsigned long i = 0; i < n; i++)
		((volatile char *)start)[i * stride] = 1;
	printf("TOUCH %s 0x%llx %lu 0x%lx\n", label, (ull)(uintptr_t)start, n, stride);
}

/* Read one byte in each of n pages: maps the shared zero page. */
static void touch_read(const char *label, char *start, unsigned long n, unsigned long stride)
{
	unsigned sum = 0;

	for (unsigned long i = 0; i < n; i++)
		sum += ((volatile char *)start)[i * stride];
	printf("READ %s 0x%llx %lu 0x%lx %u\n", label, (ull)(uintptr_t)start, n, stride, sum);
}

/* The bss pattern the tests expect: every other page of the first half
 * written, every 8th page of the second half read. */
static void touch_bigbss(const struct shape_info *bi)
{
	unsigned long pages = bi->bss_len / page;

	touch_write("bigbss", bi->bss, pages / 4, 2 * page);
	touch_read("bigbss", (char *)bi->bss + pages / 2 * page, pages / 16, 8 * page);
}

/* ---- finding the writable PT_LOAD holding an address ---- */

struct find {
	uintptr_t addr;
	uintptr_t end; /* pageup(bias + vaddr + memsz) of that PT_LOAD */
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find *f = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) &&
		    f->addr >= s && f->addr < s + ph->p_memsz) {
			f->end = pageup(s + ph->p_memsz);
			return 1;
		}
	}
	return 0;
}

/*
 * Maps MERGE_PAGES anonymous rw-p pages right after the writable PT_LOAD
 * holding probe, checks in /proc/self/maps that the kernel merged them
 * with the bss mapping, and reports
 * "MERGE <start> <len> <merged line start> <merged line end>".
 */
static void merge_after(const void *probe)
{
	struct find f = { (uintptr_t)probe, 0 };
	size_t len = MERGE_PAGES * page;
	char line[4096];
	int merged = 0;
	char *p;
	FILE *maps;

	if (!dl_iterate_phdr(find_cb, &f)) {
		note("merge: no writable PT_LOAD holds %p", probe);
		return;
	}
	p = mmap((void *)f.end, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		note("merge: mmap at 0x%llx failed: %s", (ull)f.end, strerror(errno));
		return;
	}
	if ((uintptr_t)p != f.end) { /* kernel without MAP_FIXED_NOREPLACE */
		munmap(p, len);
		note("merge: mmap at 0x%llx landed at %p", (ull)f.end, (void *)p);
		return;
	}
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		die("/proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof line, maps)) {
		unsigned long long s, e, off, ino;
		unsigned maj, min;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &s, &e, perms, &off,
			   &maj, &min, &ino) == 7 &&
		    s < f.end && e >= f.end + len && ino == 0 && !strcmp(perms, "rw-p")) {
			merged = 1;
			note("merge: one rw-p line %llx-%llx covers the bss tail and the %d extra pages",
			     s, e, MERGE_PAGES);
			printf("MERGE 0x%llx 0x%llx 0x%llx 0x%llx\n", (ull)f.end, (ull)len, s, e);
		}
	}
	fclose(maps);
	if (!merged)
		note("merge: the kernel did not merge the pages at 0x%llx with the bss", (ull)f.end);
	touch_write("merge", p + page, 1, page);
}

/* ---- the report ---- */

static int report_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	int *index = data;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name = info->dlpi_name;
	char buf[PATH_MAX];

	(void)size;
	if (vdso && (uintptr_t)info->dlpi_phdr == vdso + ((const ElfW(Ehdr) *)vdso)->e_phoff) {
		note("skipped the vdso (%s) at 0x%llx", name, (ull)info->dlpi_addr);
		return 0;
	}
	if ((uintptr_t)info->dlpi_phdr == getauxval(AT_PHDR)) {
		if (!realpath("/proc/self/exe", buf))
			die("realpath /proc/self/exe: %s", strerror(errno));
		name = buf;
	} else if (name && name[0] && realpath(name, buf)) {
		name = buf; /* fails for deleted files and /proc/self/fd/N of a memfd */
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

#ifndef SHAPES_STATIC

/* ---- loading the libraries ---- */

static const char *const std_libs[] = {
	"libmerge.so", "libbigbss.so", "libgap.so", "libnosep.so",
	"libdeleted.so", "libmemfd.so",
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void copy_to_fd(const char *src, int out)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY);

	if (in < 0)
		die("%s: %s", src, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			die("write copy of %s: %s", src, strerror(errno));
	if (n < 0)
		die("%s: %s", src, strerror(errno));
	close(in);
}

/* dlopen + call shape_info; returns 0 if dlopen failed (noted). */
static int load(const char *dlname, const char *path, struct shape_info *out)
{
	void *h = dlopen(dlname, RTLD_NOW | RTLD_LOCAL);
	shape_info_fn fn;

	if (!h) {
		note("dlopen %s (%s) failed: %s", dlname, path, dlerror());
		return 0;
	}
	fn = (shape_info_fn)dlsym(h, "shape_info");
	if (!fn)
		die("%s: no shape_info: %s", path, dlerror());
	fn(out);
	printf("LIB %s %s\n", out->name, dlname);
	return 1;
}

static void load_deleted(const char *path, struct shape_info *out)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], dst[PATH_MAX + 64];
	int fd;

	if (!tmp || !tmp[0])
		tmp = "/tmp";
	snprintf(dir, sizeof dir, "%s/shapes-XXXXXX", tmp);
	if (!mkdtemp(dir))
		die("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(dst, sizeof dst, "%s/%s", dir, base_name(path));
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (fd < 0)
		die("%s: %s", dst, strerror(errno));
	copy_to_fd(path, fd);
	close(fd);
	load(dst, path, out);
	unlink(dst);
	rmdir(dir);
}

static void load_memfd(const char *path, struct shape_info *out)
{
	char name[64];
	int fd = memfd_create("shapes-memfd", 0); /* no MFD_CLOEXEC; stays open */

	if (fd < 0) {
		note("memfd_create failed: %s; %s skipped", strerror(errno), path);
		return;
	}
	copy_to_fd(path, fd);
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	if (!load(name, path, out))
		close(fd);
}

/* Length of the span of the PT_LOADs of the ELF file at path: the size of
 * the loader's first mmap of it. */
static size_t elf_span(const char *path)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph[64];
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_phnum > 64 || eh.e_phentsize != sizeof ph[0] ||
	    pread(fd, ph, eh.e_phnum * sizeof ph[0], eh.e_phoff) != (ssize_t)(eh.e_phnum * sizeof ph[0]))
		die("%s: bad ELF headers", path);
	close(fd);
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (pagedown(ph[i].p_vaddr) < lo)
			lo = pagedown(ph[i].p_vaddr);
		if (pageup(ph[i].p_vaddr + ph[i].p_memsz) > hi)
			hi = pageup(ph[i].p_vaddr + ph[i].p_memsz);
	}
	return hi > lo ? hi - lo : 0;
}

#define MAX_FILLERS 64

/*
 * Makes the next mmap(NULL, span) land right below MERGE_PAGES pages kept
 * free for merge_after().  mmap places a mapping at the top of the highest
 * hole that fits it: reserve span + the extra pages, free the low span
 * bytes, and fill every higher hole that fits span bytes with PROT_NONE
 * fillers.  One more PROT_NONE page above the extra pages keeps the merged
 * line from growing into whatever anonymous mapping lies above.
 * Returns the reserved extra pages (NULL if that failed).
 */
static char *reserve_after(size_t span, void **fillers, int *nfillers)
{
	size_t extra = MERGE_PAGES * page;
	char *r = mmap(NULL, span + extra + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*nfillers = 0;
	if (r == MAP_FAILED)
		die("mmap reservation: %s", strerror(errno));
	munmap(r, span);
	while (*nfillers < MAX_FILLERS) {
		void *f = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (f == MAP_FAILED)
			die("mmap filler: %s", strerror(errno));
		if (f == r) {
			munmap(f, span);
			return r + span;
		}
		fillers[(*nfillers)++] = f;
	}
	note("merge: more than %d holes above the reservation", MAX_FILLERS);
	munmap(r + span, extra + page);
	return NULL;
}

static void load_one(const char *path)
{
	const char *b = base_name(path);
	struct shape_info si = { 0 };

	if (starts_with(b, "libmerge")) {
		size_t span = elf_span(path);
		void *fillers[MAX_FILLERS];
		int nfillers;
		char *reserved = reserve_after(span, fillers, &nfillers);
		int loaded = load(path, path, &si);

		while (nfillers > 0)
			munmap(fillers[--nfillers], span);
		if (reserved)
			munmap(reserved, MERGE_PAGES * page);
		if (loaded)
			merge_after(si.bss);
		if (reserved)
			munmap(reserved + MERGE_PAGES * page, page);
	} else if (starts_with(b, "libdeleted")) {
		load_deleted(path, &si);
	} else if (starts_with(b, "libmemfd")) {
		load_memfd(path, &si);
	} else if (load(path, path, &si) && !strcmp(si.name, "bigbss")) {
		touch_bigbss(&si);
	}
}

static void load_all(int argc, char **argv)
{
	struct stat st;

	if (argc == 2 && stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode)) {
		char path[PATH_MAX];

		for (size_t i = 0; i < sizeof std_libs / sizeof std_libs[0]; i++) {
			snprintf(path, sizeof path, "%s/%s", argv[1], std_libs[i]);
			if (access(path, R_OK) == 0)
				load_one(path);
			else
				note("%s missing, skipped", path);
		}
		return;
	}
	/* Explicit paths: libmerge first (see load_one), then the others in order. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 1; i < argc; i++)
			if ((pass == 0) == starts_with(base_name(argv[i]), "libmerge"))
				load_one(argv[i]);
}

#else /* SHAPES_STATIC */

static void load_all(int argc, char **argv)
{
	struct shape_info si;

	(void)argv;
	if (argc > 1)
		note("static build: libraries on the command line ignored");
	shape_info(&si); /* libbigbss.c is linked into the executable */
	touch_bigbss(&si);
	merge_after(main_bss);
}

#endif

int main(int argc, char **argv)
{
	uintptr_t vdso;
	char buf[256];
	int index = 0;

	page = (uintptr_t)sysconf(_SC_PAGESIZE);
	printf("INFO ptrbits=%d page=%llu libc=%s link=%s\n", (int)(8 * sizeof(void *)),
	       (ull)page,
#ifdef __GLIBC__
	       "glibc",
#else
	       "other",
#endif
#ifdef SHAPES_STATIC
	       "static"
#else
	       "dynamic"
#endif
	);
	load_all(argc, argv);
	touch_write("main", main_bss + page, 1, page);
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
