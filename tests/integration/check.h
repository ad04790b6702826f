/* The checks of the root tests that do not use cmocka: a failed CHECK
 * prints where and what and counts in `failures`, which the test defines
 * (static int failures) and turns into its exit status at the end. */
#pragma once
#include <stdio.h>

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* A need of the test is missing: says which, for the exit status 77. */
static inline int vl_test_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return 77;
}
