/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The real SPDK target the stories run on: an app thread and N poll-group threads (SPDK
 *   threads driven by the interpreter, never by OS threads), the target, the TCP transport over
 *   memsock, the story's subsystems and listeners; and the operator calls an RPC handler makes.
 *
 *   Owns: the target objects and the table of SPDK threads (index 0 = app, 1 + n = pg n).
 */
#include "spdk/stdinc.h"
#include "spdk/nvmf.h"
#include "spdk/nvmf_transport.h"
#include "spdk/thread.h"
#include "spdk/log.h"
#include "spdk/nvme.h"
#include "spdk/bdev.h"
#include "harness.h"
#include "story.h"
#include "nvmf/nvmf_internal.h"

void allocate_cores(uint32_t num_cores);

static struct spdk_nvmf_tgt *g_tgt;
static struct spdk_nvmf_transport *g_transport;
struct spdk_thread *g_threads[1 + STORY_MAX_PGS];
int g_nthreads;
static struct spdk_nvmf_poll_group *g_pgs[STORY_MAX_PGS];
/* Qpairs still on a poll group's list when its destroy callback ran: never unlinked after */
static int g_pg_orphans[STORY_MAX_PGS];
static const struct story *g_setup; /* the story the target was set up from */

void
target_make_trid(struct spdk_nvme_transport_id *trid, const char *traddr, int port)
{
	memset(trid, 0, sizeof(*trid));
	trid->trtype = SPDK_NVME_TRANSPORT_TCP;
	snprintf(trid->trstring, sizeof(trid->trstring), "TCP");
	trid->adrfam = SPDK_NVMF_ADRFAM_IPV4;
	snprintf(trid->traddr, sizeof(trid->traddr), "%s", traddr);
	snprintf(trid->trsvcid, sizeof(trid->trsvcid), "%d", port);
}

struct spdk_nvmf_tgt *
target_tgt(void)
{
	return g_tgt;
}

const struct story *
target_story(void)
{
	return g_setup;
}

/* The poll group's destroy callback ran (shutdown.c; the group's memory is still valid, it is
 * freed when the callback returns). A qpair still on group->qpairs (one whose
 * _nvmf_poll_group_add ran after the disconnect walk found the group empty) keeps pointing at
 * the freed group and is never polled or unlinked again: counted here, it stays in the objects
 * line and makes the verdict ORPHANED-QPAIR (the model's I15 at nvmf_tgt_destroy_poll_group). */
void
target_pg_destroyed(int pg)
{
	struct spdk_nvmf_qpair *q;
	int n = 0;

	TAILQ_FOREACH(q, &g_pgs[pg]->qpairs, link) {
		n++;
	}
	if (n > 0) {
		printf("    poll group %d freed with %d qpair(s) still on group->qpairs\n", pg, n);
	}
	g_pg_orphans[pg] = n;
	g_pgs[pg] = NULL;
}

int
target_orphaned_qpairs(void)
{
	int i, n = 0;

	for (i = 0; i < STORY_MAX_PGS; i++) {
		n += g_pg_orphans[i];
	}
	return n;
}

/* spdk_nvmf_tgt_destroy finished: the target and its transports are freed. */
void
target_gone(void)
{
	g_tgt = NULL;
	g_transport = NULL;
}

int
target_pg_of_thread(struct spdk_thread *t)
{
	int i;

	for (i = 1; i < g_nthreads; i++) {
		if (g_threads[i] == t) {
			return i - 1;
		}
	}
	return -1;
}

/* Polls every thread (messages and pollers) until no message is queued anywhere. */
void
target_settle(void)
{
	int round, i;

	for (round = 0; round < 100000; round++) {
		size_t queued = 0;

		for (i = 0; i < g_nthreads; i++) {
			spdk_thread_poll(g_threads[i], 0, peek_get_ticks());
		}
		for (i = 0; i < g_nthreads; i++) {
			queued += peek_queue_len(g_threads[i]);
		}
		if (queued == 0) {
			return;
		}
	}
	fprintf(stderr, "harness: setup did not settle\n");
	exit(70);
}

static void
setup_cb(void *arg, int status)
{
	if (status != 0) {
		fprintf(stderr, "harness: setup step %s failed: %d\n", (const char *)arg, status);
		exit(70);
	}
}

static void
subsys_cb(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	setup_cb(arg, status);
}

static void
create_transport(void)
{
	struct spdk_nvmf_transport_opts o;

	if (!spdk_nvmf_transport_opts_init("TCP", &o, sizeof(o))) {
		fprintf(stderr, "harness: no TCP transport registered\n");
		exit(70);
	}
	/* Small per-poll-group buffer caches so up to 8 poll groups fit the default iobuf pools
	 * (the cache only saves a trip to the shared pool; stories move a few blocks). */
	o.buf_cache_size = 32;
#if DIFF_SPDK_VERSION >= 9999
	o.iobuf_large_cache_size = 8;
#endif
	g_transport = spdk_nvmf_transport_create("TCP", &o);
	if (g_transport == NULL) {
		fprintf(stderr, "harness: TCP transport create failed\n");
		exit(70);
	}
	spdk_nvmf_tgt_add_transport(g_tgt, g_transport, setup_cb, "add_transport");
	target_settle();
}

/* The bdev under namespace `nsid` of `nqn` (one RAM bdev per (subsystem, nsid)). */
const char *
target_bdev_name(const char *nqn, uint32_t nsid)
{
	static char name[STORY_MAX_NAME + 16];

	snprintf(name, sizeof(name), "%s/n%u", nqn, nsid);
	return name;
}

/* What nvmf_subsystem_add_ns does once the subsystem is paused or inactive. */
static uint32_t
add_ns(struct spdk_nvmf_subsystem *s, uint32_t nsid)
{
	struct spdk_nvmf_ns_opts o;

	spdk_nvmf_ns_opts_get_defaults(&o, sizeof(o));
	o.nsid = nsid;
	return spdk_nvmf_subsystem_add_ns_ext(s, target_bdev_name(spdk_nvmf_subsystem_get_nqn(s), nsid),
					      &o, sizeof(o), NULL);
}

/* One RAM bdev per namespace the story may use, registered before the target exists (the
 * bdev subsystem starts before nvmf in SPDK's app). */
static void
create_bdevs(const struct story *st)
{
	uint32_t seed = 1;
	int i, j;

	if (fcbdev_layer_init() != 0) {
		fprintf(stderr, "harness: bdev layer init failed\n");
		exit(70);
	}
	for (i = 0; i < st->nsubsystems; i++) {
		const struct story_subsystem *ss = &st->subsystems[i];

		for (j = 0; j < ss->nns + ss->nextra; j++) {
			const struct story_ns *n = j < ss->nns ? &ss->ns[j] : &ss->extra[j - ss->nns];

			if (spdk_bdev_get_by_name(target_bdev_name(ss->nqn, n->nsid)) != NULL) {
				continue;
			}
			if (fcbdev_create(target_bdev_name(ss->nqn, n->nsid), n->blocks, n->block_size, seed++) != 0) {
				fprintf(stderr, "harness: bdev for %s nsid %u failed\n", ss->nqn, n->nsid);
				exit(70);
			}
		}
	}
	target_settle();
}

static void
create_subsystem(const struct story_subsystem *ss)
{
	struct spdk_nvmf_subsystem *s;
	int i;

#if DIFF_SPDK_VERSION >= 9999
	struct spdk_nvmf_subsystem_opts so;

	spdk_nvmf_subsystem_opts_init(SPDK_NVMF_SUBTYPE_NVME, &so, sizeof(so));
	so.max_nsid = 32;
	snprintf(so.sn, sizeof(so.sn), "FABCHECK0000000001");
	s = spdk_nvmf_subsystem_create_ext(g_tgt, ss->nqn, SPDK_NVMF_SUBTYPE_NVME, &so);
#define set_cntlid_range spdk_nvmf_subsystem_set_cntlid_range
#else
	s = spdk_nvmf_subsystem_create(g_tgt, ss->nqn, SPDK_NVMF_SUBTYPE_NVME, 32);
	if (s != NULL) {
		spdk_nvmf_subsystem_set_sn(s, "FABCHECK0000000001");
	}
#define set_cntlid_range nvmf_subsystem_set_cntlid_range
#endif
	if (s == NULL) {
		fprintf(stderr, "harness: subsystem %s create failed\n", ss->nqn);
		exit(70);
	}
	spdk_nvmf_subsystem_set_allow_any_host(s, ss->any_host);
	if (set_cntlid_range(s, ss->min_cntlid, ss->max_cntlid) != 0) {
		fprintf(stderr, "harness: cntlid range %u-%u refused\n", ss->min_cntlid, ss->max_cntlid);
		exit(70);
	}
	for (i = 0; i < ss->nhosts; i++) {
		spdk_nvmf_subsystem_add_host(s, ss->hosts[i], NULL);
	}
	for (i = 0; i < ss->nns; i++) {
		if (add_ns(s, ss->ns[i].nsid) != ss->ns[i].nsid) {
			fprintf(stderr, "harness: namespace %u of %s refused\n", ss->ns[i].nsid, ss->nqn);
			exit(70);
		}
	}
	for (i = 0; i < ss->nlisteners; i++) {
		struct spdk_nvme_transport_id trid;
		struct spdk_nvmf_listen_opts lo;

		/* What the nvmf_subsystem_add_listener RPC does (nvmf_rpc_listen_paused): a transport
		 * listen, which takes one more reference on an existing listener, then the subsystem
		 * listener. */
		target_make_trid(&trid, ss->listeners[i].traddr, ss->listeners[i].port);
		spdk_nvmf_listen_opts_init(&lo, sizeof(lo));
		if (spdk_nvmf_tgt_listen_ext(g_tgt, &trid, &lo) != 0) {
			fprintf(stderr, "harness: listen on %s for %s failed\n", trid.traddr, ss->nqn);
			exit(70);
		}
		spdk_nvmf_subsystem_add_listener(s, &trid, setup_cb, "add_listener");
		target_settle();
	}
	if (ss->start) {
		spdk_nvmf_subsystem_start(s, subsys_cb, "subsystem_start");
		target_settle();
	}
}

void
target_setup(const struct story *st)
{
	struct spdk_nvmf_target_opts topts;
	char name[32];
	int i;

	g_setup = st;
	allocate_cores(1);
	memsock_register();
	spdk_thread_lib_init(NULL, 0);
	g_threads[0] = spdk_thread_create("app", NULL);
	g_nthreads = 1;
	spdk_set_thread(g_threads[0]);
	if (spdk_iobuf_initialize() != 0) {
		fprintf(stderr, "harness: iobuf init failed\n");
		exit(70);
	}
	create_bdevs(st);
	memset(&topts, 0, sizeof(topts));
#if DIFF_SPDK_VERSION >= 2405
	topts.size = sizeof(topts);
#endif
	snprintf(topts.name, sizeof(topts.name), "nvmf_tgt");
	topts.max_subsystems = 16;
	g_tgt = spdk_nvmf_tgt_create(&topts);
	if (g_tgt == NULL) {
		fprintf(stderr, "harness: target create failed\n");
		exit(70);
	}
	create_transport();
	for (i = 0; i < st->poll_groups; i++) {
		snprintf(name, sizeof(name), "nvmf_tgt_poll_group_%d", i);
		g_threads[1 + i] = spdk_thread_create(name, NULL);
		g_nthreads++;
		spdk_set_thread(g_threads[1 + i]);
		g_pgs[i] = spdk_nvmf_poll_group_create(g_tgt);
		shutdown_add_poll_group(g_pgs[i], g_threads[1 + i], i);
		spdk_set_thread(g_threads[0]);
		target_settle();
	}
	for (i = 0; i < st->nlisteners; i++) {
		struct spdk_nvme_transport_id trid;
		struct spdk_nvmf_listen_opts lo;

		target_make_trid(&trid, st->listeners[i].traddr, st->listeners[i].port);
		spdk_nvmf_listen_opts_init(&lo, sizeof(lo));
		if (spdk_nvmf_tgt_listen_ext(g_tgt, &trid, &lo) != 0) {
			fprintf(stderr, "harness: listen on %s failed\n", trid.traddr);
			exit(70);
		}
	}
	for (i = 0; i < st->nsubsystems; i++) {
		create_subsystem(&st->subsystems[i]);
	}
	target_settle();
}

/* ---- operator calls (what the RPC handlers in nvmf_rpc.c call) ---- */

static struct story_rpc_done g_rpc_done[16];
static int g_nrpc_done;

void
rpc_done(int id, int status)
{
	printf("    rpc %d done: %s (%d)\n", id, status == 0 ? "ok" : "error", status);
	if (g_nrpc_done < 16) {
		g_rpc_done[g_nrpc_done].id = id;
		g_rpc_done[g_nrpc_done++].ok = status == 0;
	}
}

int
target_take_rpc_done(struct story_rpc_done *out, int max)
{
	int n = spdk_min(g_nrpc_done, max);

	memcpy(out, g_rpc_done, n * sizeof(*out));
	g_nrpc_done = 0;
	return n;
}

static void
state_done(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	rpc_done((int)(intptr_t)arg, status);
}

static void
stop_listen_done(void *arg, int status)
{
	rpc_done((int)(intptr_t)arg, status);
}

/* nvmf_subsystem_remove_listener: pause, remove_listener + stop_listen_async(subsystem),
 * resume (nvmf_rpc_listen_paused / nvmf_rpc_stop_listen_async_done). A listener the subsystem
 * does not have is answered with an error in the paused callback, before the resume
 * (`response_sent`; v24.01 nvmf_rpc.c:778-786, master rpc_nvmf_remove_listener_paused). */
struct remove_ctx {
	int id;
	struct spdk_nvme_transport_id trid;
	struct spdk_nvmf_subsystem *subsystem;
	int status; /* the first error (nvmf_rpc.c answers it and still resumes) */
	bool response_sent;
};

static void
remove_resumed(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	struct remove_ctx *c = arg;

	if (!c->response_sent) {
		rpc_done(c->id, c->status != 0 ? c->status : status);
	}
	free(c);
}

static void
remove_stopped_resume(void *arg, int status)
{
	struct remove_ctx *c = arg;

	if (status != 0) {
		printf("    rpc %d: stop_listen_async failed: %d\n", c->id, status);
		c->status = status;
	}
	if (spdk_nvmf_subsystem_resume(c->subsystem, remove_resumed, c) != 0) {
		rpc_done(c->id, -1);
		free(c);
	}
}

static void
remove_paused(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	struct remove_ctx *c = arg;

	if (spdk_nvmf_subsystem_remove_listener(s, &c->trid) == 0) {
		spdk_nvmf_transport_stop_listen_async(g_transport, &c->trid, s, remove_stopped_resume, c);
		return;
	}
	c->status = -EINVAL;
	rpc_done(c->id, c->status);
	c->response_sent = true;
	if (spdk_nvmf_subsystem_resume(s, remove_resumed, c) != 0) {
		free(c);
	}
}

/* nvmf_subsystem_add_listener, _add_ns, _remove_ns: pause (0 or the nsid), the change, resume,
 * then the answer (rpc_nvmf_add_listener_paused, rpc_nvmf_subsystem_add_ns_paused,
 * rpc_nvmf_subsystem_remove_ns_paused). A failed change is answered with an error at once
 * (`response_sent`) and the subsystem is resumed all the same, without a second answer. */
struct change_ctx {
	int id;
	enum rpc_kind kind;
	struct spdk_nvme_transport_id trid;
	uint32_t nsid;
	struct spdk_nvmf_subsystem *subsystem;
	int status;
	bool response_sent;
};

static void
change_failed(struct change_ctx *c, int status)
{
	c->status = status;
	rpc_done(c->id, status);
	c->response_sent = true;
}

static void
change_resumed(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	struct change_ctx *c = arg;

	if (!c->response_sent) {
		rpc_done(c->id, status);
	}
	free(c);
}

static void
change_resume(struct spdk_nvmf_subsystem *s, struct change_ctx *c)
{
	if (spdk_nvmf_subsystem_resume(s, change_resumed, c) != 0) {
		if (!c->response_sent) {
			rpc_done(c->id, -1);
		}
		free(c);
	}
}

static void
listener_added(void *arg, int status)
{
	struct change_ctx *c = arg;

	if (status != 0) {
		change_failed(c, status);
	}
	change_resume(c->subsystem, c);
}

static void
change_paused(struct spdk_nvmf_subsystem *s, void *arg, int status)
{
	struct change_ctx *c = arg;
	struct spdk_nvmf_listen_opts lo;

	switch (c->kind) {
	case RPC_ADD_LISTENER:
		/* A listener the subsystem already has: v24.01 skips it and answers after the resume
		 * (nvmf_rpc_listen_paused, nvmf_rpc.c:764); since ee9e3438f7 (v24.05) it is refused
		 * before the resume (rpc_nvmf_add_listener_paused in master). */
		if (nvmf_subsystem_find_listener(s, &c->trid) != NULL) {
#if DIFF_SPDK_VERSION >= 2405
			change_failed(c, -EEXIST);
#endif
			break;
		}
		spdk_nvmf_listen_opts_init(&lo, sizeof(lo));
		if (spdk_nvmf_tgt_listen_ext(g_tgt, &c->trid, &lo) != 0) {
			change_failed(c, -EINVAL);
			break;
		}
		spdk_nvmf_subsystem_add_listener(s, &c->trid, listener_added, c);
		return;
	case RPC_ADD_NS:
		if (add_ns(s, c->nsid) != c->nsid) {
			change_failed(c, -EINVAL);
		}
		break;
	case RPC_REMOVE_NS:
		if (spdk_nvmf_subsystem_remove_ns(s, c->nsid) < 0) {
			change_failed(c, -EINVAL);
		}
		break;
	default:
		change_failed(c, -EINVAL);
	}
	change_resume(s, c);
}

static int
paused_change(struct spdk_nvmf_subsystem *s, const struct story_step *st,
	      const struct spdk_nvme_transport_id *trid)
{
	struct change_ctx *c = calloc(1, sizeof(*c));
	uint32_t nsid = st->rpc == RPC_ADD_NS ? st->ns.nsid : st->nsid;
	int rc;

	c->id = st->rpc_id;
	c->kind = st->rpc;
	c->trid = *trid;
	c->nsid = nsid;
	c->subsystem = s;
	rc = spdk_nvmf_subsystem_pause(s, st->rpc == RPC_ADD_LISTENER ? 0 : nsid, change_paused, c);
	if (rc != 0) {
		free(c);
	}
	return rc;
}

/* remove_listener: pause, then (remove_paused) remove the listener and resume. */
static int
remove_listener(struct spdk_nvmf_subsystem *s, const struct story_step *st,
		const struct spdk_nvme_transport_id *trid)
{
	struct remove_ctx *c = calloc(1, sizeof(*c));
	int rc;

	c->id = st->rpc_id;
	c->trid = *trid;
	c->subsystem = s;
	rc = spdk_nvmf_subsystem_pause(s, 0, remove_paused, c);
	if (rc != 0) {
		free(c);
	}
	return rc;
}

/* nvmf_subsystem_add_listener's transport half alone: one more reference on the transport
 * listener (a new listen socket for a new address). */
static int
transport_listen(const struct story_step *st, const struct spdk_nvme_transport_id *trid)
{
	struct spdk_nvmf_listen_opts lo;
	int rc;

	spdk_nvmf_listen_opts_init(&lo, sizeof(lo));
	rc = spdk_nvmf_tgt_listen_ext(g_tgt, trid, &lo);
	if (rc == 0) {
		rpc_done(st->rpc_id, 0);
	}
	return rc;
}

/* The lib/nvmf call of the story's operator call (on subsystem `s`, if it names one); *rc is
 * its synchronous result. False for a call the harness does not have. */
static bool
call_rpc(struct spdk_nvmf_subsystem *s, const struct story_step *st,
	 const struct spdk_nvme_transport_id *trid, int *rc)
{
	void *id = (void *)(intptr_t)st->rpc_id;

	*rc = 0;
	switch (st->rpc) {
	case RPC_PAUSE:
		*rc = spdk_nvmf_subsystem_pause(s, st->nsid, state_done, id);
		return true;
	case RPC_RESUME:
		*rc = spdk_nvmf_subsystem_resume(s, state_done, id);
		return true;
	case RPC_STOP_LISTEN:
		spdk_nvmf_transport_stop_listen_async(g_transport, trid, s, stop_listen_done, id);
		return true;
	case RPC_REMOVE_LISTENER:
		*rc = remove_listener(s, st, trid);
		return true;
	case RPC_ADD_LISTENER:
	case RPC_ADD_NS:
	case RPC_REMOVE_NS:
		*rc = paused_change(s, st, trid);
		return true;
	case RPC_DELETE_SUBSYSTEM:
		*rc = target_delete_subsystem(s, st->rpc_id);
		return true;
	case RPC_STOP_SUBSYSTEM:
		*rc = spdk_nvmf_subsystem_stop(s, state_done, id);
		return true;
	case RPC_START_SUBSYSTEM:
		*rc = spdk_nvmf_subsystem_start(s, state_done, id);
		return true;
	case RPC_GET_QPAIRS:
		*rc = target_get_qpairs(s, st->rpc_id);
		return true;
	case RPC_ADD_HOST:
		*rc = target_add_host(s, st->hostnqn, st->rpc_id);
		return true;
	case RPC_REMOVE_HOST:
		*rc = target_remove_host(s, st->hostnqn, st->rpc_id);
		return true;
	case RPC_GET_CONTROLLERS:
		*rc = target_get_controllers(s, st->rpc_id);
		return true;
	case RPC_TRANSPORT_LISTEN:
		*rc = transport_listen(st, trid);
		return true;
	case RPC_SHUTDOWN:
		*rc = target_shutdown(g_setup, st->rpc_id);
		return true;
	default:
		return false;
	}
}

/* Issues one operator call on the app thread; false when the story's call is not supported. */
bool
target_rpc(const struct story_step *st)
{
	struct spdk_nvmf_subsystem *s = NULL;
	struct spdk_nvme_transport_id trid;
	int rc;

	if (st->rpc == RPC_UNSUPPORTED) {
		return false;
	}
	if (g_tgt == NULL) {
		/* After the target shutdown: nothing left to call. */
		rpc_done(st->rpc_id, -ENODEV);
		return true;
	}
	if (st->nqn[0] != '\0' && strcmp(st->nqn, "-") != 0) {
		s = spdk_nvmf_tgt_find_subsystem(g_tgt, st->nqn);
		if (s == NULL) {
			rpc_done(st->rpc_id, -ENOENT);
			return true;
		}
	}
	target_make_trid(&trid, st->traddr, st->port);
	spdk_set_thread(g_threads[0]);
	if (!call_rpc(s, st, &trid, &rc)) {
		return false;
	}
	if (rc != 0) {
		rpc_done(st->rpc_id, rc);
	}
	return true;
}

/* Qpairs on poll group `pg` and how many are in a transition that must finish before the
 * target is quiet (UNINITIALIZED: not yet added; DEACTIVATING or ERROR: a disconnect in
 * progress). Connected and connecting qpairs with nothing in flight are quiet. */
void
target_pg_qpairs(int pg, int *total, int *not_active)
{
	struct spdk_nvmf_qpair *q;

	*total = 0;
	*not_active = 0;
	if (g_pgs[pg] == NULL) {
		return;
	}
	TAILQ_FOREACH(q, &g_pgs[pg]->qpairs, link) {
		(*total)++;
		if (q->state == SPDK_NVMF_QPAIR_UNINITIALIZED || q->state == SPDK_NVMF_QPAIR_DEACTIVATING ||
		    q->state == SPDK_NVMF_QPAIR_ERROR) {
			(*not_active)++;
		}
	}
}

/* Requests still counted in poll group pg's subsystem groups (`mgmt_io_outstanding`, summed
 * over its sgroups). At quiescence that is a CONNECT parked for a retry, or a leaked count
 * (hazard H-7, docs/hazards.md). */
uint64_t
target_pg_mgmt_outstanding(int pg)
{
	uint64_t n = 0;
	uint32_t i;

	if (g_pgs[pg] == NULL) {
		return 0;
	}
	for (i = 0; i < g_pgs[pg]->num_sgroups; i++) {
		n += g_pgs[pg]->sgroups[i].mgmt_io_outstanding;
	}
	return n;
}

/* "qpairs N... ctrlrs N...": qpairs on each poll group's list, then controllers on each
 * subsystem's list in the story's order ("-" once the subsystem is gone): the model's
 * `objects` line (docs/differential.md). */
void
target_objects(char *buf, size_t len)
{
	struct spdk_nvmf_qpair *q;
	struct spdk_nvmf_ctrlr *c;
	size_t off;
	int i, n;

	off = (size_t)snprintf(buf, len, "qpairs");
	for (i = 0; i < g_setup->poll_groups && off < len; i++) {
		n = g_pgs[i] == NULL ? g_pg_orphans[i] : 0;
		if (g_pgs[i] != NULL) {
			TAILQ_FOREACH(q, &g_pgs[i]->qpairs, link) {
				n++;
			}
		}
		off += (size_t)snprintf(buf + off, len - off, " %d", n);
	}
	if (off < len) {
		off += (size_t)snprintf(buf + off, len - off, " ctrlrs");
	}
	for (i = 0; i < g_setup->nsubsystems && off < len; i++) {
		struct spdk_nvmf_subsystem *s = g_tgt == NULL ? shutdown_survivor(g_setup->subsystems[i].nqn) :
						 spdk_nvmf_tgt_find_subsystem(g_tgt, g_setup->subsystems[i].nqn);

		if (s == NULL) {
			off += (size_t)snprintf(buf + off, len - off, " -");
			continue;
		}
		n = 0;
		TAILQ_FOREACH(c, &s->ctrlrs, link) {
			n++;
		}
		off += (size_t)snprintf(buf + off, len - off, " %d", n);
	}
}
