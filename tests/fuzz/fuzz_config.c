/*
 * fuzz_config: the configuration loader (config.c with inih, and
 * listen.c's address parser). The input is a whole pfhttpd.ini.
 *
 * Once per process, it makes a private directory (mkdtemp, removed at
 * exit) holding etc/ and htdocs/, so that the default root, "../htdocs"
 * from etc/pfhttpd.ini, exists. Each input is written to etc/pfhttpd.ini
 * and loaded with config_load().
 *
 * It asserts, for any input:
 *
 * - config_load() returns a config and leaves err empty, or returns NULL
 *   with err NUL-terminated within its size and starting with the file
 *   name and ':', then a line number from 1 to the number of lines in the
 *   file and ": ", or " " (a message about the whole file). With a small
 *   error buffer (0 to 64 bytes) the verdict is the same and the message
 *   is the same, cut short and still NUL-terminated.
 * - A config holds what the key table promises: cf_file is the absolute
 *   path of the file, 1 to CONFIG_MAX_LISTEN listen addresses of family
 *   AF_INET or AF_INET6 with no socket open, numbers within their
 *   bounds, a ring size that is a power of two from 64k to 64m, absolute
 *   paths, an index without '/', an echo path starting with '/'.
 * - config_restart_keys() against the defaults (an empty file's config)
 *   lists the keys that differ as "[section] key" items, puts back the
 *   running values (so a second call finds none), and config_free()
 *   frees everything: LeakSanitizer reports any leak, per input under
 *   libFuzzer and at exit in the replay.
 *
 * Name lookups would make the run slow and depend on the network: for
 * this harness, getaddrinfo() is wrapped (-Wl,--wrap=getaddrinfo) so
 * that only numeric hosts and "localhost" resolve.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "fuzz.h"

int __real_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res);

static char fuzz_dir[256];    /* the private directory */
static char fuzz_etc[300];    /* its etc/ */
static char fuzz_htdocs[300]; /* its htdocs/ */
static char fuzz_file[320];   /* etc/pfhttpd.ini, as given to config_load */
static char fuzz_base[320];   /* etc/base.ini: empty, the defaults */
static struct config *fuzz_defaults; /* loaded from fuzz_base */

/* Resolve numeric hosts and "localhost" only: no DNS from a fuzzer. */
int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	struct addrinfo h;

	if (hints != NULL)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	if (node != NULL && strcmp(node, "localhost") != 0)
		h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

/* Remove the private directory at exit. */
static void
fuzz_cleanup(void)
{
	if (fuzz_defaults != NULL) {
		config_free(fuzz_defaults);
		fuzz_defaults = NULL;
	}
	if (fuzz_dir[0] == '\0')
		return;
	unlink(fuzz_file);
	unlink(fuzz_base);
	rmdir(fuzz_etc);
	rmdir(fuzz_htdocs);
	rmdir(fuzz_dir);
}

/* Write data[0..size) to path, replacing it. */
static void
write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();
}

/* Make the private directory and load the defaults, once. */
static void
fuzz_setup(void)
{
	char err[CONFIG_ERR_LEN];
	const char *tmp;

	if (fuzz_dir[0] != '\0')
		return;
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0' ||
	    strlen(tmp) > 200)
		tmp = "/tmp";
	snprintf(
	    fuzz_dir, sizeof(fuzz_dir), "%s/pfhttpd-fuzz-config.XXXXXX", tmp);
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(fuzz_etc, sizeof(fuzz_etc), "%s/etc", fuzz_dir);
	snprintf(fuzz_htdocs, sizeof(fuzz_htdocs), "%s/htdocs", fuzz_dir);
	snprintf(fuzz_file, sizeof(fuzz_file), "%s/pfhttpd.ini", fuzz_etc);
	snprintf(fuzz_base, sizeof(fuzz_base), "%s/base.ini", fuzz_etc);
	atexit(fuzz_cleanup);
	if (mkdir(fuzz_etc, 0700) == -1 || mkdir(fuzz_htdocs, 0700) == -1) {
		perror("mkdir");
		abort();
	}
	write_file(fuzz_base, NULL, 0);
	fuzz_defaults = config_load(fuzz_base, err, sizeof(err));
	if (fuzz_defaults == NULL) {
		fprintf(stderr, "fuzz_config: the defaults: %s\n", err);
		abort();
	}
}

/* Check an error message err (errlen bytes) for the file of nlines lines. */
static void
check_error(const char *err, size_t errlen, int nlines)
{
	size_t flen = strlen(fuzz_file);
	const char *p;
	char *end;
	long line;

	FUZZ_ASSERT(memchr(err, '\0', errlen) != NULL);
	FUZZ_ASSERT(strncmp(err, fuzz_file, flen) == 0);
	FUZZ_ASSERT(err[flen] == ':');
	p = err + flen + 1;
	if (*p == ' ') {
		FUZZ_ASSERT(p[1] != '\0'); /* a message follows */
		return;
	}
	FUZZ_ASSERT(*p >= '1' && *p <= '9');
	line = strtol(p, &end, 10);
	FUZZ_ASSERT(line >= 1 && line <= nlines);
	FUZZ_ASSERT(end[0] == ':' && end[1] == ' ' && end[2] != '\0');
}

/* Tell whether path is absolute (NULL counts as fine). */
static int
absolute_or_null(const char *path)
{
	return path == NULL || path[0] == '/';
}

/* Check what a loaded config promises. */
static void
check_config(const struct config *cf)
{
	int i;

	FUZZ_ASSERT(cf->cf_file != NULL && cf->cf_file[0] == '/');
	FUZZ_ASSERT(strcmp(strrchr(cf->cf_file, '/'), "/pfhttpd.ini") == 0);
	FUZZ_ASSERT(cf->cf_nlisten >= 1 && cf->cf_nlisten <= CONFIG_MAX_LISTEN);
	for (i = 0; i < cf->cf_nlisten; i++) {
		FUZZ_ASSERT(cf->cf_listen[i].la_fd == -1);
		FUZZ_ASSERT(cf->cf_listen[i].la_ss.ss_family == AF_INET ||
		    cf->cf_listen[i].la_ss.ss_family == AF_INET6);
		FUZZ_ASSERT(cf->cf_listen[i].la_sslen > 0 &&
		    cf->cf_listen[i].la_sslen <=
			sizeof(struct sockaddr_storage));
		FUZZ_ASSERT(memchr(cf->cf_listen[i].la_name, '\0',
				sizeof(cf->cf_listen[i].la_name)) != NULL);
	}
	for (; i < CONFIG_MAX_LISTEN; i++)
		FUZZ_ASSERT(cf->cf_listen[i].la_fd == -1);
	FUZZ_ASSERT(cf->cf_workers >= 1 && cf->cf_workers <= 256);
	FUZZ_ASSERT(cf->cf_daemon == 0 || cf->cf_daemon == 1);
	FUZZ_ASSERT(
	    cf->cf_max_connections >= 1 && cf->cf_max_connections <= 1000000);
	FUZZ_ASSERT(
	    cf->cf_shutdown_timeout >= 0 && cf->cf_shutdown_timeout <= 3600000);
	FUZZ_ASSERT(cf->cf_root != NULL && cf->cf_root[0] == '/');
	FUZZ_ASSERT(cf->cf_index != NULL && cf->cf_index[0] != '\0' &&
	    strchr(cf->cf_index, '/') == NULL);
	FUZZ_ASSERT(cf->cf_keepalive_timeout >= 0 &&
	    cf->cf_keepalive_timeout <= 3600000);
	FUZZ_ASSERT(
	    cf->cf_header_timeout >= 1 && cf->cf_header_timeout <= 3600000);
	FUZZ_ASSERT(cf->cf_send_timeout >= 1 && cf->cf_send_timeout <= 3600000);
	FUZZ_ASSERT(cf->cf_max_header_size >= 1024 &&
	    cf->cf_max_header_size <= 1024 * 1024);
	FUZZ_ASSERT(cf->cf_max_keepalive_requests >= 1 &&
	    cf->cf_max_keepalive_requests <= 10000000);
	FUZZ_ASSERT(cf->cf_serve_dotfiles == 0 || cf->cf_serve_dotfiles == 1);
	FUZZ_ASSERT(absolute_or_null(cf->cf_pid_file));
	FUZZ_ASSERT(absolute_or_null(cf->cf_error_log));
	FUZZ_ASSERT(absolute_or_null(cf->cf_access_log));
	FUZZ_ASSERT(cf->cf_log_format >= LOG_FORMAT_COMBINED &&
	    cf->cf_log_format <= LOG_FORMAT_JSON);
	FUZZ_ASSERT(cf->cf_ring_size >= 64 * 1024 &&
	    cf->cf_ring_size <= 64 * 1024 * 1024 &&
	    (cf->cf_ring_size & (cf->cf_ring_size - 1)) == 0);
	FUZZ_ASSERT(
	    cf->cf_ws_echo_path == NULL || cf->cf_ws_echo_path[0] == '/');
	FUZZ_ASSERT(cf->cf_ws_max_message >= 125 &&
	    cf->cf_ws_max_message <= 1024LL * 1024 * 1024);
	FUZZ_ASSERT(
	    cf->cf_ws_idle_timeout >= 0 && cf->cf_ws_idle_timeout <= 3600000);
	FUZZ_ASSERT(cf->cf_ws_origins == NULL || cf->cf_ws_origins[0] != '\0');
	FUZZ_ASSERT(cf->cf_shm_path != NULL && cf->cf_shm_path[0] == '/');
}

/* Tell whether two strings, either possibly NULL, are equal. */
static int
same_string(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Check config_restart_keys() of cf against the defaults. */
static void
check_restart_keys(struct config *cf)
{
	const struct config *def = fuzz_defaults;
	char buf[CONFIG_ERR_LEN], small[8];
	const char *p;
	int n, items;

	n = config_restart_keys(cf, def, buf, sizeof(buf));
	FUZZ_ASSERT(n >= 0);
	FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
	/* "[section] key" items separated by ", ". */
	items = 0;
	for (p = buf; *p != '\0';) {
		FUZZ_ASSERT(*p == '[');
		items++;
		if ((p = strstr(p, ", ")) == NULL)
			break;
		p += 2;
	}
	FUZZ_ASSERT(items == n);
	/* The running values of what only a restart changes are back. */
	FUZZ_ASSERT(same_string(cf->cf_user, def->cf_user));
	FUZZ_ASSERT(same_string(cf->cf_group, def->cf_group));
	FUZZ_ASSERT(same_string(cf->cf_pid_file, def->cf_pid_file));
	FUZZ_ASSERT(same_string(cf->cf_error_log, def->cf_error_log));
	FUZZ_ASSERT(same_string(cf->cf_shm_path, def->cf_shm_path));
	FUZZ_ASSERT(cf->cf_daemon == def->cf_daemon);
	FUZZ_ASSERT(cf->cf_ring_size == def->cf_ring_size);
	memset(small, 'x', sizeof(small));
	FUZZ_ASSERT(config_restart_keys(cf, def, small, sizeof(small)) == 0);
	FUZZ_ASSERT(small[0] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONFIG_ERR_LEN], *small;
	struct config *cf, *cf2;
	size_t i, smalllen;
	int nlines;

	fuzz_setup();
	write_file(fuzz_file, data, size);
	nlines = 1;
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			nlines++;

	memset(err, 'x', sizeof(err));
	cf = config_load(fuzz_file, err, sizeof(err));
	if (cf != NULL) {
		FUZZ_ASSERT(err[0] == '\0');
		check_config(cf);
		check_restart_keys(cf);
		config_free(cf);
		return 0;
	}
	check_error(err, sizeof(err), nlines);

	/* Again with a small buffer: the same message, cut short. */
	smalllen = (size_t)(fuzz_hash(data, size) % 65);
	small = fuzz_copy(err, smalllen);
	cf2 = config_load(fuzz_file, small, smalllen);
	FUZZ_ASSERT(cf2 == NULL);
	if (smalllen > 0) {
		FUZZ_ASSERT(memchr(small, '\0', smalllen) != NULL);
		FUZZ_ASSERT(strncmp(small, err, smalllen - 1) == 0);
	}
	free(small);
	return 0;
}
