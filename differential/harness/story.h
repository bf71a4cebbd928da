/*   SPDX-License-Identifier: BSD-3-Clause
 *   A parsed story (the format of docs/differential.md) and the interpreter's entry points.
 */
#ifndef FABCHECK_DIFF_STORY_H
#define FABCHECK_DIFF_STORY_H

#include "spdk/stdinc.h"

#define STORY_MAX_PGS 8
#define STORY_MAX_NAME 256

struct story_addr {
	char traddr[STORY_MAX_NAME];
	int port;
};

/* A namespace (on a subsystem at start, or one an add_namespace step adds): a RAM bdev. */
struct story_ns {
	uint32_t nsid;
	uint64_t blocks;
	uint32_t block_size;
};

struct story_subsystem {
	char nqn[STORY_MAX_NAME];
	uint16_t min_cntlid, max_cntlid;
	int namespaces;
	struct story_ns ns[8];   /* `namespace` lines: the namespaces at start */
	int nns;
	struct story_ns extra[8]; /* `bdev` lines: namespaces add_namespace steps add later */
	int nextra;
	bool any_host, start;
	char hosts[8][STORY_MAX_NAME];
	int nhosts;
	struct story_addr listeners[8];
	int nlisteners;
};

enum step_kind { STEP_ACCEPT, STEP_BYTES, STEP_PEER_CLOSED, STEP_RUN, STEP_RPC, STEP_FIRE,
		 STEP_COMPLETE, STEP_OTHER
	       };
enum rpc_kind { RPC_PAUSE, RPC_RESUME, RPC_STOP_LISTEN, RPC_REMOVE_LISTENER, RPC_ADD_LISTENER,
		RPC_ADD_NS, RPC_REMOVE_NS, RPC_UNSUPPORTED, RPC_DELETE_SUBSYSTEM, RPC_SHUTDOWN,
		RPC_TRANSPORT_LISTEN, RPC_STOP_SUBSYSTEM, RPC_START_SUBSYSTEM, RPC_GET_QPAIRS,
		RPC_ADD_HOST, RPC_REMOVE_HOST, RPC_GET_CONTROLLERS
	      };

/* nvmf_tgt.c's FINI states (shutdown.c), in the order a story's `fini` line lists them. */
enum fini_state { FINI_NONE, FINI_STOP_LISTEN, FINI_STOP_SUBSYSTEMS, FINI_DESTROY_SUBSYSTEMS,
		  FINI_DESTROY_POLL_GROUPS, FINI_DESTROY_TARGET, FINI_STOPPED, FINI_MAX
		};

struct story_step {
	int n;
	uint64_t at_ns;
	enum step_kind kind;
	int conn;            /* accept, bytes, peer_closed */
	int pg;              /* accept: the poll group the model chose */
	int thread;          /* run: 0 = app, 1 + n = pg n */
	char fn[128];        /* run: the SPDK function the model runs */
	uint8_t *data;       /* bytes */
	size_t len;
	int rpc_id;
	enum rpc_kind rpc;
	char nqn[STORY_MAX_NAME];
	char hostnqn[STORY_MAX_NAME]; /* rpc add_host, remove_host */
	uint32_t nsid;
	char traddr[STORY_MAX_NAME];
	int port;
	uint64_t io;         /* complete: the device I/O id (submission order, from 1) */
	struct story_ns ns;  /* rpc add_namespace */
	char text[128];      /* the raw verb, for unsupported steps */
	/* The model's outputs after this step (`model` lines): bytes per connection, closes. */
	struct story_send {
		int conn;
		uint8_t *data;
		size_t len;
	} sends[8];
	int nsends;
	int closes[8];
	int ncloses;
	struct story_rpc_done {
		int id;
		bool ok;
	} rpcs[8];           /* the model's RPC answers after this step */
	int nrpcs;
	char objects[128];   /* `model N objects ...`: what exists after the step ("" if none) */
};

struct story {
	char seed[512];
	char result[256];
	int poll_groups;
	bool retry_parking;
	enum fini_state fini[FINI_MAX]; /* `fini` line: the model's shutdown order (none: the version's) */
	int nfini;
	struct story_addr listeners[8];
	int nlisteners;
	struct story_subsystem subsystems[8];
	int nsubsystems;
	struct story_step *steps;
	int nsteps;
};

int story_parse(FILE *f, struct story *st);

/* target.c */
extern struct spdk_thread *g_threads[];
extern int g_nthreads;
void target_setup(const struct story *st);
void target_settle(void);
bool target_rpc(const struct story_step *step);
void target_pg_qpairs(int pg, int *total, int *not_active);
uint64_t target_pg_mgmt_outstanding(int pg);
/* RPC answers real SPDK gave since the last call (id, ok), at most `max`; returns the count. */
int target_take_rpc_done(struct story_rpc_done *out, int max);
/* The objects that exist (qpairs per poll group, ctrlrs per subsystem), as one line. */
void target_objects(char *buf, size_t len);
const char *target_bdev_name(const char *nqn, uint32_t nsid);
const struct story *target_story(void);
struct spdk_nvme_transport_id;
void target_make_trid(struct spdk_nvme_transport_id *trid, const char *traddr, int port);

/* shutdown.c: nvmf_tgt.c's FINI state machine. */
int target_shutdown(const struct story *st, int id);
bool shutdown_started(void);
bool shutdown_done(void);
int shutdown_survivors(void);
const char *shutdown_state_name(void);

/* fcbdev.c: the RAM bdev module under the story's namespaces. */
int fcbdev_layer_init(void);
int fcbdev_create(const char *name, uint64_t blocks, uint32_t block_size, uint32_t uuid_seed);
int fcbdev_complete(uint64_t id);
int fcbdev_io_pg(uint64_t id);
size_t fcbdev_pending(void);

/* interp.c: exit codes of a story run. */
#define STORY_QUIESCENT 0
#define STORY_NOT_QUIESCENT 2
#define STORY_DIVERGED 3
#define STORY_UNSUPPORTED 4
#define STORY_LEAKED 5       /* quiescent, but the target shutdown left a subsystem unfreed */
#define STORY_LOST 6         /* a message sent to an exited thread was lost (v24.01: -EIO) */
#define STORY_ORPHANED 7     /* a poll group was freed with qpairs still on its list */
int story_run(const struct story *st, bool lenient);
/* Output comparison totals of the last story_run (steps whose outputs agreed / differed). */
extern int g_out_agree, g_out_differ, g_obj_differ;

#endif
