/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef GP_HOOKS_H
#define GP_HOOKS_H

/* The kernel hooks the loader can use, as options force them and metrics name them. */

/* How the classifier is hooked into an interface. */
enum gp_tc_mode {
	GP_TC_AUTO,	/* tcx where the kernel has it, else clsact */
	GP_TC_TCX,	/* BPF link (6.6+): gone with the process, never disturbs others */
	GP_TC_CLSACT,	/* cls_bpf filter in a clsact qdisc, via libbpf's bpf_tc_* */
	GP_TC_MAX,
};

/* Where a connect attempt's start is stamped. */
enum gp_connect_hook {
	GP_CONNECT_AUTO,
	GP_CONNECT_FENTRY,	/* fentry/tcp_connect */
	GP_CONNECT_KPROBE,	/* kprobe/tcp_connect */
	GP_CONNECT_STATE,	/* CLOSE->SYN_SENT seen by the state hook */
	GP_CONNECT_MAX,
};

/* Which flavour of the sock:inet_sock_set_state tracepoint we attach. */
enum gp_state_hook {
	GP_STATE_AUTO,
	GP_STATE_TP_BTF,
	GP_STATE_RAW_TP,
	GP_STATE_TRACEPOINT,	/* classic: needs tracefs for the event id */
	GP_STATE_MAX,
};

/* NULL-terminated lists of the names, in enum order (the option parser walks them). */
extern const char *const gp_tc_mode_names[GP_TC_MAX + 1];
extern const char *const gp_connect_hook_names[GP_CONNECT_MAX + 1];
extern const char *const gp_state_hook_names[GP_STATE_MAX + 1];

const char *gp_connect_hook_name(enum gp_connect_hook h);
const char *gp_state_hook_name(enum gp_state_hook h);
const char *gp_tc_mode_name(enum gp_tc_mode m);

#endif
