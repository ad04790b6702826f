/* cpu.rsa: generates RSA private keys through libcrypto's EVP API, as
 * `openssl genrsa` does (two primes, exponent 65537). Only generation is
 * timed; each key is then checked (size, private part, pairwise consistency)
 * outside the clock, because genrsa does not check its keys. Threads take
 * keys from one shared count. */
#include "workloads/registry.h"
#include "workloads/threads.h"
#include "core/cleanup.h"
#include "core/clock.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

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
	atomic_int_fast64_t claimed;
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

static void work(void *arg, unsigned index)
{
	struct run *run = arg;
	struct worker *w = &run->workers[index];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, run->bits) <= 0) {
		note(w, KEYS_ERROR, "setting up RSA key generation failed");
		EVP_PKEY_CTX_free(ctx);
		return;
	}
	while (!*run->stop &&
	       atomic_fetch_add_explicit(&run->claimed, 1, memory_order_relaxed) < run->keys) {
		EVP_PKEY *key = NULL;
		uint64_t start = vl_now_ns();
		int rc = EVP_PKEY_generate(ctx, &key);
		w->busy_ns += vl_now_ns() - start;
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
	        .stop = ctx->stop ? ctx->stop : &never,
	        .workers = workers,
	};
	uint64_t keys = 0, busiest_ns = 0;
	double wall;

	if (!workers)
		return vl_error_set(err, "out of memory for %u threads", threads);
	atomic_init(&state.claimed, 0);
	if (vl_threads_run(threads, work, &state, &wall, err) < 0)
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
