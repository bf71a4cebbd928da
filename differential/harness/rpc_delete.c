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

/* nvmf_subsystem_get_qpairs (`_rpc_nvmf_subsystem_query`): pause the subsystem, walk every
 * poll group's qpairs on its own thread (`spdk_for_each_channel(rpc_nvmf_get_qpairs)`), answer,
 * resume without a callback. v24.01 reads `qpair->ctrlr->subsys` unchecked (catalogue
 * `spdk-3391`, fixed by 1965c4ddc2, which master has). */
struct rpc_subsystem_query_ctx {
	struct spdk_nvmf_subsystem *subsystem;
	int id;
	int found;
};

static void
rpc_nvmf_get_qpairs_done(struct spdk_io_channel_iter *i, int status)
{
	struct rpc_subsystem_query_ctx *ctx = spdk_io_channel_iter_get_ctx(i);

	printf("    rpc %d: %d qpair(s) of %s\n", ctx->id, ctx->found, ctx->subsystem->subnqn);
	rpc_done(ctx->id, 0);
	if (spdk_nvmf_subsystem_resume(ctx->subsystem, NULL, NULL)) {
		printf("    rpc %d: resume failed\n", ctx->id);
	}
	free(ctx);
}

static void
rpc_nvmf_get_qpairs(struct spdk_io_channel_iter *i)
{
	struct rpc_subsystem_query_ctx *ctx = spdk_io_channel_iter_get_ctx(i);
	struct spdk_nvmf_poll_group *group = spdk_io_channel_get_ctx(spdk_io_channel_iter_get_channel(i));
	struct spdk_nvmf_qpair *qpair;

	TAILQ_FOREACH(qpair, &group->qpairs, link) {
#if DIFF_SPDK_VERSION >= 9999
		if (qpair->ctrlr && qpair->ctrlr->subsys == ctx->subsystem) {
#else
		if (qpair->ctrlr->subsys == ctx->subsystem) {
#endif
			ctx->found++;
		}
	}
	spdk_for_each_channel_continue(i, 0);
}

static void
rpc_nvmf_get_qpairs_paused(struct spdk_nvmf_subsystem *subsystem, void *cb_arg, int status)
{
	spdk_for_each_channel(subsystem->tgt, rpc_nvmf_get_qpairs, cb_arg, rpc_nvmf_get_qpairs_done);
}

int
target_get_qpairs(struct spdk_nvmf_subsystem *s, int id)
{
	struct rpc_subsystem_query_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	ctx->subsystem = s;
	ctx->id = id;
	rc = spdk_nvmf_subsystem_pause(s, 0, rpc_nvmf_get_qpairs_paused, ctx);
	if (rc != 0) {
		free(ctx);
	}
	return rc;
}
