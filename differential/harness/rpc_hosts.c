/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The host-access and controller-query operator calls, as SPDK's RPC handlers
 *   (lib/nvmf/nvmf_rpc.c) make them:
 *   - `add_host`: `spdk_nvmf_subsystem_add_host` (v24.01, no transport parameters) or
 *     `spdk_nvmf_subsystem_add_host_ext` (master, no keys), answered at once;
 *   - `remove_host`: `spdk_nvmf_subsystem_remove_host`, then
 *     `spdk_nvmf_subsystem_disconnect_host`, answered from its callback (v24.01 answers true
 *     whatever the status, after the walk over the poll groups; master answers the status,
 *     after a poller on the subsystem thread saw the host's last controller go, or timed out);
 *   - `get_controllers`: pause the subsystem, read `subsystem->ctrlrs` on the app thread,
 *     answer, resume without a callback (`rpc_nvmf_get_controllers_paused`).
 */
#include "spdk/stdinc.h"
#include "spdk/nvmf.h"
#include "spdk/bit_array.h"
#include "harness.h"
#include "nvmf/nvmf_internal.h"

int
target_add_host(struct spdk_nvmf_subsystem *s, const char *hostnqn, int id)
{
	int rc;
#if DIFF_SPDK_VERSION >= 9999
	struct spdk_nvmf_host_opts opts = {};

	opts.size = SPDK_SIZEOF(&opts, dhchap_ctrlr_key);
	rc = spdk_nvmf_subsystem_add_host_ext(s, hostnqn, &opts);
#else
	rc = spdk_nvmf_subsystem_add_host(s, hostnqn, NULL);
#endif
	if (rc == 0) {
		rpc_done(id, 0);
	}
	return rc;
}

static void
remove_host_done(void *arg, int status)
{
#if DIFF_SPDK_VERSION >= 9999
	rpc_done((int)(intptr_t)arg, status);
#else
	(void)status;
	rpc_done((int)(intptr_t)arg, 0);
#endif
}

int
target_remove_host(struct spdk_nvmf_subsystem *s, const char *hostnqn, int id)
{
	int rc = spdk_nvmf_subsystem_remove_host(s, hostnqn);

	if (rc != 0) {
		return rc;
	}
#if DIFF_SPDK_VERSION >= 9999
	/* timeout 0: the RPC's default (NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS) */
	return spdk_nvmf_subsystem_disconnect_host(s, hostnqn, remove_host_done,
			(void *)(intptr_t)id, 0);
#else
	return spdk_nvmf_subsystem_disconnect_host(s, hostnqn, remove_host_done,
			(void *)(intptr_t)id);
#endif
}

static void
get_controllers_paused(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	struct spdk_nvmf_ctrlr *ctrlr;
	int id = (int)(intptr_t)arg;

	(void)status; /* unchecked, as in SPDK */
	TAILQ_FOREACH(ctrlr, &s->ctrlrs, link) {
		/* dump_nvmf_ctrlr's reads */
		printf("    rpc %d: %s controller %u of %s, %u I/O qpair(s)\n", id, s->subnqn,
		       ctrlr->cntlid, ctrlr->hostnqn, spdk_bit_array_count_set(ctrlr->qpair_mask));
	}
	rpc_done(id, 0);
	if (spdk_nvmf_subsystem_resume(s, NULL, NULL)) {
		printf("    rpc %d: resume failed\n", id);
	}
}

int
target_get_controllers(struct spdk_nvmf_subsystem *s, int id)
{
	return spdk_nvmf_subsystem_pause(s, 0, get_controllers_paused, (void *)(intptr_t)id);
}
