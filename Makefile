# kakehi Makefile. Package specifics live in package/*.mak; per-program
# objects and libraries in src/*/deps-exe/<program>, turned into
# package/deps.mak by tools/gen-deps.sh.
#
# Everything built goes under $(B) (default build/), so a sanitizer build
# (B=build-asan) lives beside the normal one.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
SHELL := /bin/sh

B ?= build
DESTDIR ?=
SAN_FLAGS ?=
# make run: where the demo lives, and which ports it uses.
RUN_DIR ?= $(CURDIR)/run
QUICK ?=

# Defined before deps.mak is read: its prerequisite lists are expanded
# as they are read, so a later definition would leave them empty.
LIBKAKEHI := $(B)/libkakehi.a
LIBLLHTTP := $(B)/libllhttp.a

-include config.mak
include package/targets.mak
include package/deps.mak

# The targets that install the dependencies first run ./configure
# themselves, after the install: remaking config.mak as soon as it is read
# would run configure on a bare machine before the headers it checks exist.
SETUP_GOALS := deps check run bench check-fresh clean distclean
ifeq ($(filter $(SETUP_GOALS),$(MAKECMDGOALS)),)
config.mak:
	@test -f config.mak || ./configure
endif

ALL_CPPFLAGS := $(CPPFLAGS_AUTO) $(TLS_CPPFLAGS) $(NGHTTP2_CPPFLAGS) $(PCRE2_CPPFLAGS) -I$(LLHTTP_INCDIR) $(CPPFLAGS)
ALL_CFLAGS := $(CFLAGS_AUTO) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS := $(LDFLAGS_AUTO) $(SAN_FLAGS) $(LDFLAGS)

LLHTTP_OBJS := $(B)/llhttp/api.o $(B)/llhttp/http.o $(B)/llhttp/llhttp.o

PROGRAMS := $(addprefix $(B)/bin/,$(BIN_TARGETS) $(LIBEXEC_TARGETS))
TEST_TOOLS := $(addprefix $(B)/tests/tools/,$(TEST_TOOL_TARGETS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(UNIT_SRCS))
# The longest files start first, so that no one of them begins last and
# keeps the run going alone at its end (prove -j takes them in order).
SLOW_TESTS := $(addprefix tests/integration/,worker/testssl.t \
	worker/timeouts.t worker/tcp.t worker/h2flood.t worker/proxy-protocol.t \
	e2e/rolling.t supervisor/clients.t worker/smuggling.t worker/queue.t)
INTEGRATION_TESTS := $(SLOW_TESTS) \
	$(filter-out $(SLOW_TESTS),$(sort $(wildcard tests/integration/*/*.t)))

.PHONY: all tests check check-fast check-asan check-soak check-fresh install run bench bench-control clean distclean deps

all: config.mak $(PROGRAMS)

$(B)/%.o: %.c config.mak
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# llhttp is compiled from the distribution's C sources into a private
# static library; its own warnings are not ours to fix.
$(B)/llhttp/%.o: $(LLHTTP_SRCDIR)/%.c config.mak
	@mkdir -p $(dir $@)
	$(CC) -I$(LLHTTP_INCDIR) $(filter-out -Wall -Wextra,$(ALL_CFLAGS)) -w -c -o $@ $<

$(LIBLLHTTP): $(LLHTTP_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rc $@ $^

$(LIBKAKEHI): $(LIBKAKEHI_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rc $@ $^

$(B)/bin/%:
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o %.a,$^) $(EXTRA_LIBS) $(ALL_LDFLAGS)

# A static pattern: a plain $(B)/tests/tools/% rule would also claim the
# tools' own objects (shorter stem than $(B)/%.o) and link nothing.
$(TEST_TOOLS): $(B)/tests/tools/%:
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.o %.a,$^) $(EXTRA_LIBS) $(ALL_LDFLAGS)

# Unit tests may include the .c they test to reach its statics, so they
# link against the whole library set of the worker, and are rebuilt when
# any source changes.
$(B)/tests/unit/%: tests/unit/%.c $(LIBKAKEHI) $(LIBLLHTTP) config.mak tests/unit/tap.h \
    $(wildcard src/*/*.c src/*/*.h src/include/kakehi/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Isrc -Itests/unit $(ALL_CFLAGS) -o $@ $< $(LIBKAKEHI) $(LIBLLHTTP) \
	  $(SKALIBS_LIBS) $(TLS_LIBS) $(NGHTTP2_LIBS) $(PCRE2_LIBS) $(CRYPT_LIBS) $(ALL_LDFLAGS)

tests: all $(TEST_TOOLS) $(UNIT_TESTS)

deps:
	./tools/install-deps

# The whole suite, as CI runs it: dependencies, build, unit and
# integration tests, then the same again under ASan+UBSan.
check: deps
	@test -f config.mak || ./configure
	$(MAKE) check-fast
	$(MAKE) check-asan

# tools/check-tools stops the run before the build when a command the
# tests need is missing, naming its package (tools/install-deps --list).
# KK_SANITIZED=1 tells the tests of the sanitizer pass (check-asan) that
# they run under sanitizers; the few that only judge a configuration skip.
# Four test files run at once, on two cores: most of a hitless test's
# time is spent waiting (drains, timeouts, loads of a few seconds: a pass
# at three at once kept 1.3 cores busy), and each test has its own ports
# and temporary directory. CHECK_JOBS=1 runs them one by one.
CHECK_JOBS ?= 4
# The builds of check-fast use every CPU: built one file at a time, the two
# builds of make check took about 150 s of its 10 minutes.
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check-fast:
	@./tools/check-tools -n "make check" build check
	$(MAKE) -j$(BUILD_JOBS) tests
	KK_BIN=$(CURDIR)/$(B)/bin KK_TESTBIN=$(CURDIR)/$(B)/tests/tools \
	  KK_SANITIZED=$(if $(SAN_FLAGS),1) \
	  prove -f -j$(CHECK_JOBS) $(UNIT_TESTS) $(INTEGRATION_TESTS)

check-asan:
	$(MAKE) B=build-asan SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" check-fast

# The hitless-operation tests at their full lengths (tens of seconds
# each, doc/testing.html); make check runs them shortened.
check-soak:
	@./tools/check-tools -n "make check-soak" build check
	$(MAKE) tests
	KK_SOAK=1 KK_BIN=$(CURDIR)/$(B)/bin KK_TESTBIN=$(CURDIR)/$(B)/tests/tools \
	  prove -f $(sort $(wildcard tests/integration/e2e/*.t))

install: all
	./tools/install.sh -D "$(DESTDIR)$(bindir)" -m 0755 $(PROGRAMS)
	./tools/install.sh -D "$(DESTDIR)$(docdir)" -m 0644 doc/*.html

run: deps
	@test -f config.mak || ./configure
	$(MAKE) all $(TEST_TOOLS)
	KK_BIN=$(CURDIR)/$(B)/bin KK_TESTBIN=$(CURDIR)/$(B)/tests/tools RUN_DIR=$(RUN_DIR) ./tools/run-demo

# A bare Debian 12 root runs make check and make run from a clone of HEAD
# (doc/testing.html): run it after changing dependencies, the build or the
# test harness. It needs root; not part of make check.
check-fresh:
	./tools/install-deps --fresh
	./tools/check-fresh

bench:
	./tools/install-deps --bench
	@test -f config.mak || ./configure
	$(MAKE) B=build-bench CFLAGS="-O3 -DNDEBUG" build-bench/tests/tools/kk-testbackend
	@# A kakehi that does not build is reported by the bench as failed,
	@# next to the figures of the others, rather than stopping here.
	$(MAKE) B=build-bench CFLAGS="-O3 -DNDEBUG" all || \
	  echo "make bench: kakehi did not build; the bench reports it as failed" 1>&2
	KK_BIN=$(CURDIR)/build-bench/bin KK_TESTBIN=$(CURDIR)/build-bench/tests/tools QUICK=$(QUICK) ./bench/run

# The control plane as the state grows (bench/control says what it
# measures): 100, 10 000 and 100 000 sites, 2 workers, 200 changes each;
# then 10 000 certificates (bench/tls-load: start to ready, CPU per
# handshake; QUICK=1: 1 000 certificates and fewer handshakes).
bench-control:
	@test -f config.mak || ./configure
	$(MAKE) B=build-bench CFLAGS="-O3 -DNDEBUG" all
	./bench/control -b $(CURDIR)/build-bench/bin -n 100,10000,100000 -w 2 -c 200
	QUICK=$(QUICK) ./bench/tls-load -b $(CURDIR)/build-bench/bin

clean:
	rm -rf $(B) build-asan build-bench

distclean: clean
	rm -f config.mak src/include/kakehi/config.h

# libFuzzer targets, one per parser (tests/fuzz/README): built with clang,
# never part of check; run them by hand.
FUZZ_CC ?= clang
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(sort $(wildcard tests/fuzz/*.c)))
.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)
# Each target includes the worker sources it tests; llhttp (for h1) is
# linked from the same private library as the worker's.
$(FUZZ_TARGETS): $(B)/fuzz/%: tests/fuzz/%.c $(wildcard src/worker/*.c src/worker/*.h) \
    $(LIBLLHTTP) config.mak
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -Isrc -std=c99 -Wall -Wextra -g -O1 \
	  -fsanitize=fuzzer,address,undefined -o $@ $< $(LIBLLHTTP)
