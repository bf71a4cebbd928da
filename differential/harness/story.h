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

struct story_subsystem {
	char nqn[STORY_MAX_NAME];
	uint16_t min_cntlid, max_cntlid;
	int namespaces;
	bool any_host, start;
	char hosts[8][STORY_MAX_NAME];
	int nhosts;
	struct story_addr listeners[8];
	int nlisteners;
};

enum step_kind { STEP_ACCEPT, STEP_BYTES, STEP_PEER_CLOSED, STEP_RUN, STEP_RPC, STEP_FIRE,
		 STEP_COMPLETE, STEP_OTHER
	       };
enum rpc_kind { RPC_PAUSE, RPC_RESUME, RPC_STOP_LISTEN, RPC_REMOVE_LISTENER, RPC_UNSUPPORTED };

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
	uint32_t nsid;
	char traddr[STORY_MAX_NAME];
	int port;
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
};

struct story {
	char seed[512];
	char result[256];
	int poll_groups;
	bool retry_parking;
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
/* RPC answers real SPDK gave since the last call (id, ok), at most `max`; returns the count. */
int target_take_rpc_done(struct story_rpc_done *out, int max);

/* interp.c: exit codes of a story run. */
#define STORY_QUIESCENT 0
#define STORY_NOT_QUIESCENT 2
#define STORY_DIVERGED 3
#define STORY_UNSUPPORTED 4
int story_run(const struct story *st, bool lenient);
/* Output comparison totals of the last story_run (steps whose outputs agreed / differed). */
extern int g_out_agree, g_out_differ;

#endif
