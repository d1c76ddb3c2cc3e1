#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc/frame.h"
#include "vcli/status.h"

/* Feeds bytes one at a time: the parser must not care how DATA frames cut
 * the stream. */
static void byte_at_a_time(void **state)
{
	buf out = BUF_INIT(1 << 20);
	grpc_deframer d;
	const uint8_t *p;
	size_t n, got = 0;
	int status;
	const char *msg;

	assert_int_equal(grpc_frame_append(&out, (const uint8_t *)"hello", 5, 0), 0);
	assert_int_equal(grpc_frame_append(&out, (const uint8_t *)"", 0, 0), 0);
	assert_int_equal(grpc_frame_append(&out, (const uint8_t *)"world!", 6, 0), 0);
	grpc_deframer_init(&d, 1024);
	for (size_t i = 0; i < out.len; i++) {
		p = out.data + i;
		n = 1;
		while (n > 0) {
			int r = grpc_deframer_feed(&d, &p, &n, 0, &status, &msg);
			assert_int_not_equal(r, DEFRAME_ERR);
			if (r == DEFRAME_MSG) {
				size_t len;
				const uint8_t *m = grpc_deframer_msg(&d, &len);
				if (got == 0)
					assert_memory_equal(m, "hello", 5);
				if (got == 1)
					assert_int_equal(len, 0);
				if (got == 2)
					assert_memory_equal(m, "world!", 6);
				got++;
			}
		}
	}
	assert_int_equal(got, 3);
	assert_false(grpc_deframer_partial(&d));
	grpc_deframer_release(&d);
	buf_release(&out);
}

static void oversize_prefix_rejected_before_payload(void **state)
{
	const uint8_t huge[5] = { 0, 0xff, 0xff, 0xff, 0xff };
	grpc_deframer d;
	const uint8_t *p = huge;
	size_t n = sizeof(huge);
	int status = 0;
	const char *msg = NULL;

	grpc_deframer_init(&d, 4u << 20);
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 0, &status, &msg), DEFRAME_ERR);
	assert_int_equal(status, VCLI_STATUS_RESOURCE_EXHAUSTED);
	assert_non_null(msg);
	grpc_deframer_release(&d);
}

static void bad_flag_and_unannounced_compression(void **state)
{
	const uint8_t bad[6] = { 2, 0, 0, 0, 1, 'x' };
	const uint8_t comp[6] = { 1, 0, 0, 0, 1, 'x' };
	grpc_deframer d;
	const uint8_t *p;
	size_t n;
	int status;
	const char *msg;

	grpc_deframer_init(&d, 1024);
	p = bad;
	n = sizeof(bad);
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 0, &status, &msg), DEFRAME_ERR);
	assert_int_equal(status, VCLI_STATUS_INTERNAL);
	grpc_deframer_release(&d);

	grpc_deframer_init(&d, 1024);
	p = comp;
	n = sizeof(comp);
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 0, &status, &msg), DEFRAME_ERR);
	assert_int_equal(status, VCLI_STATUS_INTERNAL);
	grpc_deframer_release(&d);
}

static void gzip_roundtrip_and_bomb(void **state)
{
	static uint8_t big[200000];
	buf out = BUF_INIT(1 << 20);
	grpc_deframer d;
	const uint8_t *p;
	size_t n, len;
	int status;
	const char *msg;

	memset(big, 'a', sizeof(big));
	assert_int_equal(grpc_frame_append(&out, big, sizeof(big), 1), 0);
	assert_int_equal(out.data[0], 1); /* compressed: it got smaller */
	assert_true(out.len < 2000);

	grpc_deframer_init(&d, sizeof(big));
	p = out.data;
	n = out.len;
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 1, &status, &msg), DEFRAME_MSG);
	assert_memory_equal(grpc_deframer_msg(&d, &len), big, sizeof(big));
	assert_int_equal(len, sizeof(big));
	grpc_deframer_release(&d);

	/* The same bytes against a smaller cap: a decompression bomb is
	 * refused, not inflated into memory. */
	grpc_deframer_init(&d, 100000);
	p = out.data;
	n = out.len;
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 1, &status, &msg), DEFRAME_ERR);
	assert_int_equal(status, VCLI_STATUS_RESOURCE_EXHAUSTED);
	grpc_deframer_release(&d);
	buf_release(&out);
}

static void corrupt_gzip(void **state)
{
	const uint8_t junk[] = { 1, 0, 0, 0, 4, 0x1f, 0x8b, 0x00, 0x00 };
	grpc_deframer d;
	const uint8_t *p = junk;
	size_t n = sizeof(junk);
	int status;
	const char *msg;

	grpc_deframer_init(&d, 1024);
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 1, &status, &msg), DEFRAME_ERR);
	assert_int_equal(status, VCLI_STATUS_INTERNAL);
	grpc_deframer_release(&d);
}

static void partial_is_reported(void **state)
{
	const uint8_t half[4] = { 0, 0, 0, 0 };
	grpc_deframer d;
	const uint8_t *p = half;
	size_t n = sizeof(half);
	int status;
	const char *msg;

	grpc_deframer_init(&d, 1024);
	assert_int_equal(grpc_deframer_feed(&d, &p, &n, 0, &status, &msg), DEFRAME_MORE);
	assert_true(grpc_deframer_partial(&d));
	grpc_deframer_release(&d);
}

static void incompressible_stays_plain(void **state)
{
	buf out = BUF_INIT(1024);

	assert_int_equal(grpc_frame_append(&out, (const uint8_t *)"x", 1, 1), 0);
	assert_int_equal(out.data[0], 0);
	assert_int_equal(out.len, 6);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(byte_at_a_time),
		cmocka_unit_test(oversize_prefix_rejected_before_payload),
		cmocka_unit_test(bad_flag_and_unannounced_compression),
		cmocka_unit_test(gzip_roundtrip_and_bomb),
		cmocka_unit_test(corrupt_gzip),
		cmocka_unit_test(partial_is_reported),
		cmocka_unit_test(incompressible_stays_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
