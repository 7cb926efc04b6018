// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Ring-buffer record decoding: the only input that comes from the kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "pipeline/event.h"

/* tcp_states.h values; the tracepoint ABI, not something to import. */
#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_CLOSE	7

static struct gp_conn_event v4_event(void)
{
	struct gp_conn_event e;

	memset(&e, 0, sizeof(e));
	e.type = GP_EV_CONN;
	e.pid = 4242;
	e.ts_ns = 123456789;
	e.latency_ns = 1500;
	e.saddr[0] = 198, e.saddr[1] = 18, e.saddr[2] = 0, e.saddr[3] = 1;
	e.daddr[0] = 198, e.daddr[1] = 18, e.daddr[2] = 0, e.daddr[3] = 2;
	e.netns = 4026531840u;
	e.sk_err = 0;
	e.sport = 40000;
	e.dport = 443;
	e.family = AF_INET;
	e.direction = GP_DIR_OUTBOUND;
	e.new_state = TCP_ESTABLISHED;
	memcpy(e.comm, "curl", 5);
	return e;
}

static void set_v4_mapped(uint8_t a[16], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, 16);
	a[10] = 0xff, a[11] = 0xff;
	a[12] = b0, a[13] = b1, a[14] = b2, a[15] = b3;
}

static void set_v6(uint8_t a[16], uint16_t last)
{
	/* fd00:198:18::last */
	memset(a, 0, 16);
	a[0] = 0xfd, a[1] = 0x00, a[2] = 0x01, a[3] = 0x98, a[4] = 0x00, a[5] = 0x18;
	a[14] = last >> 8, a[15] = last & 0xff;
}

static void test_decode_v4(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;
	char buf[64];

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.ts_ns, 123456789);
	assert_int_equal(c.latency_ns, 1500);
	assert_int_equal(c.pid, 4242);
	assert_int_equal(c.netns, 4026531840u);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.sport, 40000);
	assert_int_equal(c.dport, 443);
	assert_int_equal(c.sk_err, 0);
	assert_int_equal(c.dir, GP_DIR_OUTBOUND);
	assert_int_equal(c.result, GP_RES_ESTABLISHED);
	assert_string_equal(c.comm, "curl");
	/* Tags start at neutral values the enrichment step may overwrite. */
	assert_string_equal(c.alpn, "none");
	assert_string_equal(c.gray, "stable");
	gp_addr_str(c.family, c.saddr, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.1");
	gp_addr_str(c.family, c.daddr, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.2");
}

static void test_decode_longer_buffer_ok(void **state)
{
	unsigned char raw[sizeof(struct gp_conn_event) + 8];
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	/* Ring-buffer records may be padded; only a short one is malformed. */
	memset(raw, 0xee, sizeof(raw));
	memcpy(raw, &e, sizeof(e));
	assert_int_equal(gp_conn_decode(raw, sizeof(raw), &c), 0);
	assert_int_equal(c.pid, 4242);
}

static void test_decode_short(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	assert_int_equal(gp_conn_decode(&e, sizeof(e) - 1, &c), -EINVAL);
	assert_int_equal(gp_conn_decode(&e, 0, &c), -EINVAL);
	assert_int_equal(gp_conn_decode(&e, 4, &c), -EINVAL);
}

static void test_decode_bad_type(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	e.type = 0;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.type = GP_EV_CONN + 1;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
}

static void test_decode_bad_family(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	e.family = AF_UNIX;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.family = 0;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.family = AF_INET6;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
}

static void test_decode_bad_direction(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	e.direction = GP_DIR_MAX;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.direction = 0xff;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.direction = GP_DIR_INBOUND;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.dir, GP_DIR_INBOUND);
}

static void test_decode_bad_new_state(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	e.new_state = 0;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.new_state = TCP_SYN_SENT;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), -EINVAL);
	e.new_state = TCP_CLOSE;
	e.sk_err = ECONNREFUSED;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.result, GP_RES_REFUSED);
	assert_int_equal(c.sk_err, ECONNREFUSED);
}

/* What the BPF side reports for a client that gave up, and for an ICMP error. */
static void test_decode_close_outcomes(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	e.new_state = TCP_CLOSE;
	e.sk_err = 0;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.result, GP_RES_ABANDONED);
	assert_int_equal(c.sk_err, 0);
	e.sk_err = EHOSTUNREACH;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.result, GP_RES_UNREACHABLE);
	assert_int_equal(c.sk_err, EHOSTUNREACH);
}

static void test_decode_v4_mapped_unmaps(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;
	uint8_t zero[12] = { 0 };
	char buf[64];

	(void)state;
	e.family = AF_INET6;
	set_v4_mapped(e.saddr, 198, 18, 0, 1);
	set_v4_mapped(e.daddr, 10, 255, 0, 254);
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.family, AF_INET);
	/* Bytes past the v4 address must be cleared, not left as the old prefix. */
	assert_memory_equal(c.saddr + 4, zero, 12);
	assert_memory_equal(c.daddr + 4, zero, 12);
	gp_addr_str(c.family, c.saddr, buf, sizeof(buf));
	assert_string_equal(buf, "198.18.0.1");
	gp_addr_str(c.family, c.daddr, buf, sizeof(buf));
	assert_string_equal(buf, "10.255.0.254");
}

static void test_decode_half_mapped_stays_v6(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;
	char buf[64];

	(void)state;
	/* Only both ends mapped means the wire is IPv4. */
	e.family = AF_INET6;
	set_v4_mapped(e.saddr, 198, 18, 0, 1);
	set_v6(e.daddr, 2);
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.family, AF_INET6);
	gp_addr_str(c.family, c.saddr, buf, sizeof(buf));
	assert_string_equal(buf, "::ffff:198.18.0.1");
	gp_addr_str(c.family, c.daddr, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:198:18::2");
}

static void test_decode_plain_v6(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;
	char buf[64];

	(void)state;
	e.family = AF_INET6;
	set_v6(e.saddr, 1);
	set_v6(e.daddr, 0x1234);
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_memory_equal(c.saddr, e.saddr, 16);
	assert_memory_equal(c.daddr, e.daddr, 16);
	gp_addr_str(c.family, c.saddr, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:198:18::1");
	gp_addr_str(c.family, c.daddr, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:198:18::1234");
}

static void test_decode_comm_unterminated(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	memcpy(e.comm, "0123456789abcdef", GP_COMM_LEN);
	memset(&c, 'Z', sizeof(c));
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(strlen(c.comm), GP_COMM_LEN);
	assert_memory_equal(c.comm, "0123456789abcdef", GP_COMM_LEN);
	assert_int_equal(c.comm[GP_COMM_LEN], '\0');
}

static void test_decode_comm_garbage_after_nul(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	memcpy(e.comm, "sh\0XXXXXXXXXXXXX", GP_COMM_LEN);
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_string_equal(c.comm, "sh");
}

static void test_addr_str_small_buffer(void **state)
{
	uint8_t a[16] = { 198, 18, 0, 1 };
	char buf[8];

	(void)state;
	/* inet_ntop fails on a too-small buffer: we want "" rather than junk. */
	memset(buf, 'X', sizeof(buf));
	gp_addr_str(AF_INET, a, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_result_of(void **state)
{
	(void)state;
	assert_int_equal(gp_result_of(TCP_ESTABLISHED, 0), GP_RES_ESTABLISHED);
	/* A stale sk_err must not turn a success into a failure. */
	assert_int_equal(gp_result_of(TCP_ESTABLISHED, ECONNREFUSED), GP_RES_ESTABLISHED);
	assert_int_equal(gp_result_of(TCP_CLOSE, ECONNREFUSED), GP_RES_REFUSED);
	assert_int_equal(gp_result_of(TCP_CLOSE, ETIMEDOUT), GP_RES_TIMEOUT);
	assert_int_equal(gp_result_of(TCP_CLOSE, EHOSTUNREACH), GP_RES_UNREACHABLE);
	assert_int_equal(gp_result_of(TCP_CLOSE, ENETUNREACH), GP_RES_UNREACHABLE);
	assert_int_equal(gp_result_of(TCP_CLOSE, EHOSTDOWN), GP_RES_UNREACHABLE);
	assert_int_equal(gp_result_of(TCP_CLOSE, ENETDOWN), GP_RES_UNREACHABLE);
	/* Closed while connecting with no error at all: the owner gave up. */
	assert_int_equal(gp_result_of(TCP_CLOSE, 0), GP_RES_ABANDONED);
	assert_int_equal(gp_result_of(TCP_CLOSE, EPIPE), GP_RES_OTHER);
	assert_int_equal(gp_result_of(TCP_CLOSE, -ECONNREFUSED), GP_RES_OTHER);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(gp_result_name(GP_RES_ESTABLISHED), "established");
	assert_string_equal(gp_result_name(GP_RES_REFUSED), "refused");
	assert_string_equal(gp_result_name(GP_RES_TIMEOUT), "timeout");
	assert_string_equal(gp_result_name(GP_RES_UNREACHABLE), "unreachable");
	assert_string_equal(gp_result_name(GP_RES_ABANDONED), "abandoned");
	assert_string_equal(gp_result_name(GP_RES_OTHER), "other");
	assert_string_equal(gp_result_name(GP_RES_MAX), "other");
	assert_string_equal(gp_result_name((enum gp_result)-1), "other");
	assert_string_equal(gp_direction_name(GP_DIR_OUTBOUND), "outbound");
	assert_string_equal(gp_direction_name(GP_DIR_INBOUND), "inbound");
}

/* ---- payload records ---------------------------------------------------- */

/* A GP_EV_PAYLOAD record of len bytes at off, in a buffer with room to spare. */
static uint8_t rec[sizeof(struct gp_payload_event) + GP_FIRST_PAYLOAD_MAX + 64];

static struct gp_payload_event payload_hdr(uint32_t off, uint32_t len)
{
	struct gp_payload_event h;
	size_t i;

	memset(&h, 0, sizeof(h));
	h.type = GP_EV_PAYLOAD;
	h.ifindex = 3;
	h.ts_ns = 987654321;
	h.flow.family = AF_INET;
	h.flow.saddr[0] = 198, h.flow.saddr[1] = 18, h.flow.saddr[3] = 1;
	h.flow.daddr[0] = 198, h.flow.daddr[1] = 19, h.flow.daddr[3] = 2;
	h.flow.sport = 40000;
	h.flow.dport = 443;
	h.off = off;
	h.len = len;
	h.bytes = 5000;
	for (i = 0; i < sizeof(rec); i++)
		rec[i] = (uint8_t)(i * 13);
	return h;
}

/* Decodes h followed by its data as a record of reclen bytes. */
static int decode(const struct gp_payload_event *h, size_t reclen, struct gp_payload_event *out,
		  const uint8_t **data)
{
	assert_true(reclen <= sizeof(rec));
	memcpy(rec, h, sizeof(*h));
	return gp_payload_decode(rec, reclen, out, data);
}

static void test_payload_decode_valid(void **state)
{
	struct gp_payload_event h = payload_hdr(100, 517), out;
	const uint8_t *data = NULL;

	(void)state;
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(decode(&h, sizeof(h) + 517, &out, &data), 0);
	assert_memory_equal(&out, &h, sizeof(h));
	/* The data is the record's tail, not a copy. */
	assert_ptr_equal(data, rec + sizeof(h));
	/* Padding after the data is fine. */
	assert_int_equal(decode(&h, sizeof(h) + 517 + 7, &out, &data), 0);

	/* The last byte the kernel keeps, and a whole 8 KiB. */
	h = payload_hdr(GP_FIRST_PAYLOAD_MAX - 1, 1);
	assert_int_equal(decode(&h, sizeof(h) + 1, &out, &data), 0);
	h = payload_hdr(0, GP_FIRST_PAYLOAD_MAX);
	assert_int_equal(decode(&h, sizeof(h) + GP_FIRST_PAYLOAD_MAX, &out, &data), 0);
	assert_int_equal(out.len, GP_FIRST_PAYLOAD_MAX);

	/* IPv6, and the end of a flow (no data). */
	h = payload_hdr(0, 10);
	h.flow.family = AF_INET6;
	assert_int_equal(decode(&h, sizeof(h) + 10, &out, &data), 0);
	h = payload_hdr(0, 0);
	h.type = GP_EV_FLOW_END;
	assert_int_equal(decode(&h, sizeof(h), &out, &data), 0);
	assert_int_equal(out.type, GP_EV_FLOW_END);
	assert_int_equal(out.bytes, 5000);
}

static void test_payload_decode_short(void **state)
{
	struct gp_payload_event h = payload_hdr(0, 100), out;
	const uint8_t *data;

	(void)state;
	assert_int_equal(decode(&h, 0, &out, &data), -EINVAL);
	assert_int_equal(decode(&h, 4, &out, &data), -EINVAL);
	assert_int_equal(decode(&h, sizeof(h) - 1, &out, &data), -EINVAL);
	/* The header alone, or one data byte short. */
	assert_int_equal(decode(&h, sizeof(h), &out, &data), -EINVAL);
	assert_int_equal(decode(&h, sizeof(h) + 99, &out, &data), -EINVAL);
	assert_int_equal(decode(&h, sizeof(h) + 100, &out, &data), 0);
}

static void test_payload_decode_out_of_range(void **state)
{
	struct gp_payload_event h, out;
	const uint8_t *data;

	(void)state;
	/* More than the kernel ever keeps, even with the bytes present. */
	h = payload_hdr(0, GP_FIRST_PAYLOAD_MAX + 1);
	assert_int_equal(decode(&h, sizeof(h) + GP_FIRST_PAYLOAD_MAX + 1, &out, &data), -EINVAL);
	/* Ending past the kept prefix. */
	h = payload_hdr(8000, 193);
	assert_int_equal(decode(&h, sizeof(h) + 193, &out, &data), -EINVAL);
	h = payload_hdr(8000, 192);
	assert_int_equal(decode(&h, sizeof(h) + 192, &out, &data), 0);
	h = payload_hdr(GP_FIRST_PAYLOAD_MAX, 0);
	assert_int_equal(decode(&h, sizeof(h), &out, &data), -EINVAL);
	/* Sums that would wrap around 32 bits. */
	h = payload_hdr(0xffffffffu, 1);
	assert_int_equal(decode(&h, sizeof(h) + 1, &out, &data), -EINVAL);
	h = payload_hdr(1, 0xffffffffu);
	assert_int_equal(decode(&h, sizeof(rec), &out, &data), -EINVAL);
	/* The end of a flow carries no data. */
	h = payload_hdr(0, 1);
	h.type = GP_EV_FLOW_END;
	assert_int_equal(decode(&h, sizeof(h) + 1, &out, &data), -EINVAL);
}

static void test_payload_decode_bad_family_or_type(void **state)
{
	static const uint32_t types[] = { 0, GP_EV_CONN, 4, 0xffffffffu };
	struct gp_payload_event h, out;
	const uint8_t *data;
	size_t i;

	(void)state;
	h = payload_hdr(0, 10);
	h.flow.family = 0;
	assert_int_equal(decode(&h, sizeof(h) + 10, &out, &data), -EINVAL);
	h.flow.family = AF_UNIX;
	assert_int_equal(decode(&h, sizeof(h) + 10, &out, &data), -EINVAL);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		h = payload_hdr(0, 10);
		h.type = types[i];
		assert_int_equal(decode(&h, sizeof(h) + 10, &out, &data), -EINVAL);
	}
}

static void test_event_type(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_payload_event h = payload_hdr(0, 0);

	(void)state;
	assert_int_equal(gp_event_type(&e, sizeof(e)), GP_EV_CONN);
	assert_int_equal(gp_event_type(&h, sizeof(h)), GP_EV_PAYLOAD);
	h.type = GP_EV_FLOW_END;
	assert_int_equal(gp_event_type(&h, 4), GP_EV_FLOW_END);
	/* Unknown types are the caller's to count; too short is an error. */
	h.type = 99;
	assert_int_equal(gp_event_type(&h, sizeof(h)), 99);
	assert_int_equal(gp_event_type(&h, 3), -EINVAL);
	assert_int_equal(gp_event_type(&h, 0), -EINVAL);
}

static void test_decode_flow_flag(void **state)
{
	struct gp_conn_event e = v4_event();
	struct gp_conn c;

	(void)state;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.has_flow, 0);
	e.flags = GP_CONN_F_FLOW;
	e.flow_isn = 0xfedcba98u;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.has_flow, 1);
	/* The client ISN tells connections on one 4-tuple apart. */
	assert_int_equal(c.flow_isn, 0xfedcba98u);
	/* Unknown flag bits are not the flow flag. */
	e.flags = 0xfffffffeu;
	assert_int_equal(gp_conn_decode(&e, sizeof(e), &c), 0);
	assert_int_equal(c.has_flow, 0);
	/* Tag details start empty. */
	assert_string_equal(c.alpn_offered, "");
	assert_string_equal(c.sni, "");
	assert_string_equal(c.http_marker, "");
}

int main(void)
{
	const struct CMUnitTest test_event[] = {
		cmocka_unit_test(test_decode_v4),
		cmocka_unit_test(test_decode_longer_buffer_ok),
		cmocka_unit_test(test_decode_short),
		cmocka_unit_test(test_decode_bad_type),
		cmocka_unit_test(test_decode_bad_family),
		cmocka_unit_test(test_decode_bad_direction),
		cmocka_unit_test(test_decode_bad_new_state),
		cmocka_unit_test(test_decode_close_outcomes),
		cmocka_unit_test(test_decode_v4_mapped_unmaps),
		cmocka_unit_test(test_decode_half_mapped_stays_v6),
		cmocka_unit_test(test_decode_plain_v6),
		cmocka_unit_test(test_decode_comm_unterminated),
		cmocka_unit_test(test_decode_comm_garbage_after_nul),
		cmocka_unit_test(test_addr_str_small_buffer),
		cmocka_unit_test(test_result_of),
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_payload_decode_valid),
		cmocka_unit_test(test_payload_decode_short),
		cmocka_unit_test(test_payload_decode_out_of_range),
		cmocka_unit_test(test_payload_decode_bad_family_or_type),
		cmocka_unit_test(test_event_type),
		cmocka_unit_test(test_decode_flow_flag),
	};

	return cmocka_run_group_tests(test_event, NULL, NULL);
}
