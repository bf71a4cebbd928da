/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   SPDK's thread library and unit-test env, compiled into this one translation unit (the way
 *   SPDK's own unit tests include thread.c and test_env.c) so the interpreter can see what the
 *   embedder API hides: the head of a thread's message ring, the callback inside a
 *   for_each_channel message, and a thread iteration without its message batch.
 *
 *   The code below the includes only reads SPDK's structures or calls its static functions in
 *   the order thread_poll() does; it changes no SPDK behaviour, except that the interpreter may
 *   hold one sent message back and append it later (peek_take_tail / peek_put_tail): a send
 *   that SPDK makes later than its handler's check when the model splits that handler.
 */
#include "common/lib/test_env.c"
#include "thread/thread.c"
#include "harness.h"

bool
peek_head_msg(struct spdk_thread *t, void **fn, void **arg)
{
	struct spdk_ring_ele *e = TAILQ_FIRST(&t->messages->elements);
	struct spdk_msg *msg;

	if (e == NULL) {
		return false;
	}
	msg = e->ele;
	*fn = (void *)msg->fn;
	*arg = msg->arg;
	return true;
}

/* The last element of `t`'s ring, as an opaque token (NULL when empty). */
void *
peek_tail_token(struct spdk_thread *t)
{
	struct spdk_ring_ele *e, *last = NULL;

	TAILQ_FOREACH(e, &t->messages->elements, link) {
		last = e;
	}
	return last;
}

/* The last message of `t`'s ring (where spdk_thread_send_msg appended). */
bool
peek_tail_msg(struct spdk_thread *t, void **fn, void **arg)
{
	struct spdk_ring_ele *last = peek_tail_token(t);
	struct spdk_msg *msg;

	if (last == NULL) {
		return false;
	}
	msg = last->ele;
	*fn = (void *)msg->fn;
	*arg = msg->arg;
	return true;
}

void *
peek_unwrap(void *fn, void *arg, const char **kind)
{
	struct spdk_io_channel_iter *i = arg;

	if (fn == (void *)_call_channel) {
		*kind = "for_each_channel";
		return (void *)i->fn;
	}
	if (fn == (void *)_call_completion) {
		*kind = "for_each_channel_done";
		return (void *)i->cpl;
	}
	*kind = NULL;
	return NULL;
}

size_t
peek_queue_len(struct spdk_thread *t)
{
	return spdk_ring_count(t->messages);
}

int
peek_run_pollers(struct spdk_thread *thread, uint64_t now)
{
	struct spdk_thread *orig = _get_thread();
	struct spdk_poller *poller, *tmp;
	int rc = 0, prc;

	/* (spdk_max evaluates its arguments twice: each poller's rc goes through prc.) */
	tls_thread = thread;
	thread->tsc_last = now;
	TAILQ_FOREACH_REVERSE_SAFE(poller, &thread->active_pollers, active_pollers_head, tailq, tmp) {
		prc = thread_execute_poller(thread, poller);
		rc = spdk_max(rc, prc);
	}
	poller = thread->first_timed_poller;
	while (poller != NULL && now >= poller->next_run_tick) {
		tmp = RB_NEXT(timed_pollers_tree, &thread->timed_pollers, poller);
		RB_REMOVE(timed_pollers_tree, &thread->timed_pollers, poller);
		if (thread->first_timed_poller == poller) {
			thread->first_timed_poller = tmp;
		}
		prc = thread_execute_timed_poller(thread, poller, now);
		rc = spdk_max(rc, prc);
		poller = tmp;
	}
	tls_thread = orig;
	return rc;
}

int
peek_run_active_pollers(struct spdk_thread *thread, uint64_t now)
{
	struct spdk_thread *orig = _get_thread();
	struct spdk_poller *poller, *tmp;
	int rc = 0, prc;

	tls_thread = thread;
	thread->tsc_last = now;
	TAILQ_FOREACH_REVERSE_SAFE(poller, &thread->active_pollers, active_pollers_head, tailq, tmp) {
		prc = thread_execute_poller(thread, poller);
		rc = spdk_max(rc, prc);
	}
	tls_thread = orig;
	return rc;
}

/* Runs the timed pollers of `thread` due at `now` that `match` accepts (by registered name and
 * argument), in their due order, and leaves every other due poller waiting; returns how many
 * ran. */
int
peek_run_due_matching(struct spdk_thread *thread, uint64_t now,
		      bool (*match)(const char *name, void *arg, void *ctx), void *ctx)
{
	struct spdk_thread *orig = _get_thread();
	struct spdk_poller *poller, *tmp;
	int n = 0;

	tls_thread = thread;
	thread->tsc_last = now;
	poller = thread->first_timed_poller;
	while (poller != NULL && now >= poller->next_run_tick) {
		tmp = RB_NEXT(timed_pollers_tree, &thread->timed_pollers, poller);
		if (match(poller->name, poller->arg, ctx)) {
			RB_REMOVE(timed_pollers_tree, &thread->timed_pollers, poller);
			if (thread->first_timed_poller == poller) {
				thread->first_timed_poller = tmp;
			}
			thread_execute_timed_poller(thread, poller, now);
			n++;
		}
		poller = tmp;
	}
	tls_thread = orig;
	return n;
}

/* The tick the first timed poller of `thread` that `match` accepts is due at (UINT64_MAX:
 * none). */
uint64_t
peek_next_timed_matching(struct spdk_thread *thread,
			 bool (*match)(const char *name, void *arg, void *ctx), void *ctx)
{
	struct spdk_poller *poller;

	RB_FOREACH(poller, timed_pollers_tree, &thread->timed_pollers) {
		if (match(poller->name, poller->arg, ctx)) {
			return poller->next_run_tick;
		}
	}
	return UINT64_MAX;
}

int
peek_run_poller_named(struct spdk_thread *thread, const char *name)
{
	struct spdk_thread *orig = _get_thread();
	struct spdk_poller *poller;
	int rc = -ENOENT;

	tls_thread = thread;
	RB_FOREACH(poller, timed_pollers_tree, &thread->timed_pollers) {
		if (strcmp(poller->name, name) == 0 && poller->state == SPDK_POLLER_STATE_WAITING) {
			rc = poller->fn(poller->arg);
			break;
		}
	}
	tls_thread = orig;
	return rc;
}

void
peek_set_ticks(uint64_t ticks)
{
	ut_spdk_get_ticks = ticks;
}

uint64_t
peek_get_ticks(void)
{
	return ut_spdk_get_ticks;
}

/* One message of `thread` (none when its queue is empty), then its active pollers: a reactor
 * iteration whose timed pollers are left to the steps that move time (the model fires its
 * timers as steps of their own). */
int
peek_run_one_msg(struct spdk_thread *thread, uint64_t now)
{
	struct spdk_thread *orig = _get_thread();
	uint32_t n;

	tls_thread = thread;
	thread->tsc_last = now;
	n = msg_queue_run_batch(thread, 1);
	tls_thread = orig;
	peek_run_active_pollers(thread, now);
	return (int)n;
}

/* The tick the thread's first timed poller is due at (UINT64_MAX: none). */
uint64_t
peek_next_timed(struct spdk_thread *thread)
{
	return thread->first_timed_poller ? thread->first_timed_poller->next_run_tick : UINT64_MAX;
}

bool
peek_thread_exit_poll(struct spdk_thread *t, uint64_t now)
{
	struct spdk_thread *orig = _get_thread();

	if (t->state == SPDK_THREAD_STATE_EXITING) {
		tls_thread = t;
		thread_exit(t, now);
		tls_thread = orig;
	}
	return t->state == SPDK_THREAD_STATE_EXITED;
}

bool
peek_thread_exited(struct spdk_thread *t)
{
	return t->state == SPDK_THREAD_STATE_EXITED;
}

bool
peek_channel_of(void *arg, void *io_device)
{
	struct spdk_io_channel *ch = arg;

	return ch != NULL && ch->dev != NULL && ch->dev->io_device == io_device;
}

bool
peek_queue_find(struct spdk_thread *t, bool (*match)(void *fn, void *ctx), void *ctx)
{
	struct spdk_ring_ele *e;

	TAILQ_FOREACH(e, &t->messages->elements, link) {
		if (match((void *)((struct spdk_msg *)e->ele)->fn, ctx)) {
			return true;
		}
	}
	return false;
}

/* Unlinks the last element of `t`'s ring and returns it: the harness holds a message SPDK sent
 * until the model's step that sends it (a handler the model splits in two steps). */
void *
peek_take_tail(struct spdk_thread *t)
{
	struct spdk_ring_ele *last = peek_tail_token(t);

	if (last != NULL) {
		TAILQ_REMOVE(&t->messages->elements, last, link);
		t->messages->count--;
	}
	return last;
}

/* Appends an element peek_take_tail took back to the tail of `t`'s ring. */
void
peek_put_tail(struct spdk_thread *t, void *token)
{
	struct spdk_ring_ele *e = token;

	TAILQ_INSERT_TAIL(&t->messages->elements, e, link);
	t->messages->count++;
}

/* Whether `arg` of a `_finish_unregister` message is the io_device `io_device`. */
bool
peek_unregister_of(void *arg, void *io_device)
{
	struct io_device *dev = arg;

	return dev != NULL && dev->io_device == io_device;
}
