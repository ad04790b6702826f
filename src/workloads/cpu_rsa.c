/* cpu.rsa: generates RSA private keys through libcrypto's EVP API, as
 * `openssl genrsa` does (two primes, exponent 65537). Only generation is
 * timed; each key is then checked (size, private part, pairwise consistency)
 * outside the clock, because genrsa does not check its keys. Thread t of T
 * takes keys t, t + T, t + 2T ...: a fixed share, so that with a seed the
 * busiest thread's work is the same in every run.
 *
 * The time of one key depends on the primes drawn (40 to 400 ms at 2048 bits
 * here), so a handful of random keys varies by 20% from run to run. With a
 * seed, key i is drawn from a fixed stream of (seed, i): every run generates
 * the same keys, whichever thread takes them, and only the platform varies.
 * The stream feeds libcrypto's TEST-RAND generator in a library context of
 * the workload's own; such keys are for measuring, never for use. */
#include "workloads/registry.h"
#include "workloads/threads.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the fixed stream offered per key at first; doubled (the same
 * stream, longer) when a key needs more. */
#define STREAM_START_BYTES (256u << 10)
#define STREAM_MAX_BYTES   (64u << 20)

static const struct vl_param_spec params[] = {
        {.name = "keys",
         .type = VL_PARAM_INT,
         .def = "500",
         .min = 1,
         .max = 100000,
         .help = "keys to generate"},
        {.name = "bits",
         .type = VL_PARAM_INT,
         .def = "2048",
         .min = 512,
         .max = 16384,
         .help = "modulus size of each key"},
        {.name = "threads",
         .type = VL_PARAM_INT,
         .def = "1",
         .min = 1,
         .max = 1024,
         .help = "threads sharing the keys"},
        {.name = "seed",
         .type = VL_PARAM_INT,
         .def = "1",
         .min = 0,
         .max = 1000000000,
         .help = "draws the same keys in every run; 0: the system's randomness, as genrsa"},
        {0},
};

static const struct vl_metric_spec metrics[] = {
        {.name = "keys_per_sec",
         .unit = "keys/s",
         .better = +1,
         .help = "keys over the generation time"},
        {.name = "seconds",
         .unit = "s",
         .better = -1,
         .help = "time spent generating (the busiest thread's), checks excluded"},
        {0},
};

enum outcome { KEYS_OK, KEYS_ERROR, KEYS_BAD };

struct worker {
	uint64_t keys;
	uint64_t busy_ns;
	enum outcome outcome;
	char reason[200];
};

struct run {
	int bits;
	int64_t keys;
	uint64_t seed;
	OSSL_LIB_CTX *libctx; /* NULL: the default context and its randomness */
	unsigned threads;
	const volatile int *stop;
	struct worker *workers;
};

static void note(struct worker *w, enum outcome outcome, const char *what)
{
	char ssl[120];

	ERR_error_string_n(ERR_get_error(), ssl, sizeof(ssl));
	ERR_clear_error();
	w->outcome = outcome;
	snprintf(w->reason, sizeof(w->reason), "%s (%s)", what, ssl);
}

static enum outcome check_key(EVP_PKEY *key, int bits, struct worker *w)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if (EVP_PKEY_get_bits(key) != bits) {
		snprintf(w->reason, sizeof(w->reason), "a %d-bit key came out for %d bits",
		         EVP_PKEY_get_bits(key), bits);
		return KEYS_BAD;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (!ctx) {
		note(w, KEYS_ERROR, "EVP_PKEY_CTX_new_from_pkey failed");
		return KEYS_ERROR;
	}
	ok = EVP_PKEY_private_check(ctx) == 1 && EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		note(w, KEYS_BAD, "a generated key failed its private or pairwise check");
		return KEYS_BAD;
	}
	return KEYS_OK;
}

/* splitmix64: a fast, well-mixed stream; it only has to look random to a
 * prime search. */
static uint64_t next_stream_word(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fill_stream(unsigned char *buf, size_t len, uint64_t seed, uint64_t key)
{
	uint64_t state = seed * 0x100000001b3ull ^ key;

	for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
		uint64_t word = next_stream_word(&state);
		memcpy(buf + i, &word, sizeof(word));
	}
}

/* Points this thread's private generator of run->libctx at the stream. */
static bool offer_stream(struct run *run, unsigned char *buf, size_t len)
{
	EVP_RAND_CTX *rand = RAND_get0_private(run->libctx);
	unsigned strength = 1024;
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, buf, len),
	        OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength),
	        OSSL_PARAM_END,
	};

	return rand && EVP_RAND_CTX_set_params(rand, params) == 1;
}

/* One key, timed: from the system's randomness, or from the stream of key
 * `index`, retried with a longer stream (the same keys come out) when the
 * prime search used it up. */
static int generate_key(struct run *run, EVP_PKEY_CTX *ctx, uint64_t index, EVP_PKEY **key,
                        uint64_t *ns)
{
	size_t len = STREAM_START_BYTES;

	for (;;) {
		cleanup_free unsigned char *buf = NULL;
		uint64_t start;
		int rc;

		if (run->libctx) {
			buf = malloc(len);
			if (!buf)
				return 0;
			fill_stream(buf, len, run->seed, index);
			if (!offer_stream(run, buf, len))
				return 0;
		}
		start = vl_now_ns();
		rc = EVP_PKEY_generate(ctx, key);
		*ns = vl_now_ns() - start;
		if (rc > 0 || !run->libctx || len >= STREAM_MAX_BYTES)
			return rc;
		ERR_clear_error();
		len *= 2;
	}
}

static void work(void *arg, unsigned index)
{
	struct run *run = arg;
	struct worker *w = &run->workers[index];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(run->libctx, "RSA", NULL);

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, run->bits) <= 0) {
		note(w, KEYS_ERROR, "setting up RSA key generation failed");
		EVP_PKEY_CTX_free(ctx);
		return;
	}
	for (int64_t k = index; !*run->stop && k < run->keys; k += run->threads) {
		EVP_PKEY *key = NULL;
		uint64_t ns = 0;
		int rc = generate_key(run, ctx, (uint64_t)k, &key, &ns);
		w->busy_ns += ns;
		if (rc <= 0) {
			note(w, KEYS_ERROR, "EVP_PKEY_generate failed");
			break;
		}
		w->outcome = check_key(key, run->bits, w);
		EVP_PKEY_free(key);
		if (w->outcome != KEYS_OK)
			break;
		w->keys++;
	}
	EVP_PKEY_CTX_free(ctx);
}

static int run(const struct vl_params *p, const struct vl_run_ctx *ctx, struct vl_result *r,
               vl_error *err)
{
	static const volatile int never;
	unsigned threads = (unsigned)vl_param_int(p, "threads");
	cleanup_free struct worker *workers = calloc(threads, sizeof(*workers));
	struct run state = {
	        .bits = (int)vl_param_int(p, "bits"),
	        .keys = vl_param_int(p, "keys"),
	        .seed = (uint64_t)vl_param_int(p, "seed"),
	        .threads = threads,
	        .stop = ctx->stop ? ctx->stop : &never,
	        .workers = workers,
	};
	uint64_t keys = 0, busiest_ns = 0;
	double wall;
	int rc;

	if (!workers)
		return vl_error_set(err, "out of memory for %u threads", threads);
	if (state.seed) {
		state.libctx = OSSL_LIB_CTX_new();
		if (!state.libctx ||
		    RAND_set_DRBG_type(state.libctx, "TEST-RAND", NULL, NULL, NULL) != 1) {
			OSSL_LIB_CTX_free(state.libctx);
			return vl_error_set(err,
			                    "libcrypto has no TEST-RAND generator for seeded keys: "
			                    "use seed=0");
		}
	}
	rc = vl_threads_run(threads, work, &state, &wall, err);
	OSSL_LIB_CTX_free(state.libctx);
	if (rc < 0)
		return -1;
	for (unsigned i = 0; i < threads; i++) {
		if (workers[i].outcome == KEYS_ERROR)
			return vl_error_set(err, "%s", workers[i].reason);
		if (workers[i].outcome == KEYS_BAD)
			return vl_result_fail(r, "%s", workers[i].reason);
		keys += workers[i].keys;
		if (workers[i].busy_ns > busiest_ns)
			busiest_ns = workers[i].busy_ns;
	}
	if (keys < (uint64_t)state.keys)
		return vl_result_fail(r, "stopped after %llu of %lld keys",
		                      (unsigned long long)keys, (long long)state.keys);
	vl_result_set(r, "keys_per_sec", (double)keys / ((double)busiest_ns / 1e9));
	vl_result_set(r, "seconds", (double)busiest_ns / 1e9);
	return 0;
}

const struct vl_workload vl_workload_cpu_rsa = {
        .name = "cpu.rsa",
        .summary = "RSA private key generation with OpenSSL (openssl genrsa)",
        .thesis = "w1 task 4",
        .params = params,
        .metrics = metrics,
        .run = run,
};
