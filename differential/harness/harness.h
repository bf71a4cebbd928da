/*   SPDX-License-Identifier: BSD-3-Clause
 *   Interfaces between the harness's files (memsock.c, thread_peek.c, story.c, main.c).
 */
#ifndef FABCHECK_DIFF_HARNESS_H
#define FABCHECK_DIFF_HARNESS_H

#include "spdk/stdinc.h"
#include "spdk/thread.h"

/* memsock.c: the in-memory spdk_net_impl. */
void memsock_register(void);
bool memsock_listening(const char *traddr, int port);
int memsock_queue_conn(int conn_id, const char *traddr, int port, int pg);
int memsock_push(int conn_id, const uint8_t *data, size_t len);
int memsock_peer_close(int conn_id);
size_t memsock_take_output(int conn_id, uint8_t **out);
int memsock_conn_group(int conn_id);
bool memsock_conn_closed(int conn_id);
void harness_note_close(int conn_id);
/* target.c: the poll group index of an SPDK thread (-1 for the app thread or unknown). */
int target_pg_of_thread(struct spdk_thread *t);

/* thread_peek.c: SPDK's thread library internals (thread.c and the test env compiled in). */
/* The head message of a thread: its function and argument (false when the queue is empty). */
bool peek_head_msg(struct spdk_thread *t, void **fn, void **arg);
/* The real callback behind a for_each_channel message (NULL when fn is not one). */
/* The last message queued on `t` (false when empty). */
bool peek_tail_msg(struct spdk_thread *t, void **fn, void **arg);
void *peek_tail_token(struct spdk_thread *t);
bool peek_unregister_of(void *arg, void *io_device);
void *peek_take_tail(struct spdk_thread *t);
void peek_put_tail(struct spdk_thread *t, void *token);
void *peek_unwrap(void *fn, void *arg, const char **kind);
/* Messages queued on a thread. */
size_t peek_queue_len(struct spdk_thread *t);
/* Runs a thread's active pollers and its due timed pollers, no message (one thread iteration
 * minus the message batch). */
int peek_run_pollers(struct spdk_thread *t, uint64_t now);
/* Runs a thread's active (untimed) pollers once: a reactor iteration with no message and no
 * timed poller due (what flushes the sockets a poll group wrote during the step). */
int peek_run_active_pollers(struct spdk_thread *t, uint64_t now);
/* One message, then the active pollers (no timed poller): a `run` step. */
int peek_run_one_msg(struct spdk_thread *t, uint64_t now);
/* The tick the thread's first timed poller is due at (UINT64_MAX: none). */
uint64_t peek_next_timed(struct spdk_thread *t);
/* Runs the registered poller named `name` once, due or not (the acceptor). */
/* The due timed pollers of `t` that `match` accepts, and only those. */
int peek_run_due_matching(struct spdk_thread *t, uint64_t now,
			  bool (*match)(const char *name, void *arg, void *ctx), void *ctx);
/* When the first timed poller of `t` that `match` accepts is due (UINT64_MAX: none). */
uint64_t peek_next_timed_matching(struct spdk_thread *t,
				  bool (*match)(const char *name, void *arg, void *ctx), void *ctx);
int peek_run_poller_named(struct spdk_thread *t, const char *name);
/* Sets the mocked tick (1 tick = 1 us). */
void peek_set_ticks(uint64_t ticks);
uint64_t peek_get_ticks(void);

/* main.c: symbol names of function pointers (from the nm table the build writes). */
const char *sym_name(void *fn);
/* The source file (basename) defining it: two static functions may share a name. */
const char *sym_file(void *fn);

/* The answer of the story's RPC `id` (target.c): 0 is ok. */
void rpc_done(int id, int status);
/* nvmf_delete_subsystem's calls on `s` (rpc_delete.c); non-zero: refused at once. */
struct spdk_nvmf_subsystem;
int target_delete_subsystem(struct spdk_nvmf_subsystem *s, int id);

/* target.c: the target and what shutdown.c tears down. */
struct spdk_nvmf_tgt *target_tgt(void);
struct spdk_nvmf_poll_group;
void target_pg_destroyed(int pg);
int target_orphaned_qpairs(void);
void target_gone(void);
/* shutdown.c */
struct spdk_nvmf_subsystem *shutdown_survivor(const char *nqn);
void shutdown_add_poll_group(struct spdk_nvmf_poll_group *group, struct spdk_thread *thread, int pg);
/* rpc_delete.c: nvmf_subsystem_get_qpairs (pause, walk the poll groups, answer, resume). */
int target_get_qpairs(struct spdk_nvmf_subsystem *s, int id);
/* rpc_hosts.c */
int target_add_host(struct spdk_nvmf_subsystem *s, const char *hostnqn, int id);
int target_remove_host(struct spdk_nvmf_subsystem *s, const char *hostnqn, int id);
int target_get_controllers(struct spdk_nvmf_subsystem *s, int id);
/* thread_peek.c */
/* thread_exit() for a thread spdk_thread_exit moved to EXITING (what spdk_thread_poll does at
 * the end of each iteration); true once the thread is EXITED. */
bool peek_thread_exit_poll(struct spdk_thread *t, uint64_t now);
bool peek_thread_exited(struct spdk_thread *t);
/* Whether any message queued on `t` is one `match` accepts. */
bool peek_queue_find(struct spdk_thread *t, bool (*match)(void *fn, void *ctx), void *ctx);
/* Whether the put_io_channel message's channel belongs to `io_device`. */
bool peek_channel_of(void *ch, void *io_device);
/* interp.c: messages lost to an exited thread (v24.01's -EIO). */
extern int g_lost_msgs;

#endif
