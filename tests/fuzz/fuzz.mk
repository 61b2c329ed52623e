# Fuzzing: libFuzzer harnesses in tests/fuzz/, one per target (see
# tests/fuzz/README). Included by the main Makefile.
#
#   make fuzz            build with clang and libFuzzer (ASan + UBSan), fuzz
#                        each target for FUZZ_SECONDS (default 60) from its
#                        corpus, print executions, exec/s, cov and ft;
#                        make -j2 fuzz runs two targets at a time
#   make fuzz-TARGET     one target: fuzz-http_parse, fuzz-path, ...
#   make fuzz-replay     build the harnesses without libFuzzer (CC, with ASan
#                        + UBSan when CC has them) and run every corpus file
#                        once through its harness: fast, deterministic, a test
#   make fuzz-merge      minimise each corpus with what fuzzing found
#                        (fuzz-merge-TARGET for one); named files are kept
#   make fuzz-clean      remove build/fuzz
#
# Whatever builds with libFuzzer installs clang and its runtimes first
# (tools/install-deps fuzz). Everything built or found goes to $(B)/fuzz:
# new inputs to $(B)/fuzz/scratch/TARGET, crashes to
# $(B)/fuzz/artifacts/TARGET, logs to $(B)/fuzz/logs. The committed corpus
# changes only with fuzz-merge.

FUZZ_TARGETS = http_parse path range wsproto utf8 config chatev telnet \
	       chatcmd chatmsg transcript wsinflate wsext chatredis accenc \
	       htpasswd autoindex
FUZZ_SECONDS ?= 60
FUZZ_CC	     ?= clang
FUZZ_FLAGS   ?=
FUZZ_D	      = tests/fuzz
FUZZ_B	      = $(B)/fuzz

# The server's sources the harnesses exercise, built for each harness
# (config.c loads TLS certificates: tls.c and what it logs with; it reads
# [chat] redis with redisaddr.c). They link with PKG_LIBS, zlib included
# (wsdeflate.c).
FUZZ_SRCS    = http_parse path range wsproto utf8 config listen chatev auth \
	       chatfmt telnet chatcmd httpdate chatmsg transcript htpasswd \
	       tls log logrec logring shm bcast wsdeflate wsext redisaddr \
	       chatredis accenc iplimit cachectl errpage beneath vhost \
	       autoindex
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  = $(ALL_CFLAGS) -O1 -g -fno-omit-frame-pointer -Isrc -I$(FUZZ_D)
FUZZ_HEADERS = $(HEADERS) $(FUZZ_D)/fuzz.h
# fuzz_config resolves numeric hosts only: see the harness.
FUZZ_LDFLAGS_config = -Wl,--wrap=getaddrinfo

# What the replay build gets from CC: ASan and UBSan if CC can build and
# run a program with them, else nothing. Worked out once, when first used.
FUZZ_REPLAY_SAN = $(eval FUZZ_REPLAY_SAN := $(shell \
	f=$$(mktemp) && printf 'int main(void){return 0;}\n' | \
	$(CC) $(FUZZ_SAN) -x c -o $$f - >/dev/null 2>&1 && $$f && \
	echo '$(FUZZ_SAN)'; rm -f $$f))$(FUZZ_REPLAY_SAN)
FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

FUZZ_LF_OBJS = $(FUZZ_SRCS:%=$(FUZZ_B)/lf/obj/%.o)
FUZZ_RP_OBJS = $(FUZZ_SRCS:%=$(FUZZ_B)/replay/obj/%.o)
FUZZ_LF_BINS = $(FUZZ_TARGETS:%=$(FUZZ_B)/lf/fuzz_%)
FUZZ_RP_BINS = $(FUZZ_TARGETS:%=$(FUZZ_B)/replay/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-replay-build fuzz-merge fuzz-clean \
	fuzz-report fuzz-force fuzz-deps $(FUZZ_TARGETS:%=fuzz-%) \
	$(FUZZ_TARGETS:%=fuzz-merge-%)

fuzz-force:

# A build's compiler and flags, rewritten only when they change, so that
# switching CC or CFLAGS rebuilds its objects and nothing else does.
$(FUZZ_B)/lf/flags $(FUZZ_B)/replay/flags: fuzz-force
	@mkdir -p $(@D)
	@printf '%s\n' "$(subst ",\",$(FUZZ_ID))" > $@.$$$$; \
	if cmp -s $@.$$$$ $@; then rm -f $@.$$$$; else mv $@.$$$$ $@; fi
$(FUZZ_B)/lf/flags: FUZZ_ID = $(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN)
$(FUZZ_B)/replay/flags: FUZZ_ID = $(CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN)

# Every libFuzzer build needs lf/flags: clang is installed before it.
$(FUZZ_B)/lf/flags: | fuzz-deps
fuzz-deps:
	@tools/install-deps fuzz

# libFuzzer build: coverage-instrumented objects, linked with the fuzzer.
$(FUZZ_B)/lf/obj/%.o: src/%.c $(HEADERS) $(FUZZ_B)/lf/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<
$(FUZZ_B)/lf/harness/%.o: $(FUZZ_D)/%.c $(FUZZ_HEADERS) $(FUZZ_B)/lf/flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<
$(FUZZ_B)/lf/fuzz_%: $(FUZZ_B)/lf/harness/fuzz_%.o $(FUZZ_LF_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) \
	    $(FUZZ_LDFLAGS_$*)

# Replay build: the same harnesses with replay_main.c for a main.
$(FUZZ_B)/replay/obj/%.o: src/%.c $(HEADERS) $(FUZZ_B)/replay/flags
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN) -c -o $@ $<
$(FUZZ_B)/replay/harness/%.o: $(FUZZ_D)/%.c $(FUZZ_HEADERS) \
    $(FUZZ_B)/replay/flags
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN) -c -o $@ $<
$(FUZZ_B)/replay/fuzz_%: $(FUZZ_B)/replay/harness/fuzz_%.o \
    $(FUZZ_B)/replay/harness/replay_main.o $(FUZZ_RP_OBJS)
	$(CC) $(FUZZ_REPLAY_SAN) -o $@ $^ $(PKG_LIBS) $(FUZZ_LDFLAGS_$*)

.PRECIOUS: $(FUZZ_B)/lf/harness/%.o $(FUZZ_B)/replay/harness/%.o \
	$(FUZZ_B)/lf/obj/%.o $(FUZZ_B)/replay/obj/%.o

fuzz-build: $(FUZZ_LF_BINS)
fuzz-replay-build: $(FUZZ_RP_BINS)

# Every corpus file through its harness, once; fails on the first target
# whose harness asserts or whose sanitizer reports, after trying them all.
fuzz-replay: $(FUZZ_RP_BINS)
	@failed=; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_ENV) $(FUZZ_B)/replay/fuzz_$$t $(FUZZ_D)/corpus/$$t || \
		failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "fuzz-replay: FAILED:$$failed"; exit 1; \
	fi

# Fuzz one target for FUZZ_SECONDS; its summary goes to logs/TARGET.sum.
$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_B)/lf/fuzz_%
	@mkdir -p $(FUZZ_B)/scratch/$* $(FUZZ_B)/artifacts/$* $(FUZZ_B)/logs
	@echo "fuzz_$*: fuzzing for $(FUZZ_SECONDS)s, log in $(FUZZ_B)/logs/$*.log"
	@$(FUZZ_ENV) $< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_B)/artifacts/$*/ \
	    $(addprefix -dict=,$(wildcard $(FUZZ_D)/$*.dict)) $(FUZZ_FLAGS) \
	    $(FUZZ_B)/scratch/$* $(FUZZ_D)/corpus/$* \
	    > $(FUZZ_B)/logs/$*.log 2>&1; rc=$$?; \
	awk -v t=$* -v rc=$$rc -v s=$(FUZZ_SECONDS) \
	    -v corpus=$$(ls $(FUZZ_D)/corpus/$* | wc -l) \
	    -v new=$$(ls $(FUZZ_B)/scratch/$* | wc -l) ' \
	    /cov: / { for (i = 1; i < NF; i++) { \
		if ($$i == "cov:") cov = $$(i + 1); \
		if ($$i == "ft:") ft = $$(i + 1); } } \
	    /^stat::number_of_executed_units:/ { execs = $$2 } \
	    /^stat::average_exec_per_sec:/ { eps = $$2 } \
	    END { printf "%-11s %6s %12s %8s %6s %7s %7s %7s  %s\n", t, s, \
		execs, eps, cov, ft, corpus, new, \
		rc == 0 ? "ok" : "FAILED (see the log)" }' \
	    $(FUZZ_B)/logs/$*.log > $(FUZZ_B)/logs/$*.sum; \
	cat $(FUZZ_B)/logs/$*.sum; \
	if [ $$rc -ne 0 ]; then \
	    tail -n 40 $(FUZZ_B)/logs/$*.log; \
	    ls -l $(FUZZ_B)/artifacts/$*; exit 1; \
	fi

# All targets (two at a time with -j2), then one table; fails if any did.
# The packages first, then a fresh make that sees their pkg-config flags.
fuzz:
	@tools/install-deps fuzz
	@rm -f $(FUZZ_TARGETS:%=$(FUZZ_B)/logs/%.sum)
	@$(MAKE) --no-print-directory -k $(FUZZ_TARGETS:%=fuzz-%); rc=$$?; \
	$(MAKE) --no-print-directory fuzz-report; exit $$rc

fuzz-report:
	@printf "%-11s %6s %12s %8s %6s %7s %7s %7s  %s\n" target seconds \
	    executions exec/s cov ft corpus new result
	@for t in $(FUZZ_TARGETS); do \
	    cat $(FUZZ_B)/logs/$$t.sum 2>/dev/null || \
		printf "%-11s (not run or not built)\n" $$t; \
	done

# Minimise a corpus: a fresh directory seeded with the named files (seeds
# and crash-*, always kept), merged with the corpus and what fuzzing found;
# it then replaces the corpus.
$(FUZZ_TARGETS:%=fuzz-merge-%): fuzz-merge-%: $(FUZZ_B)/lf/fuzz_%
	@set -e; fresh=$(FUZZ_B)/merge/$*; corpus=$(FUZZ_D)/corpus/$*; \
	mkdir -p $(FUZZ_B)/scratch/$* $(FUZZ_B)/logs; \
	rm -rf $$fresh; mkdir -p $$fresh; \
	for f in $$corpus/*; do \
	    n=$${f##*/}; \
	    if ! echo "$$n" | grep -Eq '^[0-9a-f]{40}$$'; then \
		cp "$$f" $$fresh/; fi; \
	done; \
	before=$$(( $$(ls $$corpus | wc -l) + \
	    $$(ls $(FUZZ_B)/scratch/$* | wc -l) )); \
	$(FUZZ_ENV) $< -merge=1 $$fresh $$corpus $(FUZZ_B)/scratch/$* \
	    > $(FUZZ_B)/logs/merge-$*.log 2>&1 || \
	    { tail -n 30 $(FUZZ_B)/logs/merge-$*.log; exit 1; }; \
	rm -f $$corpus/*; cp $$fresh/* $$corpus/; \
	echo "fuzz_$*: corpus + found: $$before files, merged: $$(ls $$corpus | wc -l)"

fuzz-merge: $(FUZZ_TARGETS:%=fuzz-merge-%)

fuzz-clean:
	rm -rf $(FUZZ_B)
