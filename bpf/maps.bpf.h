/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps both BPF objects have, and their two helpers: grayprobe.bpf.c
 * creates them, ssl.bpf.c is loaded onto them (bpf_map__reuse_fd), so
 * their definitions must be one.
 */
#ifndef GP_MAPS_BPF_H
#define GP_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GP_RINGBUF_KB_DEFAULT * 1024);
} gp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GP_FLOW_MAX);
	__type(key, struct gp_flow_key);
	__type(value, struct gp_flow_val);
} gp_flows SEC(".maps");

/*
 * Waking the loader for every record costs an interrupt (~5 us in a VM):
 * records are submitted quietly and the loader, which polls at least every
 * 100 ms, collects them; only a ring a quarter full wakes it at once.
 */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&gp_events, BPF_RB_AVAIL_DATA) >
	       bpf_ringbuf_query(&gp_events, BPF_RB_RING_SIZE) / 4 ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&gp_stats, &idx);

	if (v)
		*v += 1;
}

#endif /* GP_MAPS_BPF_H */
