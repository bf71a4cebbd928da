/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The `delete_subsystem` operator call: what `rpc_nvmf_delete_subsystem` (lib/nvmf/nvmf_rpc.c)
 *   does. It stops the subsystem (`spdk_nvmf_subsystem_stop`; master's
 *   `spdk_nvmf_subsystem_stop_for_destroy`), and once stopped removes every listener, stopping
 *   its transport listener (`nvmf_subsystem_remove_all_listeners(s, true)`), then destroys it.
 *   The answer comes at once, or when the destroy completes if controllers remain
 *   (`-EINPROGRESS`).
 */
#include "spdk/stdinc.h"
#include "spdk/nvmf.h"
#include "harness.h"
#include "nvmf/nvmf_internal.h"

static void
delete_destroyed(void *arg)
{
	rpc_done((int)(intptr_t)arg, 0);
}

static void
delete_stopped(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	int rc;

#if DIFF_SPDK_VERSION >= 9999
	/* master: a cancelled stop (the subsystem is being destroyed) is answered with the error. */
	if (status != 0) {
		rpc_done((int)(intptr_t)arg, status);
		return;
	}
#endif
	nvmf_subsystem_remove_all_listeners(s, true);
	rc = spdk_nvmf_subsystem_destroy(s, delete_destroyed, arg);
	if (rc != -EINPROGRESS) {
		rpc_done((int)(intptr_t)arg, rc);
	}
}

int
target_delete_subsystem(struct spdk_nvmf_subsystem *s, int id)
{
	void *arg = (void *)(intptr_t)id;

#if DIFF_SPDK_VERSION >= 9999
	return spdk_nvmf_subsystem_stop_for_destroy(s, delete_stopped, arg);
#else
	return spdk_nvmf_subsystem_stop(s, delete_stopped, arg);
#endif
}
