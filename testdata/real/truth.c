/*
 * truth.so: the loader's own report from inside a real program (node, python3,
 * chromium, ...), loaded with LD_PRELOAD. tests/real.rs uses it.
 *
 * Its constructor reads ELFMAPS_TRUTH (a directory; nothing is done without it),
 * writes DIR/PID.alive, and starts a thread that polls for DIR/PID.want every
 * 20 ms. When the file appears, the thread removes it, calls dl_iterate_phdr and
 * writes the report to DIR/PID.report (through a temporary name and a rename, so
 * the test never reads half of one), in the format testdata/shapes prints:
 *
 *   INFO ptrbits=64 page=4096
 *   OBJ <index> <bias> <phnum> <realpath of the object>
 *   PH <obj> <index> <p_type> <p_flags> <p_offset> <p_vaddr> <p_filesz> <p_memsz>
 *   READY
 *
 * The vDSO is left out (it has no file); the executable is named by the realpath
 * of /proc/self/exe. A process forked without exec (chromium's zygote children)
 * has no such thread, and writes no .alive: the test checks only the processes
 * that do. Chromium's zygote gets no thread either: it must stay single-threaded
 * to fork (chromium checks, and its children die otherwise).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[PATH_MAX - 64];

struct out {
	FILE *f;
	int index;
};

static int report(struct dl_phdr_info *info, size_t size, void *data)
{
	struct out *o = data;
	char name[PATH_MAX];
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
	(void)size;
	if (vdso && (unsigned long)info->dlpi_phdr ==
			    vdso + ((const ElfW(Ehdr) *)vdso)->e_phoff)
		return 0;
	if ((unsigned long)info->dlpi_phdr == getauxval(AT_PHDR)) {
		if (!realpath("/proc/self/exe", name))
			return 0;
	} else if (!info->dlpi_name || !info->dlpi_name[0] ||
		   !realpath(info->dlpi_name, name)) {
		snprintf(name, sizeof name, "%s", info->dlpi_name ? info->dlpi_name : "");
	}
	fprintf(o->f, "OBJ %d 0x%lx %d %s\n", o->index, (unsigned long)info->dlpi_addr,
		info->dlpi_phnum, name);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		fprintf(o->f, "PH %d %d 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx 0x%lx\n", o->index, i,
			(unsigned long)p->p_type, (unsigned long)p->p_flags,
			(unsigned long)p->p_offset, (unsigned long)p->p_vaddr,
			(unsigned long)p->p_filesz, (unsigned long)p->p_memsz);
	}
	o->index++;
	return 0;
}

static void *watch(void *arg)
{
	char want[PATH_MAX], tmp[PATH_MAX], done[PATH_MAX];
	struct timespec tick = {0, 20 * 1000 * 1000};
	int pid = getpid();
	(void)arg;
	snprintf(want, sizeof want, "%s/%d.want", dir, pid);
	snprintf(tmp, sizeof tmp, "%s/%d.tmp", dir, pid);
	snprintf(done, sizeof done, "%s/%d.report", dir, pid);
	for (;;) {
		struct stat st;
		if (stat(want, &st) == 0 && unlink(want) == 0) {
			struct out o = {fopen(tmp, "w"), 0};
			if (o.f) {
				fprintf(o.f, "INFO ptrbits=%d page=%ld\n", (int)(8 * sizeof(void *)),
					sysconf(_SC_PAGESIZE));
				dl_iterate_phdr(report, &o);
				fputs("READY\n", o.f);
				if (fclose(o.f) == 0)
					rename(tmp, done);
			}
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* Whether this is chromium's zygote (an argument --type=zygote). */
static int zygote(void)
{
	char args[4096];
	FILE *f = fopen("/proc/self/cmdline", "r");
	size_t n;
	if (!f)
		return 0;
	n = fread(args, 1, sizeof args - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i += strlen(args + i) + 1) {
		args[n] = 0;
		if (!strcmp(args + i, "--type=zygote"))
			return 1;
	}
	return 0;
}

__attribute__((constructor)) static void start(void)
{
	const char *d = getenv("ELFMAPS_TRUTH");
	char alive[PATH_MAX];
	pthread_t t;
	pthread_attr_t attr;
	FILE *f;
	if (!d || strlen(d) >= sizeof dir || zygote())
		return;
	strcpy(dir, d);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watch, NULL) != 0)
		return;
	snprintf(alive, sizeof alive, "%s/%d.alive", dir, (int)getpid());
	f = fopen(alive, "w");
	if (f)
		fclose(f);
}
