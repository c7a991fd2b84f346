/* ISC license. */
/* A minimal TAP producer for the C unit tests: ok(), is_str(), is_int(),
 * then done() prints the plan and returns the exit code. */
#ifndef KAKEHI_TESTS_TAP_H
#define KAKEHI_TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static unsigned tap_n, tap_failed;

static int
tap_ok(int cond, const char *name, const char *file, int line)
{
	tap_n++;
	printf("%sok %u - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

#define ok(cond, ...) do { char tap_name_[512]; snprintf(tap_name_, sizeof tap_name_, __VA_ARGS__); \
	tap_ok(!!(cond), tap_name_, __FILE__, __LINE__); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *w_ = (want); char tap_name_[512]; \
	snprintf(tap_name_, sizeof tap_name_, __VA_ARGS__); \
	if (!tap_ok(g_ && w_ ? !strcmp(g_, w_) : g_ == w_, tap_name_, __FILE__, __LINE__)) \
		printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
#define is_int(got, want, ...) do { long long g_ = (got), w_ = (want); char tap_name_[512]; \
	snprintf(tap_name_, sizeof tap_name_, __VA_ARGS__); \
	if (!tap_ok(g_ == w_, tap_name_, __FILE__, __LINE__)) \
		printf("#   got:  %lld\n#   want: %lld\n", g_, w_); } while (0)

static int
done(void)
{
	printf("1..%u\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
