# Checking: sanitizers, valgrind and static analysis. Included by the main
# Makefile, whose variables (B, SRCS, ALL_CFLAGS, PKG_CFLAGS, ...) it uses.
#
#   make check-asan       everything built with ASan + UBSan (+ LSan) into
#                         build/asan, then the unit tests and the whole
#                         integration suite against that daemon; any
#                         sanitizer report fails it
#   make check-valgrind   one worker (and its master and logger) under
#                         valgrind memcheck, driven by tools/valgrind-load;
#                         any invalid access or definite leak fails it
#   make lint             cppcheck and clang-tidy (.clang-tidy) on src/ and
#                         tools/; any finding fails it
#
# Each installs what it needs first: tools/install-deps asan, valgrind,
# lint (the sets are at the top of that script).

.PHONY: check-asan check-valgrind lint lint-cppcheck \
	lint-clang-tidy

# -- check-asan -------------------------------------------------------------
#
# The build: clang, because with gcc UBSan is a library apart from ASan's
# and writes its reports to stderr whatever log_path says; a daemon's
# stderr may be /dev/null (daemon = yes), so a report could go unseen.
# With clang one runtime writes every report to log_path.
#
# The run: the sub-make gets CC, B and CFLAGS on its command line, so every
# make started from the tests (test_install.py: make install) inherits them
# through MAKEFLAGS and installs the sanitized binaries too.
#
# Reports: ASan, UBSan and LSan write to $(ASAN_REPORTS)/asan.PID, one file
# per process, whoever started it (the master, its workers and logger, the
# daemons of the init-script tests, statsdump, the unit tests). A process
# with a report exits with status 86 (its master logs it and respawns it);
# whatever the tests made of that, check-asan fails if a report file
# exists, and prints them. As a second net it looks for a report in every
# log the tests kept (pytest's --basetemp), in case one bypassed log_path.
#
# Leaks: LSan runs when each process exits through exit() (workers,
# logger, master, statsdump, unit tests all do) and reports the blocks no
# pointer reaches any more: a connection, buffer or config lost while
# serving shows up there. Memory still reachable from globals or the stack
# at exit (the event base, the running config) is not a leak for a daemon
# and LSan does not report it. No suppressions are needed; should one ever
# be, it goes into tools/lsan.supp with its reason, and ASAN_ENV gets
# LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp.
#
# The tests that measure RSS skip that one assertion when
# PFHTTPD_SANITIZED=1 (see tests/integration/conftest.py): ASan's
# quarantine and redzones make RSS say nothing about the server.

ASAN_B	     = build/asan
ASAN_CC	    ?= clang
ASAN_CFLAGS  = -fsanitize=address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer -g -O1
ASAN_REPORTS = $(CURDIR)/$(ASAN_B)/reports
ASAN_TMP     = $(CURDIR)/$(ASAN_B)/pytest
ASAN_EXIT    = 86
ASAN_MAKE    = $(MAKE) CC='$(ASAN_CC)' B=$(ASAN_B) CFLAGS='$(ASAN_CFLAGS)'
# Run-time options, one per word (joined with ':'): reports to files, a
# distinct exit status, leak checking at exit, stack use after return,
# strict string-function checks, a report on abort() too.
ASAN_OPTS    = log_path=$(ASAN_REPORTS)/asan exitcode=$(ASAN_EXIT) \
	       abort_on_error=0 detect_leaks=1 \
	       detect_stack_use_after_return=1 strict_string_checks=1 \
	       handle_abort=1
UBSAN_OPTS   = log_path=$(ASAN_REPORTS)/asan exitcode=$(ASAN_EXIT) \
	       print_stacktrace=1 halt_on_error=1
CHECK_EMPTY  =
CHECK_SPACE  = $(CHECK_EMPTY) $(CHECK_EMPTY)
ASAN_ENV     = ASAN_OPTIONS=$(subst $(CHECK_SPACE),:,$(strip $(ASAN_OPTS))) \
	       UBSAN_OPTIONS=$(subst $(CHECK_SPACE),:,$(strip $(UBSAN_OPTS))) \
	       PFHTTPD_SANITIZED=1 \
	       PFHTTPD_STATSDUMP=$(CURDIR)/$(ASAN_B)/statsdump
# Where a report may hide if it missed log_path.
ASAN_PATTERN = ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:

# Compiler and flags of build/asan: a change rebuilds it from scratch.
ASAN_ID	     = $(ASAN_CC) $(ASAN_CFLAGS)

check-asan:
	@tools/install-deps asan
	@mkdir -p $(ASAN_B)
	@if [ "$$(cat $(ASAN_B)/flags 2>/dev/null)" != "$(ASAN_ID)" ]; then \
	    rm -rf $(ASAN_B)/obj $(ASAN_B)/tests $(ASAN_B)/*.a \
		$(ASAN_B)/pfhttpd $(ASAN_B)/statsdump $(ASAN_B)/wsload \
		$(ASAN_B)/chatload $(ASAN_B)/tlsload; \
	    echo "$(ASAN_ID)" > $(ASAN_B)/flags; fi
	$(ASAN_MAKE) all $(UNIT_BINS:$(B)/%=$(ASAN_B)/%)
	rm -rf $(ASAN_REPORTS) $(ASAN_TMP)
	mkdir -p $(ASAN_REPORTS)
	@status=0; \
	$(ASAN_ENV) $(ASAN_MAKE) unit integration \
	    PYTEST_FLAGS='$(PYTEST_FLAGS) -p no:cacheprovider --basetemp=$(ASAN_TMP)' \
	    || status=$$?; \
	if [ -n "$$(ls -A $(ASAN_REPORTS))" ]; then \
	    for f in $(ASAN_REPORTS)/*; do echo "== $$f"; cat "$$f"; done; \
	    echo "check-asan: sanitizer reports in $(ASAN_REPORTS)" >&2; \
	    status=1; \
	fi; \
	if grep -rlE --include='*.log' '$(ASAN_PATTERN)' $(ASAN_TMP) \
	    2>/dev/null; then \
	    echo "check-asan: sanitizer reports in the logs above" >&2; \
	    status=1; \
	fi; \
	if [ $$status -eq 0 ]; then rm -rf $(ASAN_TMP); \
	    echo "check-asan: no sanitizer report"; fi; \
	exit $$status

# -- check-valgrind ---------------------------------------------------------
#
# valgrind 3.19 has no openat2(2) (ENOSYS): the worker then resolves paths
# with beneath_open_compat() (src/beneath.c), as on a kernel before 5.6,
# and says so once in the error log.
#
# The run (tools/valgrind-load, one script): a daemon with workers = 1 on a
# free loopback port, its config, document root, logs and segment in
# build/valgrind/logs/run, started as
#   valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite
#       --errors-for-leak-kinds=definite --error-exitcode=87
#       --child-silent-after-fork=no --log-file=DIR/vg.%p
#       build/valgrind/pfhttpd -f -c DIR/pfhttpd.ini
# so that the master and, through fork, the logger and the worker run
# under memcheck, each with its own log. The load, every response checked:
# GET and HEAD of files, directory index, 301 to the slashed URL, byte
# ranges (206, suffix, 416, several ranges: 200), If-None-Match and
# If-Modified-Since (304), If-Match (412), 404, 403 (a link out of the
# root, a directory without index), 400 (whitespace before a colon, %00,
# ".." above the root), 405 and 501, keep-alive, HTTP/1.0 keep-alive,
# pipelining of five requests in one write, request bodies discarded
# (Content-Length and chunked), clients that leave mid-header and
# mid-download; WebSocket echo sessions with text, binary (100 kB),
# fragments around a ping, a close, invalid UTF-8 (1007), a client that
# leaves mid-frame and one left open; statsdump under memcheck on the
# segment. Then SIGQUIT (graceful stop): the open WebSocket must get
# close 1001 and the daemon exit with 0 within 120 s. It fails if a log
# says ERROR SUMMARY other than 0 errors, if a process died of a signal
# under memcheck, or if fewer than four logs (master, logger, worker,
# statsdump) were written. It takes a few seconds.

VALGRIND_B	= build/valgrind
VALGRIND_CFLAGS	= -g -O1 -fno-omit-frame-pointer
VALGRIND_MAKE	= $(MAKE) B=$(VALGRIND_B) CFLAGS='$(VALGRIND_CFLAGS)'
VALGRIND_LOGS	= $(CURDIR)/$(VALGRIND_B)/logs

check-valgrind:
	@tools/install-deps valgrind
	$(VALGRIND_MAKE) $(VALGRIND_B)/pfhttpd $(VALGRIND_B)/statsdump
	rm -rf $(VALGRIND_LOGS)
	$(PYTHON) tools/valgrind-load $(CURDIR)/$(VALGRIND_B) $(VALGRIND_LOGS)

# -- lint -------------------------------------------------------------------
#
# cppcheck: the warning, performance and portability classes (style is
# left out: it is taste, and clang-format and review cover it), with the
# include paths and defines of the build, so that it sees what the
# compiler sees. Inline suppressions (// cppcheck-suppress id) carry
# their reason on the same line. Suppressed everywhere, by id:
#   getpwnamCalled, getgrnamCalled   "non-reentrant": every process here
#       is single-threaded by design (see docs/DESIGN.md, Processes),
#       so the *_r variants would buy nothing but buffer sizing
#
# clang-tidy: the checks in .clang-tidy at the root, which says why each
# family is in and why the few excluded ones are out; every warning is an
# error. Both look at src/*.c and tools/*.c (the tests are not linted).

LINT_SRCS	= $(SRCS) $(wildcard tools/*.c)
LINT_DEFINES	= -D_GNU_SOURCE \
		  -DPFHTTPD_CONF='"$(PREFIX)/etc/pfhttpd/pfhttpd.ini"'
LINT_INCLUDES	= -Isrc $(filter -I%,$(PKG_CFLAGS))

# The packages first, then a fresh make that sees their pkg-config flags
# (as make run does).
lint:
	@tools/install-deps lint
	$(MAKE) lint-cppcheck lint-clang-tidy

lint-cppcheck:
	@tools/install-deps lint
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
	    --enable=warning,performance,portability --std=c11 \
	    --library=posix --platform=unix64 $(LINT_DEFINES) -D__linux__ \
	    -D__GNUC__ $(LINT_INCLUDES) --suppress=missingIncludeSystem \
	    --suppress=getpwnamCalled --suppress=getgrnamCalled \
	    $(LINT_SRCS)

lint-clang-tidy:
	@tools/install-deps lint
	clang-tidy --quiet --warnings-as-errors='*' $(LINT_SRCS) -- \
	    -std=c11 $(LINT_DEFINES) -Isrc $(PKG_CFLAGS)
