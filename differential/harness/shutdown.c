/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The `shutdown` operator call: whole-target teardown as the nvmf_tgt app runs it, its FINI
 *   states (module/event/subsystems/nvmf/nvmf_tgt.c, which lives in the event framework the
 *   harness does not link). The functions below carry nvmf_tgt.c's names and make the same
 *   lib/nvmf calls in the same order, so a story's `run` steps meet the same message names:
 *
 *     STOP_LISTEN         nvmf_tgt_stop_listen: spdk_nvmf_transport_stop_listen for every
 *                         subsystem listener (synchronous; no qpair disconnected)
 *     STOP_SUBSYSTEMS     spdk_nvmf_subsystem_stop on each subsystem in tree order, the next from
 *                         nvmf_tgt_subsystem_stopped; a refused stop is skipped ("Trying others")
 *     DESTROY_SUBSYSTEMS  _nvmf_tgt_subsystem_destroy: spdk_nvmf_subsystem_destroy in tree order;
 *                         -EINPROGRESS ends the loop and its callback restarts it
 *     DESTROY_POLL_GROUPS nvmf_tgt_destroy_poll_groups: nvmf_tgt_destroy_poll_group sent to each
 *                         poll-group thread; spdk_nvmf_poll_group_destroy, whose callback
 *                         (nvmf_tgt_destroy_poll_group_done) tells the app thread
 *                         (_nvmf_tgt_destroy_poll_group_done) and calls spdk_thread_exit
 *     DESTROY_TARGET      spdk_nvmf_tgt_destroy -> nvmf_tgt_destroy_done: the RPC is answered
 *
 *   The order of the states is the story's (`fini` line: the model's profile), else that of the
 *   version built: v24.01 as released has no STOP_LISTEN; v24.05 (and v24.01 with 2cbc8aec37)
 *   stops listening first; master stops the subsystems first (f5bebba058).
 *
 *   The story's target listeners (`listener` lines) are, in the model, the listeners of the
 *   discovery subsystem, whose NQN sorts first: nvmf_tgt_stop_listen stops them first.
 */
#include "spdk/stdinc.h"
#include "spdk/nvmf.h"
#include "spdk/nvmf_transport.h"
#include "spdk/thread.h"
#include "spdk/log.h"
#include "harness.h"
#include "story.h"
#include "nvmf/nvmf_internal.h"
#include <sanitizer/asan_interface.h>

struct nvmf_tgt_poll_group {
	struct spdk_nvmf_poll_group *group;
	struct spdk_thread *thread;
	int pg;
	TAILQ_ENTRY(nvmf_tgt_poll_group) link;
};

static TAILQ_HEAD(, nvmf_tgt_poll_group) g_poll_groups = TAILQ_HEAD_INITIALIZER(g_poll_groups);
static size_t g_num_poll_groups;
static struct spdk_thread *g_tgt_fini_thread;
static enum fini_state g_tgt_state = FINI_NONE;
static enum fini_state g_order[FINI_MAX];
static int g_norder;
static int g_rpc_id = -1;
static struct spdk_nvmf_subsystem *g_seen[64];
static char g_seen_nqn[64][STORY_MAX_NAME];
static int g_nseen;

static const char *const g_state_names[] = {
	[FINI_NONE] = "RUNNING",
	[FINI_STOP_LISTEN] = "STOP_LISTEN",
	[FINI_STOP_SUBSYSTEMS] = "STOP_SUBSYSTEMS",
	[FINI_DESTROY_SUBSYSTEMS] = "DESTROY_SUBSYSTEMS",
	[FINI_DESTROY_POLL_GROUPS] = "DESTROY_POLL_GROUPS",
	[FINI_DESTROY_TARGET] = "DESTROY_TARGET",
	[FINI_STOPPED] = "STOPPED",
};

static void nvmf_tgt_advance_state(void);

/* The state after `s` in this run's order. */
static enum fini_state
fini_next(enum fini_state s)
{
	int i;

	for (i = 0; i + 1 < g_norder; i++) {
		if (g_order[i] == s) {
			return g_order[i + 1];
		}
	}
	return FINI_STOPPED;
}

static void
set_state(enum fini_state s)
{
	g_tgt_state = s;
	printf("    nvmf_tgt: %s\n", g_state_names[s]);
}

static void
_nvmf_tgt_destroy_poll_group_done(void *ctx)
{
	assert(g_num_poll_groups > 0);

	if (--g_num_poll_groups == 0) {
		set_state(fini_next(FINI_DESTROY_POLL_GROUPS));
		nvmf_tgt_advance_state();
	}
}

static void
nvmf_tgt_destroy_poll_group_done(void *cb_arg, int status)
{
	struct nvmf_tgt_poll_group *pg = cb_arg;

	target_pg_destroyed(pg->pg);
	free(pg);

	spdk_thread_send_msg(g_tgt_fini_thread, _nvmf_tgt_destroy_poll_group_done, NULL);

	spdk_thread_exit(spdk_get_thread());
}

static void
nvmf_tgt_destroy_poll_group(void *ctx)
{
	struct nvmf_tgt_poll_group *pg = ctx;

	spdk_nvmf_poll_group_destroy(pg->group, nvmf_tgt_destroy_poll_group_done, pg);
}

static void
nvmf_tgt_destroy_poll_groups(void)
{
	struct nvmf_tgt_poll_group *pg, *tpg;

	g_tgt_fini_thread = spdk_get_thread();
	assert(g_tgt_fini_thread != NULL);

	TAILQ_FOREACH_SAFE(pg, &g_poll_groups, link, tpg) {
		TAILQ_REMOVE(&g_poll_groups, pg, link);
		spdk_thread_send_msg(pg->thread, nvmf_tgt_destroy_poll_group, pg);
	}
}

static void
nvmf_tgt_subsystem_stopped(struct spdk_nvmf_subsystem *subsystem, void *cb_arg, int status)
{
	int rc;

	subsystem = spdk_nvmf_subsystem_get_next(subsystem);
	if (subsystem) {
		rc = spdk_nvmf_subsystem_stop(subsystem, nvmf_tgt_subsystem_stopped, NULL);
		if (rc) {
			printf("    nvmf_tgt: Unable to stop NVMe-oF subsystem %s with rc %d, Trying others.\n",
			       spdk_nvmf_subsystem_get_nqn(subsystem), rc);
			nvmf_tgt_subsystem_stopped(subsystem, NULL, 0);
		}
		return;
	}

	set_state(fini_next(FINI_STOP_SUBSYSTEMS));
	nvmf_tgt_advance_state();
}

static void
stop_listen_one(const struct spdk_nvme_transport_id *trid, const char *nqn)
{
	struct spdk_nvmf_transport *transport;
	int rc;

	transport = spdk_nvmf_tgt_get_transport(target_tgt(), trid->trstring);
	rc = spdk_nvmf_transport_stop_listen(transport, trid);
	if (rc != 0) {
		printf("    nvmf_tgt: Unable to stop subsystem %s listener %s:%s, rc %d. Trying others.\n",
		       nqn, trid->traddr, trid->trsvcid, rc);
	}
}

static void
nvmf_tgt_stop_listen(void)
{
	struct spdk_nvmf_subsystem *subsystem;
	struct spdk_nvmf_subsystem_listener *listener;
	struct spdk_nvme_transport_id trid;
	int i;

	/* The discovery subsystem's listeners in the model (its NQN sorts first). */
	for (i = 0; i < target_story()->nlisteners; i++) {
		target_make_trid(&trid, target_story()->listeners[i].traddr, target_story()->listeners[i].port);
		stop_listen_one(&trid, SPDK_NVMF_DISCOVERY_NQN);
	}
	for (subsystem = spdk_nvmf_subsystem_get_first(target_tgt());
	     subsystem != NULL;
	     subsystem = spdk_nvmf_subsystem_get_next(subsystem)) {
		for (listener = spdk_nvmf_subsystem_get_first_listener(subsystem);
		     listener != NULL;
		     listener = spdk_nvmf_subsystem_get_next_listener(subsystem, listener)) {
			stop_listen_one(spdk_nvmf_subsystem_listener_get_trid(listener),
					spdk_nvmf_subsystem_get_nqn(subsystem));
		}
	}

	set_state(fini_next(FINI_STOP_LISTEN));
}

static void
_nvmf_tgt_subsystem_destroy(void *cb_arg)
{
	struct spdk_nvmf_subsystem *subsystem, *next_subsystem;
	int rc;

	subsystem = spdk_nvmf_subsystem_get_first(target_tgt());

	while (subsystem != NULL) {
		next_subsystem = spdk_nvmf_subsystem_get_next(subsystem);
		rc = spdk_nvmf_subsystem_destroy(subsystem, _nvmf_tgt_subsystem_destroy, NULL);
		if (rc) {
			if (rc == -EINPROGRESS) {
				return;
			} else {
				printf("    nvmf_tgt: Unable to destroy subsystem %s, rc %d. Trying others.\n",
				       spdk_nvmf_subsystem_get_nqn(subsystem), rc);
			}
		}
		subsystem = next_subsystem;
	}

	set_state(fini_next(FINI_DESTROY_SUBSYSTEMS));
	nvmf_tgt_advance_state();
}

static void
nvmf_tgt_destroy_done(void *ctx, int status)
{
	target_gone();
	set_state(FINI_STOPPED);
	nvmf_tgt_advance_state();
}

/* The subsystems still in the target as it is destroyed (their pointers: whether ASAN sees
 * them freed afterwards, shutdown_survivors). */
static void
note_subsystems(void)
{
	struct spdk_nvmf_subsystem *s;

	for (s = spdk_nvmf_subsystem_get_first(target_tgt()); s != NULL && g_nseen < 64;
	     s = spdk_nvmf_subsystem_get_next(s)) {
		printf("    nvmf_tgt: subsystem %s in state %d at DESTROY_TARGET\n", s->subnqn, s->state);
		g_seen[g_nseen] = s;
		snprintf(g_seen_nqn[g_nseen++], STORY_MAX_NAME, "%s", s->subnqn);
	}
}

static void
nvmf_tgt_advance_state(void)
{
	enum fini_state prev_state;

	do {
		prev_state = g_tgt_state;

		switch (g_tgt_state) {
		case FINI_STOP_LISTEN:
			nvmf_tgt_stop_listen();
			break;
		case FINI_STOP_SUBSYSTEMS: {
			struct spdk_nvmf_subsystem *subsystem;
			int ret;

			subsystem = spdk_nvmf_subsystem_get_first(target_tgt());
			if (subsystem) {
				ret = spdk_nvmf_subsystem_stop(subsystem, nvmf_tgt_subsystem_stopped, NULL);
				if (ret) {
					nvmf_tgt_subsystem_stopped(subsystem, NULL, 0);
				}
			} else {
				set_state(fini_next(FINI_STOP_SUBSYSTEMS));
			}
			break;
		}
		case FINI_DESTROY_SUBSYSTEMS:
			_nvmf_tgt_subsystem_destroy(NULL);
			return;
		case FINI_DESTROY_POLL_GROUPS:
			nvmf_tgt_destroy_poll_groups();
			break;
		case FINI_DESTROY_TARGET:
			note_subsystems();
			spdk_nvmf_tgt_destroy(target_tgt(), nvmf_tgt_destroy_done, NULL);
			break;
		case FINI_STOPPED:
			if (g_rpc_id >= 0) {
				rpc_done(g_rpc_id, 0);
				g_rpc_id = -1;
			}
			return;
		default:
			return;
		}
	} while (g_tgt_state != prev_state);
}

/* The poll groups nvmf_tgt created (nvmf_tgt_create_poll_group): one per poll-group thread. */
void
shutdown_add_poll_group(struct spdk_nvmf_poll_group *group, struct spdk_thread *thread, int pg)
{
	struct nvmf_tgt_poll_group *p = calloc(1, sizeof(*p));

	p->group = group;
	p->thread = thread;
	p->pg = pg;
	TAILQ_INSERT_TAIL(&g_poll_groups, p, link);
	g_num_poll_groups++;
}

/* nvmf_shutdown_cb on the app thread; the answer comes from the STOPPED state. A second
 * shutdown is ignored ("Already in Shutdown status"): answered with -EALREADY as the model does. */
int
target_shutdown(const struct story *st, int id)
{
	static const enum fini_state v2401[] = { FINI_STOP_SUBSYSTEMS, FINI_DESTROY_SUBSYSTEMS,
						  FINI_DESTROY_POLL_GROUPS, FINI_DESTROY_TARGET
						};
	static const enum fini_state v2405[] = { FINI_STOP_LISTEN, FINI_STOP_SUBSYSTEMS,
						  FINI_DESTROY_SUBSYSTEMS, FINI_DESTROY_POLL_GROUPS,
						  FINI_DESTROY_TARGET
						};
	static const enum fini_state master[] = { FINI_STOP_SUBSYSTEMS, FINI_STOP_LISTEN,
						   FINI_DESTROY_SUBSYSTEMS, FINI_DESTROY_POLL_GROUPS,
						   FINI_DESTROY_TARGET
						 };
	const enum fini_state *o;
	int i;

	if (g_tgt_state != FINI_NONE) {
		return -EALREADY;
	}
	if (st->nfini > 0) {
		o = st->fini;
		g_norder = st->nfini;
	} else if (DIFF_SPDK_VERSION >= 9999) {
		o = master;
		g_norder = SPDK_COUNTOF(master);
	} else if (DIFF_SPDK_VERSION >= 2405) {
		o = v2405;
		g_norder = SPDK_COUNTOF(v2405);
	} else {
		o = v2401;
		g_norder = SPDK_COUNTOF(v2401);
	}
	memcpy(g_order, o, g_norder * sizeof(*o));
	printf("    nvmf_tgt: FINI order (%s):", st->nfini > 0 ? "the story's profile" : "this SPDK's");
	for (i = 0; i < g_norder; i++) {
		printf(" %s", g_state_names[g_order[i]]);
	}
	printf("\n");
	g_rpc_id = id;
	set_state(g_order[0]);
	nvmf_tgt_advance_state();
	return 0;
}

const char *
shutdown_state_name(void)
{
	return g_state_names[g_tgt_state];
}

bool
shutdown_started(void)
{
	return g_tgt_state != FINI_NONE;
}

bool
shutdown_done(void)
{
	return g_tgt_state == FINI_STOPPED;
}

/* A subsystem the target still held when it was destroyed and that is not freed (NULL if none):
 * what exists after the shutdown, for the objects comparison. */
struct spdk_nvmf_subsystem *
shutdown_survivor(const char *nqn)
{
	int i;

	for (i = 0; i < g_nseen; i++) {
		if (strcmp(g_seen_nqn[i], nqn) == 0 && !__asan_address_is_poisoned(g_seen[i])) {
			return g_seen[i];
		}
	}
	return NULL;
}

/* After the target was destroyed: the subsystems it still held then that ASAN does not see
 * freed (their first byte is not poisoned) are leaked (docs/differential.md). */
int
shutdown_survivors(void)
{
	int i, n = 0;

	for (i = 0; i < g_nseen; i++) {
		if (!__asan_address_is_poisoned(g_seen[i])) {
			printf("LEAK: subsystem %s survives the target shutdown (never freed)\n", g_seen_nqn[i]);
			n++;
		}
	}
	return n;
}
