/* core/dynlib: a library loaded on first use fills its typed table once; a
 * missing library or symbol is a one-line error naming the package and
 * leaves the table empty; the loader names the file of a soname. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/dynlib.h"

static struct {
	VL_DYNLIB_FN(zlibVersion);
	VL_DYNLIB_FN(crc32);
} z;

static void test_loads_once_and_fills_the_table(void **state)
{
	static const struct vl_dynlib_sym syms[] = {VL_DYNLIB_SYM(z, zlibVersion),
	                                            VL_DYNLIB_SYM(z, crc32)};
	struct vl_dynlib lib = VL_DYNLIB("libz.so.1", "zlib1g", syms);
	vl_error err = {0};
	void *handle;

	(void)state;
	assert_int_equal(vl_dynlib_load(&lib, &err), 0);
	assert_non_null(lib.handle);
	handle = lib.handle;
	assert_string_equal(z.zlibVersion(), zlibVersion());
	assert_int_equal(z.crc32(0, (const Bytef *)"abc", 3), 0x352441c2);
	assert_int_equal(vl_dynlib_load(&lib, &err), 0);
	assert_ptr_equal(lib.handle, handle);
}

static void test_missing_library_names_the_package(void **state)
{
	static const struct vl_dynlib_sym syms[] = {VL_DYNLIB_SYM(z, zlibVersion)};
	struct vl_dynlib lib = VL_DYNLIB("libvirtlab-none.so.7", "virtlab-none7", syms);
	vl_error err = {0};

	(void)state;
	z.zlibVersion = NULL;
	assert_int_equal(vl_dynlib_load(&lib, &err), -1);
	assert_string_equal(err.msg,
	                    "libvirtlab-none.so.7 not found: apt-get install virtlab-none7");
	assert_null(lib.handle);
	assert_null(z.zlibVersion);
}

static void test_missing_symbol_empties_the_table(void **state)
{
	void *bogus = NULL;
	const struct vl_dynlib_sym syms[] = {VL_DYNLIB_SYM(z, zlibVersion),
	                                     {"vl_no_such_function", &bogus}};
	struct vl_dynlib lib = VL_DYNLIB("libz.so.1", "zlib1g", syms);
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_dynlib_load(&lib, &err), -1);
	assert_string_equal(err.msg,
	                    "libz.so.1 has no vl_no_such_function: a newer zlib1g is needed");
	assert_null(lib.handle);
	assert_null(z.zlibVersion);
	assert_null(bogus);
}

/* Where the loader finds a library: what the bundle copies for the ones
 * loaded on first use. */
static void test_locate(void **state)
{
	char path[4096] = "";
	vl_error err = {0};

	(void)state;
	assert_int_equal(vl_dynlib_locate("libz.so.1", path, sizeof(path), &err), 0);
	assert_int_equal(path[0], '/');
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(vl_dynlib_locate("libvirtlab-none.so.7", path, sizeof(path), &err), -1);
	assert_non_null(strstr(err.msg, "libvirtlab-none.so.7"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_loads_once_and_fills_the_table),
	        cmocka_unit_test(test_missing_library_names_the_package),
	        cmocka_unit_test(test_missing_symbol_empties_the_table),
	        cmocka_unit_test(test_locate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
