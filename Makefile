# tern - a small forking SMTP mail transfer agent.
# Plain make: builds ternd and its commands with -Wall -Wextra -Werror -O2.

CC      ?= cc
CFLAGS  ?= -O2
# -iquote: our headers are found by #include "x.h" only, so a header in
# include/ can never shadow a system one of the same name (<pthread.h>
# includes <sched.h>, for one).
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror -iquote include
LDLIBS  += -lresolv -lcrypt
# TLS: OpenSSL 3 (Debian's libssl-dev), found with pkg-config and built in
# when present; `make TLS=no` builds the variant without it.  The choice is
# kept in build/tls, so that changing it rebuilds every object.
TLS     ?= $(shell pkg-config --exists 'openssl >= 3' 2>/dev/null && echo yes || echo no)
ifeq ($(TLS),yes)
CFLAGS  += -DTERN_TLS $(shell pkg-config --cflags openssl)
LDLIBS  += $(shell pkg-config --libs openssl)
else ifneq ($(TLS),no)
$(error TLS must be yes or no, not "$(TLS)")
endif
# Bind every symbol at start: forked children then resolve nothing again.
LDFLAGS += -Wl,-z,now -Wl,-z,relro
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SPOOLDIR ?= /var/spool/tern

# One folder per process under src/, and src/lib for what they share (see
# src/README); file names are unique across folders, so objects are flat.
SRCDIRS = $(patsubst %/,%,$(sort $(dir $(wildcard src/*/*.c))))
vpath %.c $(SRCDIRS)
MAINS   = $(wildcard src/*/main_*.c)
PROGS   = $(patsubst main_%.c,%,$(notdir $(MAINS)))
LIBSRC  = $(filter-out $(MAINS),$(wildcard src/*/*.c))
LIBOBJ  = $(patsubst %.c,build/%.o,$(notdir $(LIBSRC)))
HDRS    = $(wildcard include/*.h src/*/*.h) build/tls
# Tests and fuzz targets may include a folder's private header.
PRIVINC = $(addprefix -iquote ,$(SRCDIRS))

# The test build: same sources, AddressSanitizer + UndefinedBehaviorSanitizer.
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TLIBOBJ = $(patsubst %.c,build/test/%.o,$(notdir $(LIBSRC)))
UNITSRC = $(wildcard tests/unit/test_*.c)
UNITBIN = $(UNITSRC:tests/unit/%.c=build/test/%)

all: $(PROGS:%=bin/%)

# build/tls holds "yes" or "no"; rewritten only when the choice changes.
build/tls: FORCE
	@mkdir -p build
	@echo $(TLS) | cmp -s - $@ || echo $(TLS) > $@
FORCE:

build/%.o: %.c $(HDRS)
	@mkdir -p build
	$(CC) $(CFLAGS) -c -o $@ $<

build/libtern.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $(LIBOBJ)

bin/%: build/main_%.o build/libtern.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/libtern.a $(LDLIBS)

build/test/%.o: %.c $(HDRS)
	@mkdir -p build/test
	$(CC) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

build/test/libtern.a: $(TLIBOBJ)
	rm -f $@ && ar rcs $@ $(TLIBOBJ)

build/test/bin/%: main_%.c build/test/libtern.a
	@mkdir -p build/test/bin
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $< build/test/libtern.a $(LDLIBS)

build/test/test_%: tests/unit/test_%.c tests/unit/unit.h build/test/libtern.a
	$(CC) $(CFLAGS) $(SANFLAGS) $(PRIVINC) -iquote tests/unit -o $@ $< build/test/libtern.a $(LDLIBS)

testbuild: $(PROGS:%=build/test/bin/%) $(UNITBIN)

# make test: build the programs (-O2 finds warnings -O1 misses) and the
# sanitizer variant, then run unit and integration tests.
test: all testbuild
	python3 tests/run.py

# make unittest: the sanitizer build and its unit tests alone (CI runs it
# for the TLS=no variant).
unittest: testbuild
	python3 tests/run.py --unit

# make crashtest: the crash trials of issue 11 (tests/crashtest.py):
# CRASH_TRIALS SIGKILLs (default 1000, about 10 minutes), then
# POWER_TRIALS power cuts through tests/faultshim.c (default 50).
crashtest: all testbuild
	python3 tests/crashtest.py
	python3 tests/crashtest.py --power

# make soak: issue 11's soak run (tests/soak.py), SOAK_MSGS messages
# (default 100000) relayed by the release build to build/soaksink, which
# drops 10 % of its connections; a few minutes.
build/soaksink: tests/soaksink.c
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ tests/soaksink.c

soak: all build/soaksink
	python3 tests/soak.py

# make run: the server in the foreground on 127.0.0.1:2525, spool under run/.
run: all
	@sh tests/make-run.sh

bench: all
	@sh tests/bench/bench.sh

# make bench-scale: issue 13's figures at a million messages (not part of
# make test; tests/bench/scale.sh says what and how)
bench-scale: all
	@sh tests/bench/scale.sh

install: all
	sh etc/install.sh

clean:
	rm -rf build bin run

.PHONY: all test testbuild unittest crashtest soak run bench bench-scale install clean fuzz FORCE
.PRECIOUS: build/%.o build/test/%.o

# make fuzz: libFuzzer targets in tests/fuzz/ (see tests/fuzz/README),
# each run FUZZ_SECONDS; corpora in build/fuzz/corpus/, crashes in build/fuzz/.
FUZZ_SECONDS ?= 30
FUZZCC   = clang
FUZZBASE = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O1 -iquote include
FUZZSRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZBIN  = $(FUZZSRC:tests/fuzz/%.c=build/fuzz/%)
FUZZOBJ  = $(patsubst %.c,build/fuzz/%.o,$(notdir $(LIBSRC)))

$(FUZZOBJ): build/fuzz/%.o: %.c $(HDRS)
	@mkdir -p build/fuzz
	$(FUZZCC) $(FUZZBASE) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZBIN): build/fuzz/%: tests/fuzz/%.c $(FUZZOBJ)
	$(FUZZCC) $(FUZZBASE) $(PRIVINC) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZOBJ) $(LDLIBS)

fuzz: $(FUZZBIN)
	@for f in $(FUZZBIN); do \
		t=$${f#build/fuzz/fuzz_}; mkdir -p build/fuzz/corpus/$$t; \
		seeds=; [ -d tests/fuzz/corpus/$$t ] && seeds=tests/fuzz/corpus/$$t; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "== $$f: $(FUZZ_SECONDS)s, log in build/fuzz/$$t.log"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
		    -artifact_prefix=build/fuzz/$$t- build/fuzz/corpus/$$t \
		    $$seeds >build/fuzz/$$t.log 2>&1; rc=$$?; \
		grep -E 'executed_units|SUMMARY|Test unit written' build/fuzz/$$t.log; \
		[ $$rc = 0 ] || { tail -40 build/fuzz/$$t.log; exit 1; }; \
	done
