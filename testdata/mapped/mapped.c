/*
 * mapped: ELF files mapped as data next to loaded ones (issue 18 §1), and what the
 * loader says. See README.md.
 *
 *   mapped LIB.so UNLOADED.so
 *
 * Loads LIB.so with dlopen and again with dlmopen (a second namespace), then maps
 * as data, each mapping printed as `DATA START END WHAT`:
 * - `whole`: LIB.so whole, PROT_READ, at offset 0 (what a backtrace does to a file);
 * - `part`: two pages of LIB.so inside its read-only data PT_LOAD, PROT_READ;
 * - `libc`: two pages of libc's text, PROT_READ, on the first free page above libc's
 *   bss, so that an instance guessed from them would cover libc's bss;
 * - `exec`: the first page of this executable's text, PROT_READ|PROT_EXEC, elsewhere
 *   (node maps its builtins so);
 * - `unloaded`: two pages of UNLOADED.so (never loaded) inside its read-only data
 *   PT_LOAD, and right after them, with MAP_FIXED_NOREPLACE, a 1 MiB buffer (`ANON`),
 *   an inaccessible guard (`GUARD`) and a thread's stack (`STACK`) on which a
 *   thread runs.
 * For `libc` and `unloaded` it prints `PHANTOM START END WHAT`: the span that the
 * file's program headers (read here from the file) give an object loaded at the
 * bias those pages fit, so that the test can tell that the memory after them lies
 * in it. Then the loader's report (dl_iterate_phdr: INFO, OBJ, PH as
 * testdata/shapes prints them; the dlmopen copy from its link map), READY, and it
 * blocks on stdin until EOF.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define BUFFER (1 << 20)
#define STACK_SIZE (256 * 1024)

typedef unsigned long long ull;

static uintptr_t page;

static void die(const char *what)
{
	fprintf(stderr, "mapped: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uintptr_t down(uintptr_t a) { return a & ~(page - 1); }
static uintptr_t up(uintptr_t a) { return down(a + page - 1); }

/* The program headers of the ELF file `path`, read from the file. */
struct file {
	int fd;
	size_t size;
	ElfW(Phdr) ph[64];
	int phnum;
};

static void read_file(const char *path, struct file *f)
{
	ElfW(Ehdr) eh;
	struct stat st;

	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0)
		die(path);
	f->size = (size_t)st.st_size;
	if (pread(f->fd, &eh, sizeof eh, 0) != sizeof eh || eh.e_phnum > 64)
		die("ELF header");
	f->phnum = eh.e_phnum;
	if (pread(f->fd, f->ph, eh.e_phnum * sizeof f->ph[0], (off_t)eh.e_phoff) !=
	    (ssize_t)(eh.e_phnum * sizeof f->ph[0]))
		die("program headers");
}

/* The PT_LOAD with the given flags (the first one), or NULL. */
static const ElfW(Phdr) *load_with(const struct file *f, unsigned flags)
{
	for (int i = 0; i < f->phnum; i++)
		if (f->ph[i].p_type == PT_LOAD && f->ph[i].p_flags == flags)
			return &f->ph[i];
	return NULL;
}

/* The span of an object loaded at the bias that puts file offset `off`, inside
 * PT_LOAD `p`, at `at`. */
static void phantom(const struct file *f, const ElfW(Phdr) *p, uintptr_t off, uintptr_t at,
		    const char *what)
{
	uintptr_t bias = at - (off + p->p_vaddr - p->p_offset), lo = UINTPTR_MAX, hi = 0;

	for (int i = 0; i < f->phnum; i++) {
		const ElfW(Phdr) *q = &f->ph[i];
		if (q->p_type != PT_LOAD)
			continue;
		if (down(bias + q->p_vaddr) < lo)
			lo = down(bias + q->p_vaddr);
		if (up(bias + q->p_vaddr + q->p_memsz) > hi)
			hi = up(bias + q->p_vaddr + q->p_memsz);
	}
	printf("PHANTOM 0x%llx 0x%llx %s\n", (ull)lo, (ull)hi, what);
}

static void *map_at(void *at, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(at, len, prot, flags, fd, off);
	if (p == MAP_FAILED)
		return NULL;
	if (at && p != at) {
		/* A kernel without MAP_FIXED_NOREPLACE treats it as a hint. */
		munmap(p, len);
		return NULL;
	}
	return p;
}

static void data(void *p, size_t len, const char *what)
{
	printf("DATA 0x%llx 0x%llx %s\n", (ull)(uintptr_t)p, (ull)((uintptr_t)p + len), what);
}

/* Two pages of `path` inside its read-only data PT_LOAD, PROT_READ, anywhere. */
static void part(const char *path)
{
	struct file f;
	const ElfW(Phdr) *p;
	void *m;

	read_file(path, &f);
	p = load_with(&f, PF_R);
	/* The second R segment: the first holds the ELF header. */
	for (int i = 0; i < f.phnum; i++)
		if (f.ph[i].p_type == PT_LOAD && f.ph[i].p_flags == PF_R && f.ph[i].p_offset > 0)
			p = &f.ph[i];
	if (!p || p->p_filesz < 4 * page)
		die("no read-only data PT_LOAD of 4 pages");
	m = map_at(NULL, 2 * page, PROT_READ, MAP_PRIVATE, f.fd, (off_t)up(p->p_offset + page));
	if (!m)
		die("mmap part");
	data(m, 2 * page, "part");
	close(f.fd);
}

/* The whole of `path`, PROT_READ, at offset 0. */
static void whole(const char *path)
{
	struct file f;
	void *m;

	read_file(path, &f);
	m = map_at(NULL, f.size, PROT_READ, MAP_PRIVATE, f.fd, 0);
	if (!m)
		die("mmap whole");
	data(m, up(f.size), "whole");
	close(f.fd);
}

/* The first page of this executable's text, PROT_READ|PROT_EXEC, elsewhere. */
static void exec_text(void)
{
	struct file f;
	const ElfW(Phdr) *p;
	void *m;

	read_file("/proc/self/exe", &f);
	p = load_with(&f, PF_R | PF_X);
	if (!p || p->p_offset % page || p->p_filesz == 0)
		die("no page-aligned text PT_LOAD");
	m = map_at(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE, f.fd, (off_t)p->p_offset);
	if (!m)
		die("mmap exec");
	data(m, page, "exec");
	close(f.fd);
}

struct found {
	const char *want;
	uintptr_t bias, end;
	char name[PATH_MAX];
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct found *f = arg;
	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, f->want) || f->end)
		return 0;
	f->bias = info->dlpi_addr;
	snprintf(f->name, sizeof f->name, "%s", info->dlpi_name);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *q = &info->dlpi_phdr[i];
		if (q->p_type == PT_LOAD && up(info->dlpi_addr + q->p_vaddr + q->p_memsz) > f->end)
			f->end = up(info->dlpi_addr + q->p_vaddr + q->p_memsz);
	}
	return 0;
}

/* Two pages of libc's text on the first free page above libc's span. */
static void libc_text(void)
{
	struct found lc = {.want = "libc.so"};
	struct file f;
	const ElfW(Phdr) *p;
	uintptr_t off;

	dl_iterate_phdr(find_cb, &lc);
	if (!lc.end)
		die("libc not found");
	read_file(lc.name, &f);
	p = load_with(&f, PF_R | PF_X);
	if (!p || p->p_filesz < 4 * page)
		die("no libc text");
	off = down(p->p_offset + p->p_filesz) - 2 * page;
	for (uintptr_t at = lc.end; at < lc.end + 256 * page; at += page) {
		void *m = map_at((void *)at, 2 * page, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE,
				 f.fd, (off_t)off);
		if (m) {
			data(m, 2 * page, "libc");
			phantom(&f, p, off, at, "libc");
			close(f.fd);
			return;
		}
	}
	printf("NOTE no free page above libc\n");
	close(f.fd);
}

static void *run(void *arg)
{
	pthread_barrier_t *ready = arg;
	pthread_barrier_wait(ready);
	for (;;)
		pause();
	return NULL;
}

/* Two pages of UNLOADED.so, then a buffer, a guard and a thread's stack. */
static void unloaded(const char *path)
{
	struct file f;
	const ElfW(Phdr) *p = NULL;
	size_t total = 2 * page + BUFFER + page + STACK_SIZE;
	uintptr_t at, off;
	char *hole, *buf, *guard, *stack;
	pthread_attr_t attr;
	pthread_t t;
	static pthread_barrier_t ready;

	read_file(path, &f);
	for (int i = 0; i < f.phnum; i++)
		if (f.ph[i].p_type == PT_LOAD && f.ph[i].p_flags == PF_R && f.ph[i].p_offset > 0)
			p = &f.ph[i];
	if (!p || p->p_filesz < 4 * page)
		die("no read-only data PT_LOAD of 4 pages");
	off = up(p->p_offset + page);
	/* A free hole, found by mapping it once; everything goes in it at fixed places. */
	hole = map_at(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!hole)
		die("mmap hole");
	munmap(hole, total);
	at = (uintptr_t)hole;
	if (!map_at(hole, 2 * page, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, f.fd, (off_t)off))
		die("mmap unloaded");
	data(hole, 2 * page, "unloaded");
	phantom(&f, p, off, at, "unloaded");
	close(f.fd);
	buf = map_at(hole + 2 * page, BUFFER, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	guard = map_at(hole + 2 * page + BUFFER, page, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	stack = map_at(hole + 3 * page + BUFFER, STACK_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (!buf || !guard || !stack)
		die("mmap buffer, guard or stack");
	memset(buf, 1, BUFFER);
	printf("ANON 0x%llx 0x%llx\n", (ull)(uintptr_t)buf, (ull)((uintptr_t)buf + BUFFER));
	printf("GUARD 0x%llx 0x%llx\n", (ull)(uintptr_t)guard, (ull)((uintptr_t)guard + page));
	printf("STACK 0x%llx 0x%llx\n", (ull)(uintptr_t)stack,
	       (ull)((uintptr_t)stack + STACK_SIZE));
	pthread_barrier_init(&ready, NULL, 2);
	pthread_attr_init(&attr);
	if (pthread_attr_setstack(&attr, stack, STACK_SIZE) != 0 ||
	    pthread_create(&t, &attr, run, &ready) != 0)
		die("pthread_create");
	pthread_barrier_wait(&ready);
}

static int report_cb(struct dl_phdr_info *info, size_t size, void *data_)
{
	int *index = data_;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	const char *name = info->dlpi_name;
	char buf[PATH_MAX];

	(void)size;
	if (vdso && (uintptr_t)info->dlpi_phdr == vdso + ((const ElfW(Ehdr) *)vdso)->e_phoff)
		return 0;
	if ((uintptr_t)info->dlpi_phdr == getauxval(AT_PHDR)) {
		if (!realpath("/proc/self/exe", buf))
			die("realpath /proc/self/exe");
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
		       (ull)ph->p_type, (ull)ph->p_flags, (ull)ph->p_offset, (ull)ph->p_vaddr,
		       (ull)ph->p_filesz, (ull)ph->p_memsz);
	}
	++*index;
	return 0;
}

/* The copy of `path` in the namespace of dlmopen (dl_iterate_phdr reports the
 * first namespace only): its load bias from its link map, its program headers from
 * the file. */
static void report_namespace(void *handle, const char *path, int index)
{
	struct link_map *lm;
	struct file f;
	char buf[PATH_MAX];

	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !realpath(path, buf)) {
		printf("NOTE dlinfo: %s\n", dlerror());
		return;
	}
	read_file(path, &f);
	printf("OBJ %d 0x%llx %d %s\n", index, (ull)lm->l_addr, f.phnum, buf);
	for (int i = 0; i < f.phnum; i++) {
		const ElfW(Phdr) *ph = &f.ph[i];
		printf("PH %d %d 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx\n", index, i,
		       (ull)ph->p_type, (ull)ph->p_flags, (ull)ph->p_offset, (ull)ph->p_vaddr,
		       (ull)ph->p_filesz, (ull)ph->p_memsz);
	}
	close(f.fd);
}

int main(int argc, char **argv)
{
	char buf[256];
	int index = 0;
	void *a, *b;

	if (argc != 3) {
		fprintf(stderr, "usage: mapped LIB.so UNLOADED.so\n");
		return 2;
	}
	page = (uintptr_t)sysconf(_SC_PAGESIZE);
	printf("INFO ptrbits=%d page=%llu\n", (int)(8 * sizeof(void *)), (ull)page);
	a = dlopen(argv[1], RTLD_NOW);
	if (!a) {
		fprintf(stderr, "mapped: dlopen: %s\n", dlerror());
		return 1;
	}
	b = dlmopen(LM_ID_NEWLM, argv[1], RTLD_NOW);
	if (!b)
		printf("NOTE dlmopen: %s\n", dlerror());
	whole(argv[1]);
	part(argv[1]);
	libc_text();
	exec_text();
	unloaded(argv[2]);
	dl_iterate_phdr(report_cb, &index);
	if (b)
		report_namespace(b, argv[1], index);
	printf("READY\n");
	if (fflush(stdout) != 0)
		die("stdout");
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
