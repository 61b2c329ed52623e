/*
 * Process titles on Linux: "pfhttpd: master", "pfhttpd: worker 1".
 *
 * ps(1) shows /proc/PID/cmdline, which is the memory that held argv and,
 * right after it, the environment. proctitle_init() copies argv and environ
 * to the heap so that this area can be overwritten with the title.
 */

#include <sys/prctl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

extern char **environ;

static char *proctitle_area; /* start of the argv + environ strings */
static size_t proctitle_len; /* bytes that may be overwritten */
/*
 * The copy of environ, owned here for the life of the process: glibc's
 * clearenv() at exit (__libc_freeres, which valgrind runs) sets environ to
 * NULL, and the copy must not then look lost. volatile: a store that
 * nothing reads would be optimised away.
 */
static char **volatile proctitle_env;

/* Copy argv and environ away so that the title may use their space. */
void
proctitle_init(int argc, char **argv)
{
	char **env, *start, *end, *copy;
	int i, n;

	if (argc == 0 || argv[0] == NULL)
		return;
	start = argv[0];
	end = start + strlen(start) + 1;
	for (i = 1; i < argc; i++)
		if (argv[i] == end)
			end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		if (environ[n] == end)
			end = environ[n] + strlen(environ[n]) + 1;

	if ((env = calloc((size_t)n + 1, sizeof(*env))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if ((env[i] = strdup(environ[i])) == NULL)
			goto fail;
	for (i = 0; i < argc; i++) {
		if ((copy = strdup(argv[i])) == NULL)
			goto fail; /* the copies made so far are in argv */
		argv[i] = copy;
	}
	environ = proctitle_env = env;
	proctitle_area = start;
	proctitle_len = (size_t)(end - start);
	return;

fail:
	/* Out of memory: the title shows in /proc/PID/comm only. */
	for (i = 0; i < n; i++)
		free(env[i]);
	free(env);
}

/* Show a new process title in ps(1). */
void
proctitle_set(const char *fmt, ...)
{
	char title[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	prctl(PR_SET_NAME, title, 0, 0, 0);
	if (proctitle_area == NULL || proctitle_len < 2)
		return;
	n = strlen(title);
	if (n > proctitle_len - 1)
		n = proctitle_len - 1;
	memcpy(proctitle_area, title, n);
	memset(proctitle_area + n, 0, proctitle_len - n);
}
