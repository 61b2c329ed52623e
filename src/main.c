/*
 * Command line and start-up order: parse the config, bind the listeners,
 * open the error log, detach when asked, write the pid file, then hand
 * over to the master's event loop.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

#ifndef PFHTTPD_CONF
#define PFHTTPD_CONF "/usr/local/etc/pfhttpd/pfhttpd.ini"
#endif

/* Print the usage message to fp. */
static void
main_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-c FILE] [-d] [-f] [-t] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       log debug messages\n"
	    "  -f       stay in the foreground (overrides daemon = yes)\n"
	    "  -t       test the configuration and exit 0 or 1\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n",
	    PFHTTPD_NAME, PFHTTPD_CONF);
}

/*
 * Bind every listen address and [stats] listen, or report the first
 * failure and exit.
 */
static void
main_bind(struct config *cf)
{
	struct listen_addr *st = &cf->cf_stats_listen;
	int i;

	for (i = 0; i < cf->cf_nlisten; i++)
		if (listen_bind(&cf->cf_listen[i], cf->cf_reuseport,
			cf->cf_notsent_lowat) == -1)
			fatal("cannot listen on %s", cf->cf_listen[i].la_name);
	if (st->la_sslen != 0 && listen_bind(st, 0, 0) == -1)
		fatal("%s:%d: [stats] listen: cannot listen on %s", cf->cf_file,
		    st->la_line, st->la_name);
}

/* Run pfhttpd. */
int
main(int argc, char *argv[])
{
	const char *conf = PFHTTPD_CONF;
	char err[CONFIG_ERR_LEN];
	struct config *cf;
	int ch, foreground = 0, test_only = 0, debug = 0, rv;

	log_init("master");
	while ((ch = getopt(argc, argv, "c:dftVh")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 't':
			test_only = 1;
			break;
		case 'V':
			printf("%s %s\n", PFHTTPD_NAME, PFHTTPD_VERSION);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 1;
	}
	log_set_debug(debug);

	if ((cf = config_load(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (test_only) {
		fprintf(stderr, "%s: configuration ok\n", conf);
		config_free(cf);
		return 0;
	}

	proctitle_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	mime_init();
	/* Before binding: a second instance is told it is one. */
	if (cf->cf_pid_file != NULL)
		daemon_pidfile_lock(cf->cf_pid_file);
	main_bind(cf);
	if (cf->cf_error_log != NULL && log_open_file(cf->cf_error_log) == -1)
		fatal("error log %s", cf->cf_error_log);
	priv_chown(cf, cf->cf_error_log);
	if (cf->cf_daemon && !foreground)
		daemon_detach();
	daemon_pidfile_write();
	proctitle_set("%s: master", PFHTTPD_NAME);
	priv_check(cf);

	rv = master_run(cf); /* owns cf from here on */

	daemon_pidfile_remove();
	log_info("exiting");
	return rv;
}
