# pfhttpd: build, test, run, install.
#
#   make            build build/pfhttpd
#   make run        install missing packages, build, run on etc/pfhttpd.ini
#   make test       install missing packages, build, run every test (unit,
#                   fuzzing corpora replayed, man pages, integration)
#   make bench      install wrk, nginx, nchan, lighttpd, openssl,
#                   redis-server and Node's ws, build, then pfhttpd against nginx and
#                   lighttpd (static files), nginx over TLS (tls-*:
#                   keep-alive, and Connection: close with full and
#                   resumed handshakes), Node's ws (WebSocket echo, plain,
#                   wss-* and compressed: ws-4k-json-deflate), and nchan
#                   and a ws chat server (a chat room, plain and
#                   compressed: chat-1k-json, chat-1k-deflate), and nchan
#                   in a room on two instances sharing a private
#                   redis-server (chat-2x-sat, chat-2x-rate) side by
#                   side: BENCH_SECONDS per run, BENCH_RUNS
#                   runs, BENCH_FLAGS for tools/bench (e.g. "--cases
#                   1k-ka-50 --workers 1"; tools/bench -h); results in
#                   build/bench/results-*.json and last.json
#   make bench-log  the access log's cost: pfhttpd with it on and off
#   make bench-wsmem  a worker's memory per idle WebSocket connection,
#                   plain and with permessage-deflate (tools/wsmem, with
#                   build/wsidle): WSMEM_CONNS connections (10000) per
#                   scenario, WSMEM_FLAGS for tools/wsmem (e.g.
#                   "--scenarios echo,echo-deflate-msg"); about a minute
#   make bench-compare  the last bench against the one before it, or
#                   against BASE=build/bench/results-....json; runs nothing
#   make testssl    testssl.sh against pfhttpd's default TLS settings (a
#                   private certificate): protocols and findings of
#                   severity LOW or above, which should be none
#   make syscount   the system calls of one worker per fixed workload
#                   (strace -c), side by side with SYSCOUNT_BASE=another
#                   pfhttpd binary if given; fails if the counts differ
#   make install    PREFIX=/usr/local DESTDIR= SYSTEMDUNITDIR= (see below)
#   make uninstall  the same variables; keeps pfhttpd.ini and the logs
#   make format     clang-format every C file (FORMAT_SRCS) in place
#   make format-check  fail, showing where, if one is not formatted
#
# Each target that needs Debian packages installs them first with
# tools/install-deps and its purpose (run, test, bench, ...: the sets are
# at the top of that script).
#
# make install puts pfhttpd in PREFIX/sbin, statsdump in PREFIX/bin, the
# man pages in PREFIX/share/man, the default site in
# PREFIX/share/pfhttpd/htdocs, etc/haproxy.cfg.example (HAProxy in front
# of several instances) in PREFIX/share/doc/pfhttpd, and
# etc/pfhttpd.production.ini as
# PREFIX/etc/pfhttpd/pfhttpd.ini.default and, only if there is none, as
# pfhttpd.ini (the path compiled into pfhttpd). Outside PREFIX, under
# DESTDIR: /etc/init.d/pfhttpd, SYSTEMDUNITDIR/pfhttpd.service,
# /etc/logrotate.d/pfhttpd and /var/log/pfhttpd. @PREFIX@ in those files
# becomes PREFIX. It chowns nothing, so it runs without root for a
# DESTDIR. Then, as root: systemctl daemon-reload && systemctl enable
# --now pfhttpd (without systemd: update-rc.d pfhttpd defaults &&
# /etc/init.d/pfhttpd start).

PREFIX	?= /usr/local
DESTDIR	?=
SYSTEMDUNITDIR ?= /lib/systemd/system
CC	?= cc
CFLAGS	?= -O2 -g
PYTHON	?= /usr/bin/python3
PYTEST_FLAGS ?= -q
BENCH_SECONDS ?= 5
BENCH_RUNS ?= 3
BENCH_FLAGS ?=
WSMEM_CONNS ?= 10000
WSMEM_FLAGS ?=
BASE	?=
SYSCOUNT_BASE ?=

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wformat=2 -Werror
PKGS	 = libevent inih libssl libcrypto zlib hiredis libxcrypt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS) $(PKG_CFLAGS) \
	     -DPFHTTPD_CONF='"$(PREFIX)/etc/pfhttpd/pfhttpd.ini"'

B	 = build
SRCS	 = $(wildcard src/*.c)
OBJS	 = $(SRCS:src/%.c=$(B)/obj/%.o)
LIB_OBJS = $(filter-out $(B)/obj/main.o,$(OBJS))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all run test unit integration install uninstall clean format \
	format-check lint-man bench bench-log bench-compare bench-wsmem \
	syscount testssl

all: $(B)/pfhttpd $(B)/statsdump $(B)/wsload $(B)/chatload $(B)/tlsload \
    $(B)/wsidle

HEADERS	 = src/pfhttpd.h src/shm.h src/stats.h

$(B)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libpfhttpd.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(B)/pfhttpd: $(B)/obj/main.o $(B)/libpfhttpd.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/statsdump: tools/statsdump.c $(B)/libpfhttpd.a $(HEADERS)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(B)/libpfhttpd.a $(PKG_LIBS) -lm

# The load generators: libevent, libssl for TLS (wsload's wss,
# tlsload) and zlib for permessage-deflate (wsload, chatload, wsidle),
# none of the server's code; the client pieces they share are
# tools/wsclient.c (WebSocket, options, clock, histogram, JSON-like
# payloads), tools/pmdclient.c (permessage-deflate) and tools/tlsclient.c
# (TLS).
WSCLIENT = tools/wsclient.c tools/wsclient.h
PMDCLIENT = tools/pmdclient.c tools/pmdclient.h
TLSCLIENT = tools/tlsclient.c tools/tlsclient.h
TLS_CFLAGS := $(shell pkg-config --cflags libssl 2>/dev/null)
TLS_LIBS   := $(shell pkg-config --libs libssl 2>/dev/null)

$(B)/wsload: tools/wsload.c $(WSCLIENT) $(PMDCLIENT) $(TLSCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TLS_CFLAGS) -o $@ $< tools/wsclient.c \
	    tools/pmdclient.c tools/tlsclient.c $(PKG_LIBS) $(TLS_LIBS) -lm

$(B)/tlsload: tools/tlsload.c $(WSCLIENT) $(TLSCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TLS_CFLAGS) -o $@ $< tools/wsclient.c \
	    tools/tlsclient.c $(PKG_LIBS) $(TLS_LIBS) -lm

$(B)/chatload: tools/chatload.c tools/chatmark.c tools/chatmark.h \
    tools/chaturl.c tools/chaturl.h $(WSCLIENT) $(PMDCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< tools/chatmark.c tools/chaturl.c \
	    tools/wsclient.c tools/pmdclient.c $(PKG_LIBS) -lm

$(B)/wsidle: tools/wsidle.c $(WSCLIENT) $(PMDCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< tools/wsclient.c tools/pmdclient.c \
	    $(PKG_LIBS) -lm

# The chat benchmark's marker, tested without the server's library.
$(B)/tests/test_chatmark: tests/unit/test_chatmark.c tools/chatmark.c \
    tools/chatmark.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ $< tools/chatmark.c -lcmocka

# chatload's URL lists, tested alone.
$(B)/tests/test_chaturl: tests/unit/test_chaturl.c tools/chaturl.c \
    tools/chaturl.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ $< tools/chaturl.c -lcmocka

# The load tools' WebSocket pieces and permessage-deflate, tested without
# the server's library.
$(B)/tests/test_wsclient: tests/unit/test_wsclient.c $(WSCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ $< tools/wsclient.c -lcmocka -lm

$(B)/tests/test_pmdclient: tests/unit/test_pmdclient.c $(PMDCLIENT)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itools -o $@ $< tools/pmdclient.c -lcmocka \
	    $(PKG_LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libpfhttpd.a $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(B)/libpfhttpd.a $(PKG_LIBS) -lcmocka

# Here as in every target that installs packages: the packages first,
# then a fresh make, since pkg-config must run after they are installed,
# which a variable of this make could not see.
run:
	@tools/install-deps run
	$(MAKE) all
	mkdir -p var/log var/run
	$(B)/pfhttpd -f -c etc/pfhttpd.ini

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

integration: all
	PFHTTPD_BIN=$(CURDIR)/$(B)/pfhttpd $(PYTHON) -m pytest \
	    $(PYTEST_FLAGS) tests/integration

test:
	@tools/install-deps test
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) lint-man
	$(MAKE) integration

BENCH_ARGS = --seconds $(BENCH_SECONDS) --runs $(BENCH_RUNS)

# pfhttpd (access log on and off), nginx and lighttpd on static files,
# pfhttpd and nginx on static files over TLS (build/tlsload for the
# handshakes), pfhttpd and Node's ws on WebSocket echo (plain, over TLS,
# and compressed), pfhttpd, nchan and Node's ws in a chat room (plain and
# compressed), and pfhttpd and nchan in a room on two instances sharing a
# Redis, side by side (tools/bench).
bench:
	@tools/install-deps bench
	$(MAKE) all
	tools/bench $(BENCH_ARGS) $(BENCH_FLAGS)

# The cost of the access log (rings + logger): pfhttpd with it on and off.
bench-log:
	@tools/install-deps bench-log
	$(MAKE) all
	tools/bench $(BENCH_ARGS) --cases 1k-ka-50 --workers 1 \
	    --servers pfhttpd,pfhttpd-nolog $(BENCH_FLAGS)

# The RSS of a worker per idle WebSocket connection, plain and
# compressed, before and after one message each way (tools/wsmem).
bench-wsmem:
	@tools/install-deps bench-wsmem
	$(MAKE) all
	tools/wsmem --connections $(WSMEM_CONNS) $(WSMEM_FLAGS)

# pfhttpd in the last results against the results before, or BASE.
bench-compare:
	tools/bench-compare $(BASE)

# What one worker asks of the kernel per workload, or whether another
# binary asks the same (a refactoring that must not change it).
testssl:
	@tools/install-deps testssl
	$(MAKE) all
	tools/testssl --binary $(B)/pfhttpd --out $(B)/testssl

syscount:
	@tools/install-deps syscount
	$(MAKE) all
	tools/syscount $(if $(SYSCOUNT_BASE),--base $(SYSCOUNT_BASE)) \
	    $(B)/pfhttpd

lint-man:
	mandoc -Tlint -Wwarning man/*.[0-9]
	for m in man/*.[0-9]; do groff -mandoc -ww -z $$m 2>&1 | \
	    awk -v m=$$m '{ print m ": " $$0; bad = 1 } END { exit bad }' || exit 1; \
	done

# Installed files with @PREFIX@ replaced.
SUBST	 = sed -e 's|@PREFIX@|$(PREFIX)|g'
ETCDIR	 = $(DESTDIR)$(PREFIX)/etc/pfhttpd
HTDOCSDIR = $(DESTDIR)$(PREFIX)/share/pfhttpd/htdocs
DOCDIR	 = $(DESTDIR)$(PREFIX)/share/doc/pfhttpd
UNITDIR	 = $(DESTDIR)$(SYSTEMDUNITDIR)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(ETCDIR) $(HTDOCSDIR) \
	    $(DOCDIR) $(DESTDIR)/etc/init.d $(DESTDIR)/etc/logrotate.d \
	    $(UNITDIR)
	install -d -m 755 $(DESTDIR)/var/log/pfhttpd
	install -m 755 $(B)/pfhttpd $(DESTDIR)$(PREFIX)/sbin/pfhttpd
	install -m 755 $(B)/statsdump $(DESTDIR)$(PREFIX)/bin/statsdump
	install -m 644 man/statsdump.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/pfhttpd.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/pfhttpd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	$(SUBST) etc/pfhttpd.production.ini > $(ETCDIR)/pfhttpd.ini.default
	chmod 644 $(ETCDIR)/pfhttpd.ini.default
	test -e $(ETCDIR)/pfhttpd.ini || \
	    install -m 644 $(ETCDIR)/pfhttpd.ini.default $(ETCDIR)/pfhttpd.ini
	$(SUBST) etc/haproxy.cfg.example > $(DOCDIR)/haproxy.cfg.example
	chmod 644 $(DOCDIR)/haproxy.cfg.example
	$(SUBST) etc/init.d/pfhttpd > $(DESTDIR)/etc/init.d/pfhttpd
	chmod 755 $(DESTDIR)/etc/init.d/pfhttpd
	$(SUBST) etc/pfhttpd.service > $(UNITDIR)/pfhttpd.service
	chmod 644 $(UNITDIR)/pfhttpd.service
	$(SUBST) etc/logrotate.d/pfhttpd > $(DESTDIR)/etc/logrotate.d/pfhttpd
	chmod 644 $(DESTDIR)/etc/logrotate.d/pfhttpd
	cd htdocs && find . -type d | while read -r d; do \
	    install -d -m 755 "$(HTDOCSDIR)/$$d" || exit 1; done
	cd htdocs && find . -type f | while read -r f; do \
	    install -m 644 "$$f" "$(HTDOCSDIR)/$$f" || exit 1; done

# Everything install puts in place but pfhttpd.ini (yours) and the logs.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/pfhttpd $(DESTDIR)$(PREFIX)/bin/statsdump \
	    $(DESTDIR)$(PREFIX)/share/man/man1/statsdump.1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/pfhttpd.ini.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/pfhttpd.8 \
	    $(ETCDIR)/pfhttpd.ini.default $(DESTDIR)/etc/init.d/pfhttpd \
	    $(UNITDIR)/pfhttpd.service $(DESTDIR)/etc/logrotate.d/pfhttpd \
	    $(DOCDIR)/haproxy.cfg.example
	rm -rf $(HTDOCSDIR)
	rmdir $(DESTDIR)$(PREFIX)/share/pfhttpd $(DOCDIR) $(ETCDIR) \
	    2>/dev/null || true

# Fuzzing (tests/fuzz/fuzz.mk); sanitizers, valgrind, static analysis
# (tools/check.mk).
-include tests/fuzz/fuzz.mk
-include tools/check.mk

# Every C file, formatted by Debian 12's clang-format (14), which the
# repository's .clang-format is written for.
FORMAT_SRCS = $(wildcard src/*.c src/*.h tests/unit/*.c tests/fuzz/*.c \
	tests/fuzz/*.h tools/*.c tools/*.h)

format:
	@tools/install-deps format
	clang-format -i $(FORMAT_SRCS)

format-check:
	@tools/install-deps format
	@clang-format --version
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(B)
