/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   fabcheck-diff: replays fabcheck stories on SPDK's real lib/nvmf.
 *
 *     fabcheck-diff [--lenient] [--syms FILE] STORY...
 *
 *   Each story runs in a forked child that first sets up the target the story describes
 *   (threads, bdevs, target, TCP transport over memsock, subsystems, namespaces, listeners), so
 *   every story starts from fresh global state and stories of one batch may differ in shape.
 *   The verdict line of each story: CRASH (signal or sanitizer report), QUIESCENT,
 *   NOT-QUIESCENT, DIVERGED, UNSUPPORTED, and for a story that shuts the target down LEAKED (a
 *   subsystem never freed), LOST-MESSAGE (a send to an exited thread failed) or ORPHANED-QPAIR
 *   (a poll group freed with a qpair still on its list). Exit status: that of the last story
 *   (0 quiescent, 1 crash, 2 not quiescent, 3 diverged, 4 unsupported, 5 leaked, 6 lost
 *   message, 7 orphaned qpair, 64 usage).
 *
 *   Owns: the symbol table (function pointer -> name, from `nm -n` of this binary, linked
 *   without PIE so addresses are absolute).
 */
#include "story.h"
#include "harness.h"
#include <sys/wait.h>

/* The target is never torn down (each story's child just exits), so what it still holds at exit
 * is not a leak: LeakSanitizer is off, every other ASAN check is on. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

struct sym {
	uintptr_t addr;
	char *name;
	char *file; /* source file basename (nm -l), "" when unknown */
};

static struct sym *g_syms;
static size_t g_nsyms;

static void
load_syms(const char *table)
{
	FILE *f = fopen(table, "r");
	char line[1024], name[400], path[600], type;
	unsigned long addr;
	size_t cap = 0;

	if (f == NULL) {
		fprintf(stderr, "fabcheck-diff: cannot read symbol table %s\n", table);
		exit(64);
	}
	while (fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%lx %c %399s %599[^:\n]", &addr, &type, name, path) < 3 ||
		    (type != 't' && type != 'T')) {
			continue;
		}
		if (g_nsyms == cap) {
			cap = cap ? cap * 2 : 4096;
			g_syms = realloc(g_syms, cap * sizeof(*g_syms));
		}
		g_syms[g_nsyms].addr = addr;
		g_syms[g_nsyms].file = strdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
		g_syms[g_nsyms++].name = strdup(name);
	}
	fclose(f);
}

static const struct sym *
sym_of(void *fn)
{
	uintptr_t a = (uintptr_t)fn;
	size_t i;

	for (i = 0; i < g_nsyms; i++) {
		if (g_syms[i].addr == a) {
			return &g_syms[i];
		}
	}
	return NULL;
}

const char *
sym_name(void *fn)
{
	const struct sym *s = sym_of(fn);

	return s ? s->name : "?";
}

const char *
sym_file(void *fn)
{
	const struct sym *s = sym_of(fn);

	return s ? s->file : "";
}

static int
verdict(int status, const char *path)
{
	const char *v;
	int code;

	if (WIFSIGNALED(status)) {
		v = "CRASH";
		code = 1;
	} else {
		code = WEXITSTATUS(status);
		v = code == STORY_QUIESCENT ? "QUIESCENT" : code == STORY_NOT_QUIESCENT ? "NOT-QUIESCENT" :
		    code == STORY_DIVERGED ? "DIVERGED" : code == STORY_UNSUPPORTED ? "UNSUPPORTED" :
		    code == STORY_LEAKED ? "LEAKED" : code == STORY_LOST ? "LOST-MESSAGE" :
		    code == STORY_ORPHANED ? "ORPHANED-QPAIR" : "CRASH";
		if (strcmp(v, "CRASH") == 0) {
			code = 1;
		}
	}
	printf("verdict %s: %s\n", path, v);
	fflush(stdout);
	return code;
}

int
main(int argc, char **argv)
{
	const char *syms = NULL;
	bool lenient = false;
	int i = 1, code = 64;
	FILE *f;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--lenient") == 0) {
			lenient = true;
		} else if (strcmp(argv[i], "--syms") == 0 && i + 1 < argc) {
			syms = argv[++i];
		} else {
			fprintf(stderr, "fabcheck-diff: unknown option %s\n", argv[i]);
			return 64;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: fabcheck-diff [--lenient] [--syms FILE] STORY...\n");
		return 64;
	}
	load_syms(syms ? syms : "fabcheck-diff.syms");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc; i++) {
		struct story st;
		pid_t pid;
		int status;

		f = fopen(argv[i], "r");
		if (f == NULL || story_parse(f, &st) != 0) {
			fprintf(stderr, "fabcheck-diff: cannot read story %s\n", argv[i]);
			return 64;
		}
		fclose(f);
		printf("story %s\nseed %s\nmodel result: %s\n", argv[i], st.seed, st.result);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			target_setup(&st);
			exit(story_run(&st, lenient));
		}
		waitpid(pid, &status, 0);
		code = verdict(status, argv[i]);
	}
	return code;
}
