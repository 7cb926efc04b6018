// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>

#include "collect/hooks.h"

const char *const gp_connect_hook_names[GP_CONNECT_MAX + 1] = {
	"auto", "fentry", "kprobe", "state",
};
const char *const gp_state_hook_names[GP_STATE_MAX + 1] = {
	"auto", "tp_btf", "raw_tp", "tracepoint",
};
const char *const gp_tc_mode_names[GP_TC_MAX + 1] = { "auto", "tcx", "clsact" };

const char *gp_tc_mode_name(enum gp_tc_mode m)
{
	return (unsigned)m < GP_TC_MAX ? gp_tc_mode_names[m] : "?";
}

const char *gp_connect_hook_name(enum gp_connect_hook h)
{
	return (unsigned)h < GP_CONNECT_MAX ? gp_connect_hook_names[h] : "?";
}

const char *gp_state_hook_name(enum gp_state_hook h)
{
	return (unsigned)h < GP_STATE_MAX ? gp_state_hook_names[h] : "?";
}
