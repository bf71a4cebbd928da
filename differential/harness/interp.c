/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   The story interpreter: each story step becomes the matching action on the real target.
 *     accept       queue a memsock connection, run the acceptor poller (nvmf_tcp_accept) on app
 *     bytes        append to the connection's inbound bytes, run its poll group's pollers
 *     peer_closed  EOF on the connection, run its poll group's pollers
 *     run T F      check that T's head message is F (by symbol name, for_each_channel unwrapped),
 *                  then that one message and T's active pollers (timed pollers run when
 *                  time moves: at their due tick before a later step, or with `fire`)
 *     rpc          the C calls the RPC handler makes (target.c)
 *     fire         time moves to the step's time; a CONNECT re-poll of one connection runs that
 *                  poller alone, any other timer runs every thread's due pollers
 *   Virtual time is the mocked tick (1 tick = 1 us). After the last step the target drains
 *   (every thread polled, time advancing 1 ms a round, up to 5 s) and quiescence is checked.
 */
#include "spdk/nvmf.h"
#include "spdk/nvmf_transport.h"
#include "spdk/log.h"
#include "story.h"
#include "harness.h"
#include <sanitizer/common_interface_defs.h>

/* Model message names whose SPDK function has another name, or shares its name with another
 * static function (then the file decides) (docs/differential.md). */
static const struct {
	const char *model, *real, *file;
} g_aliases[] = {
	{ "spdk_nvmf_qpair_disconnect", "_nvmf_qpair_disconnect_msg", NULL },
	{ "nvmf_ctrlr_destruct", "_nvmf_ctrlr_destruct", "nvmf.c" },
	{ "_nvmf_ctrlr_destruct", "_nvmf_ctrlr_destruct", "ctrlr.c" },
	{ "_nvmf_subsystem_destroy", "_nvmf_subsystem_destroy_msg", NULL },
	/* spdk_io_device_unregister's deferred callback of the target's io_device */
	{ "nvmf_tgt_destroy_cb", "_finish_unregister", NULL },
};

/* Model messages that an older SPDK runs inline, inside the message before them, instead of
 * as a message of their own (docs/differential.md): on those versions the step is checked to
 * have nothing to run and is skipped. */
static const struct {
	const char *model;
	int before_version; /* inline in every version below this one */
} g_inlined[] = {
	/* v24.05 made the CONNECT response a message to the qpair's poll group; v24.01's
	 * ctrlr_add_qpair_and_send_rsp answers inside _nvmf_ctrlr_add_admin_qpair. */
	{ "nvmf_ctrlr_send_connect_rsp", 2405 },
	/* spdk_nvmf_subsystem_destroy calls _nvmf_subsystem_destroy directly and re-sends it
	 * (_nvmf_subsystem_destroy_msg) only while controllers remain; the model queues the first
	 * call too. */
	{ "_nvmf_subsystem_destroy", 1000000 },
};

/* A handler the model splits in two steps (docs/differential.md, "Handlers split into two
 * steps"): SPDK runs it whole at the first, so the second is inlined in every version, and the
 * message it sends at its end is held until the model's second step (run_step), so messages
 * other threads queue in between come before it as in the model. */
static const struct {
	const char *first, *second, *sent;
} g_split[] = {
	{ "_nvmf_ctrlr_add_io_qpair", "_nvmf_ctrlr_add_io_qpair:send", "nvmf_ctrlr_add_io_qpair" },
};

static int
split_index(const char *fn, bool second)
{
	size_t i;

	for (i = 0; i < SPDK_COUNTOF(g_split); i++) {
		if (strcmp(fn, second ? g_split[i].second : g_split[i].first) == 0) {
			return (int)i;
		}
	}
	return -1;
}

static bool
inlined_here(const char *model)
{
	size_t i;

	if (split_index(model, true) >= 0) {
		return true;
	}
	for (i = 0; i < SPDK_COUNTOF(g_inlined); i++) {
		if (strcmp(model, g_inlined[i].model) == 0 && DIFF_SPDK_VERSION < g_inlined[i].before_version) {
			return true;
		}
	}
	return false;
}

static int g_closed[256];

void
harness_note_close(int conn_id)
{
	if (conn_id > 0 && conn_id < 256) {
		g_closed[conn_id] = 1;
	}
}

int g_out_agree, g_out_differ, g_obj_differ;

/* Bytes as hex: the first 24, or all of them with FABCHECK_DIFF_FULL_HEX=1 in the environment. */
static void
print_hex(const uint8_t *d, size_t n)
{
	size_t i, max = getenv("FABCHECK_DIFF_FULL_HEX") ? n : 24;

	for (i = 0; i < n && i < max; i++) {
		printf("%02x", d[i]);
	}
	printf("%s", n > max ? "..." : "");
}

static bool g_borrowed[4096];

/* The first inbound bytes of each connection: ICReq, then the CONNECT capsule, whose QID says
 * whether the connection is an admin queue. */
#define HEAD_BYTES 256
static uint8_t g_head[256][HEAD_BYTES];
static size_t g_head_len[256];

static void
note_inbound(int conn, const uint8_t *d, size_t n)
{
	size_t k;

	if (conn <= 0 || conn >= 256) {
		return;
	}
	k = spdk_min(n, HEAD_BYTES - g_head_len[conn]);
	memcpy(&g_head[conn][g_head_len[conn]], d, k);
	g_head_len[conn] += k;
}

/* Whether `conn` carries an admin queue: its first capsule after the 128-byte ICReq is a
 * fabrics CONNECT (opcode 0x7f, fctype 0x01) with QID 0 (SQE bytes 42-43). */
static bool
conn_is_admin(int conn)
{
	const uint8_t *p = conn > 0 && conn < 256 ? &g_head[conn][128] : NULL;

	return p != NULL && g_head_len[conn] >= 128 + 8 + 44 && p[0] == 0x04 && p[8] == 0x7f &&
	       p[12] == 0x01 && p[8 + 42] == 0 && p[8 + 43] == 0;
}

/* Equal except inside the data of C2HData PDUs (Identify, log pages: the model fills only the
 * fields the lifecycle needs, docs/differential.md): same PDUs, same headers, same lengths. */
static bool
equal_but_admin_data(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t off = 0;

	while (off + 8 <= n) {
		uint32_t plen = a[off + 4] | a[off + 5] << 8 | a[off + 6] << 16 | (uint32_t)a[off + 7] << 24;
		uint8_t pdo = a[off + 3] ? a[off + 3] : a[off + 2];

		if (plen < 8 || off + plen > n || memcmp(a + off, b + off, pdo) != 0) {
			return false;
		}
		if (a[off] != 0x07 && memcmp(a + off + pdo, b + off + pdo, plen - pdo) != 0) {
			return false;
		}
		off += plen;
	}
	return off == n;
}

int g_admin_data_differ, g_reordered;

/* Splits a byte stream into PDUs (by each common header's PLEN); returns the count, -1 if the
 * stream does not split. */
static int
split_pdus(const uint8_t *d, size_t n, const uint8_t **pdu, size_t *len, int max)
{
	size_t off = 0;
	int k = 0;

	while (off < n) {
		uint32_t plen;

		if (off + 8 > n || k == max) {
			return -1;
		}
		plen = d[off + 4] | d[off + 5] << 8 | d[off + 6] << 16 | (uint32_t)d[off + 7] << 24;
		if (plen < 8 || off + plen > n) {
			return -1;
		}
		pdu[k] = d + off;
		len[k++] = plen;
		off += plen;
	}
	return k;
}

static bool
pdu_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, bool admin)
{
	return alen == blen && (memcmp(a, b, alen) == 0 || (admin && equal_but_admin_data(a, b, alen)));
}

/* The same PDUs in another order. SPDK sends a read's (or Identify's) CapsuleResp only when
 * its C2HData write completes, so another command's response written in the same step can
 * come between them; the model writes the two back to back (docs/differential.md). */
static bool
same_pdus_reordered(const uint8_t *out, size_t n, const uint8_t *want, size_t m, bool admin)
{
	const uint8_t *a[64], *b[64];
	size_t al[64], bl[64];
	bool used[64] = { false };
	int na = split_pdus(out, n, a, al, 64), nb = split_pdus(want, m, b, bl, 64), i, j;

	if (na < 0 || na != nb) {
		return false;
	}
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && (used[j] || !pdu_equal(a[i], al[i], b[j], bl[j], admin)); j++) {
		}
		if (j == nb) {
			return false;
		}
		used[j] = true;
	}
	return true;
}

static size_t
append_sends(const struct story_step *s, int conn, uint8_t **out, size_t n)
{
	int i;

	for (i = 0; i < s->nsends; i++) {
		if (s->sends[i].conn == conn) {
			*out = realloc(*out, n + s->sends[i].len + 1);
			memcpy(*out + n, s->sends[i].data, s->sends[i].len);
			n += s->sends[i].len;
		}
	}
	return n;
}

static bool name_matches(const char *model, const char *kind, const char *real, const char *file);

static bool
queued_as(void *fn, void *ctx)
{
	return name_matches(ctx, NULL, sym_name(fn), sym_file(fn));
}

/* The next `run` step on the same thread as step `idx`, if this SPDK runs it inline (its
 * outputs then come out during step idx); -1 otherwise. A message that is inline only on some
 * paths (`_nvmf_subsystem_destroy`: SPDK re-sends it while controllers remain) is not inline
 * when SPDK has it queued on that thread. */
static int
inlined_successor(const struct story *st, int idx)
{
	int j;

	if (st->steps[idx].kind != STEP_RUN) {
		return -1;
	}
	for (j = idx + 1; j < st->nsteps && j < 4096; j++) {
		if (st->steps[j].kind == STEP_RUN && st->steps[j].thread == st->steps[idx].thread) {
			if (!inlined_here(st->steps[j].fn) || st->steps[j].thread >= g_nthreads ||
			    peek_queue_find(g_threads[st->steps[j].thread], queued_as, (void *)st->steps[j].fn)) {
				return -1;
			}
			return j;
		}
	}
	return -1;
}

/* The model's bytes for `conn` expected during step `idx`: the step's own send lines (unless an
 * earlier step took them) and those of an inlined successor. */
static size_t
model_bytes(const struct story *st, int idx, int conn, uint8_t **out)
{
	size_t n = 0;
	int j;

	*out = NULL;
	if (st == NULL) {
		return 0;
	}
	if (idx >= 4096 || !g_borrowed[idx]) {
		n = append_sends(&st->steps[idx], conn, out, n);
	}
	j = inlined_successor(st, idx);
	if (j >= 0) {
		n = append_sends(&st->steps[j], conn, out, n);
	}
	return n;
}

static bool
model_closes(const struct story_step *s, int conn)
{
	int i;

	for (i = 0; s != NULL && i < s->ncloses; i++) {
		if (s->closes[i] == conn) {
			return true;
		}
	}
	return false;
}

/* Compares the RPC answers real SPDK gave since the last call with the model's for step `s`
 * (same ids, same ok/error, same order): its own answers unless an earlier step took them
 * (`own`), then those of an inlined successor `next`; prints the difference. Without a step,
 * just drains. */
static bool
rpcs_match(const struct story_step *s, bool own, const struct story_step *next)
{
	struct story_rpc_done real[16], want[16];
	int n = target_take_rpc_done(real, 16), m = 0, i;
	bool same;

	if (s == NULL) {
		return true;
	}
	for (i = 0; own && i < s->nrpcs && m < 16; i++) {
		want[m++] = s->rpcs[i];
	}
	for (i = 0; next != NULL && i < next->nrpcs && m < 16; i++) {
		want[m++] = next->rpcs[i];
	}
	same = n == m;
	for (i = 0; same && i < n; i++) {
		same = real[i].id == want[i].id && real[i].ok == want[i].ok;
	}
	if (!same) {
		printf("    RPC DIFFERS step %d: model answers", s->n);
		for (i = 0; i < m; i++) {
			printf(" %d:%s", want[i].id, want[i].ok ? "ok" : "error");
		}
		printf(", SPDK answers");
		for (i = 0; i < n; i++) {
			printf(" %d:%s", real[i].id, real[i].ok ? "ok" : "error");
		}
		printf("\n");
	}
	return same;
}

/* Compares what exists in real SPDK (qpairs per poll group, controllers per subsystem) with
 * the model's `objects` line of step `s`. */
static bool
objects_match(const struct story_step *s)
{
	char real[128];

	if (s == NULL || s->objects[0] == '\0') {
		return true;
	}
	target_objects(real, sizeof(real));
	if (strcmp(real, s->objects) == 0) {
		return true;
	}
	printf("    OBJECTS DIFFER step %d: model %s, SPDK %s\n", s->n, s->objects, real);
	g_obj_differ++;
	return false;
}

/* Prints what real SPDK wrote and closed since the last call; with a step, compares it with
 * the model's outputs of that step (bytes per connection, closes, RPC answers). */
static void
print_output(const struct story *st, int idx)
{
	const struct story_step *s = st ? &st->steps[idx] : NULL;
	bool same = true;
	int c, j;

	for (c = 1; c < 64; c++) {
		uint8_t *out, *want;
		size_t n = memsock_take_output(c, &out), m = model_bytes(st, idx, c, &want);
		bool closed = g_closed[c] == 1;

		bool differs = s != NULL && (m != n || (n > 0 && memcmp(out, want, n) != 0));
		bool masked = differs && m == n && conn_is_admin(c) && equal_but_admin_data(out, want, n);
		bool reordered = differs && !masked && same_pdus_reordered(out, n, want, m, conn_is_admin(c));

		if (n > 0) {
			printf("    conn %d sends %zu bytes: ", c, n);
			print_hex(out, n);
			printf("%s\n", s == NULL ? "" : !differs ? " (model: same)" :
			       masked ? " (model: same PDUs; admin data not compared)" :
			       reordered ? " (model: same PDUs in another order)" : "");
		}
		g_admin_data_differ += masked;
		g_reordered += reordered;
		if (differs && !masked && !reordered) {
			printf("    OUTPUT DIFFERS step %d conn %d: model sends %zu bytes: ", s->n, c, m);
			print_hex(want, m);
			printf("\n");
			same = false;
		}
		if (closed) {
			printf("    conn %d closed by the target\n", c);
			g_closed[c] = 2;
		}
		if (s != NULL && closed != (model_closes(s, c) ||
					    (inlined_successor(st, idx) >= 0 &&
					     model_closes(&st->steps[inlined_successor(st, idx)], c)))) {
			printf("    OUTPUT DIFFERS step %d conn %d: the model %s it\n", s->n, c,
			       closed ? "does not close" : "closes");
			same = false;
		}
		free(out);
		free(want);
	}
	j = s != NULL ? inlined_successor(st, idx) : -1;
	same &= rpcs_match(s, s != NULL && (idx >= 4096 || !g_borrowed[idx]),
			   j >= 0 ? &st->steps[j] : NULL);
	/* What exists after an inlined successor that directly follows is already there. */
	same &= objects_match(j == idx + 1 ? &st->steps[j] : s);
	if (s != NULL) {
		*(same ? &g_out_agree : &g_out_differ) += 1;
		if (j >= 0 && j < 4096) {
			g_borrowed[j] = true;
		}
	}
}

static bool
name_matches(const char *model, const char *kind, const char *real, const char *file)
{
	bool ambiguous = false;
	size_t i;

	if (kind != NULL) {
		return strcmp(model, kind) == 0;
	}
	for (i = 0; i < SPDK_COUNTOF(g_aliases); i++) {
		if (strcmp(real, g_aliases[i].real) != 0) {
			continue;
		}
		ambiguous |= g_aliases[i].file != NULL;
		if (strcmp(model, g_aliases[i].model) == 0 &&
		    (g_aliases[i].file == NULL || strcmp(file, g_aliases[i].file) == 0)) {
			return true;
		}
	}
	return !ambiguous && strcmp(model, real) == 0;
}

/* "; SPDK runs F on T first" for the first other thread with a message queued (the message
 * SPDK would have to run before the model's), or "". */
static const char *
other_heads(void)
{
	static char buf[256];
	void *fn, *arg, *inner;
	const char *kind;
	int i;

	for (i = 0; i < g_nthreads; i++) {
		if (peek_head_msg(g_threads[i], &fn, &arg)) {
			inner = peek_unwrap(fn, arg, &kind);
			snprintf(buf, sizeof(buf), "; next queued SPDK message: %s on %s",
				 sym_name(kind ? inner : fn), spdk_thread_get_name(g_threads[i]));
			return buf;
		}
	}
	return "";
}

/* SPDK-internal messages the model folds into the step that queued them: whenever one is at the
 * head of a thread's queue (after each step, and before a model message runs on that thread),
 * it runs (docs/differential.md). */
static const char *const g_folded[] = {
	"tcp_sock_flush_cb", /* master: ICResp/TermReq flushed by a message, not synchronously */
	"put_io_channel",    /* lib/thread: a released channel (a namespace's bdev channel) is
			      * destroyed by a message to its own thread; not the target's own
			      * channel (a poll group's), whose release the model runs as a step
			      * of the poll-group destroy (folded_here) */
	"_finish_unregister", /* lib/thread: spdk_io_device_unregister's deferred callback of an
			       * io_device the model does not have (a bdev's); the target's own
			       * is the model's nvmf_tgt_destroy_cb (folded_here) */
	"handle_await_req",   /* master tcp.c: only for a qpair no longer active (folded_here).
			       * A capsule read after its qpair's disconnect started (the model
			       * ignores such input) is completed at once by nvmf_tcp_req_process
			       * with no response; its nvmf_tcp_req_put, still in AWAIT_REQ, sends
			       * this message, which re-reads the held capsule and sends itself
			       * again until nvmf_tcp_poll_group_remove sets QUIESCING */
};

/* Whether the head message `fn(arg)` is one the model folds. */
static bool
folded_here(void *fn, void *arg, size_t i)
{
	if (strcmp(sym_name(fn), g_folded[i]) != 0) {
		return false;
	}
	if (strcmp(g_folded[i], "_finish_unregister") == 0) {
		return target_tgt() == NULL || !peek_unregister_of(arg, target_tgt());
	}
#if DIFF_SPDK_VERSION >= 9999
	if (strcmp(g_folded[i], "handle_await_req") == 0) {
		/* struct spdk_nvmf_tcp_qpair starts with its struct spdk_nvmf_qpair */
		return !spdk_nvmf_qpair_is_active((struct spdk_nvmf_qpair *)arg);
	}
#endif
	return strcmp(g_folded[i], "put_io_channel") != 0 || target_tgt() == NULL ||
	       !peek_channel_of(arg, target_tgt());
}

static void
run_folded(struct spdk_thread *t)
{
	void *fn, *arg, *fn2, *arg2;
	size_t i;
	bool again = true;

	while (again && peek_head_msg(t, &fn, &arg)) {
		again = false;
		for (i = 0; i < SPDK_COUNTOF(g_folded); i++) {
			if (folded_here(fn, arg, i)) {
				printf("  %s runs %s (folded: the model has no such message)\n",
				       spdk_thread_get_name(t), g_folded[i]);
				peek_run_one_msg(t, peek_get_ticks());
				/* One that sent itself again and is alone in the queue runs once */
				again = !peek_head_msg(t, &fn2, &arg2) || fn2 != fn || arg2 != arg;
				break;
			}
		}
	}
}

/* After each step: every poll group runs one reactor iteration with no message (its active
 * pollers: the socket group poll, which flushes what the step wrote, as the next iteration of a
 * real reactor does at once), then the folded messages at the head of any queue run. */
static void
idle_iteration(void)
{
	int t;

	for (t = 1; t < g_nthreads; t++) {
		peek_run_active_pollers(g_threads[t], peek_get_ticks());
	}
	for (t = 0; t < g_nthreads; t++) {
		run_folded(g_threads[t]);
	}
	/* What spdk_thread_poll does at the end of an iteration of a thread spdk_thread_exit
	 * marked EXITING: EXITED once nothing is queued or registered on it. */
	for (t = 1; t < g_nthreads; t++) {
		if (!peek_thread_exited(g_threads[t]) &&
		    peek_thread_exit_poll(g_threads[t], peek_get_ticks())) {
			printf("  %s exited\n", spdk_thread_get_name(g_threads[t]));
		}
	}
}

int g_lost_msgs;

/* SPDK's log, as its default writer prints it (stderr, at the print level); a send to an
 * exited thread (v24.01: "marked as exited", -EIO, the message is lost; master aborts after
 * logging it) is also reported on stdout with the stack that sent it. */
static void
harness_log(int level, const char *file, const int line, const char *func, const char *format,
	    va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), format, ap);
	if (level <= (int)spdk_log_get_print_level()) {
		fprintf(stderr, "%s:%4d:%s: %s", file ? file : "", line, func ? func : "", buf);
	}
	if (strstr(buf, "is marked as exited") != NULL) {
		g_lost_msgs++;
		printf("  LOST MESSAGE: spdk_thread_send_msg: %s", buf);
		fflush(stdout);
		__sanitizer_print_stack_trace();
	}
}

/* SPDK messages that re-send themselves until a condition holds; the model parks them and
 * re-queues them when the condition may have changed (docs/differential.md). */
static const struct {
	const char *fn, *file;
} g_spinners[] = {
	{ "_nvmf_ctrlr_destruct", "ctrlr.c" },
	{ "_nvmf_subsystem_destroy_msg", "subsystem.c" },
	{ "nvmf_poll_group_remove_subsystem_msg", "nvmf.c" },
	{ "_nvmf_tgt_disconnect_qpairs", "nvmf.c" },
	{ "nvmf_stop_listen_disconnect_qpairs_msg", "transport.c" },
};

static bool
is_spinner(void *fn)
{
	size_t i;

	for (i = 0; i < SPDK_COUNTOF(g_spinners); i++) {
		if (strcmp(sym_name(fn), g_spinners[i].fn) == 0 &&
		    strcmp(sym_file(fn), g_spinners[i].file) == 0) {
			return true;
		}
	}
	return false;
}

/* Runs the re-polls at the head of `t` that the model does not run at this step (it parks
 * them): each must only re-queue itself (same function, same argument, at the tail), which
 * changes nothing the model tracks. One that does more is a divergence. */
static int
fold_spins(struct spdk_thread *t, const struct story_step *s, bool lenient)
{
	void *fn, *arg, *tfn, *targ;
	int n;

	for (n = 0; n < 8 && peek_head_msg(t, &fn, &arg) && is_spinner(fn) &&
	     !name_matches(s->fn, NULL, sym_name(fn), sym_file(fn)); n++) {
		peek_run_one_msg(t, peek_get_ticks());
		if (!peek_tail_msg(t, &tfn, &targ) || tfn != fn || targ != arg) {
			printf("  DIVERGENCE step %d: model runs %s, SPDK's re-poll %s ran first and "
			       "finished\n", s->n, s->fn, sym_name(fn));
			return lenient ? 0 : STORY_DIVERGED;
		}
		printf("  %s runs %s (folded: a re-poll that re-queued itself; the model parks it)\n",
		       spdk_thread_get_name(t), sym_name(fn));
	}
	return 0;
}

/* The message of a split handler held back (g_split), if any. */
static struct {
	void *token;
	int thread;
	int split;
} g_held = { NULL, -1, -1 };

/* Appends the held message back to its thread's ring. */
static void
release_held(void)
{
	if (g_held.token != NULL) {
		peek_put_tail(g_threads[g_held.thread], g_held.token);
		printf("  released %s to %s\n", g_split[g_held.split].sent,
		       spdk_thread_get_name(g_threads[g_held.thread]));
		g_held.token = NULL;
	}
}

/* After the first half of split handler `k` ran: takes the message it sent (a new tail named
 * g_split[k].sent on some thread) off that thread's ring. */
static void
hold_sent(int k, void *const *tails_before)
{
	int i;
	void *fn, *arg;

	for (i = 0; i < g_nthreads && i < 64; i++) {
		if (peek_tail_token(g_threads[i]) != tails_before[i] && peek_tail_msg(g_threads[i], &fn, &arg) &&
		    strcmp(sym_name(fn), g_split[k].sent) == 0) {
			release_held();
			g_held.token = peek_take_tail(g_threads[i]);
			g_held.thread = i;
			g_held.split = k;
			printf("  holding %s to %s until the model's %s\n", g_split[k].sent,
			       spdk_thread_get_name(g_threads[i]), g_split[k].second);
			return;
		}
	}
}

static int
run_step(const struct story_step *s, bool lenient)
{
	void *tails[64];
	int split = split_index(s->fn, false);
	int rc, i;
	void *fn, *arg, *inner;
	const char *kind, *real;
	struct spdk_thread *t = g_threads[s->thread];

	if (s->thread >= g_nthreads) {
		printf("  DIVERGENCE: thread %d does not exist\n", s->thread);
		return STORY_DIVERGED;
	}
	/* Folded messages and re-polls at the head, until neither changes the head (a re-poll may
	 * leave a folded message in front, e.g. a channel it released). */
	for (i = 0; i < 8; i++) {
		void *f0 = NULL, *a0 = NULL;

		peek_head_msg(t, &f0, &a0);
		run_folded(t);
		rc = fold_spins(t, s, lenient);
		if (rc != 0) {
			return rc;
		}
		if (!peek_head_msg(t, &fn, &arg) || (fn == f0 && arg == a0)) {
			break;
		}
	}
	if (inlined_here(s->fn) && (!peek_head_msg(t, &fn, &arg) ||
				    !name_matches(s->fn, NULL, sym_name(fn), sym_file(fn)))) {
		printf("  %s: this SPDK runs %s inline in an earlier message; nothing to run\n",
		       spdk_thread_get_name(t), s->fn);
		if (split_index(s->fn, true) >= 0) {
			release_held();
		}
		return 0;
	}
	if (!peek_head_msg(t, &fn, &arg)) {
		printf("  DIVERGENCE step %d: model runs %s on %s, SPDK's queue is empty%s\n", s->n, s->fn,
		       spdk_thread_get_name(t), other_heads());
		return lenient ? 0 : STORY_DIVERGED;
	}
	inner = peek_unwrap(fn, arg, &kind);
	real = sym_name(fn);
	printf("  %s runs %s%s%s [%s] (model: %s)\n", spdk_thread_get_name(t), real,
	       kind ? " -> " : "", kind ? sym_name(inner) : "", sym_file(kind ? inner : fn), s->fn);
	if (!name_matches(s->fn, kind, real, sym_file(fn))) {
		printf("  DIVERGENCE step %d: model runs %s, SPDK's head message is %s [%s]\n", s->n, s->fn,
		       kind ? kind : real, sym_file(fn));
		if (!lenient) {
			return STORY_DIVERGED;
		}
	}
	for (i = 0; i < g_nthreads && i < 64; i++) {
		tails[i] = peek_tail_token(g_threads[i]);
	}
	peek_run_one_msg(t, peek_get_ticks());
	if (split >= 0) {
		hold_sent(split, tails);
	}
	return 0;
}

static int
conn_pg_thread(const struct story *st, int conn)
{
	int i;

	for (i = 0; i < st->nsteps; i++) {
		if (st->steps[i].kind == STEP_ACCEPT && st->steps[i].conn == conn) {
			return 1 + st->steps[i].pg;
		}
	}
	return -1;
}

/* The device completes I/O `s->io` on the poll group that submitted it; that group's pollers
 * then run (they send the response), as after delivered bytes. */
static int
complete_step(const struct story_step *s, bool lenient)
{
	int pg = fcbdev_io_pg(s->io);

	if (pg < 0 || fcbdev_complete(s->io) != 0) {
		printf("  DIVERGENCE step %d: model completes device io %" PRIu64 ", SPDK has no such I/O "
		       "outstanding (%zu outstanding)\n", s->n, s->io, fcbdev_pending());
		return lenient ? 0 : STORY_DIVERGED;
	}
	peek_run_active_pollers(g_threads[1 + pg], peek_get_ticks());
	return 0;
}

/* Whether a due timed poller is the CONNECT re-poll of the step's connection: its registered
 * name is the step's, and its qpair's peer port is the connection's (memsock gives connection C
 * the peer port 40000 + C). `retry_connect` polls a request, `_retry_qid_check` a qpair. */
static bool
is_conn_retry(const char *name, void *arg, void *ctx)
{
	const struct story_step *s = ctx;
	struct spdk_nvmf_qpair *qpair;
	struct spdk_nvme_transport_id trid = {};

	if (strcmp(name, s->fn) != 0) {
		return false;
	}
	qpair = strcmp(name, "retry_connect") == 0 ? ((struct spdk_nvmf_request *)arg)->qpair : arg;
	if (spdk_nvmf_qpair_get_peer_trid(qpair, &trid) != 0) {
		return false;
	}
	return atoi(trid.trsvcid) == 40000 + s->conn;
}

/* A `fire` of a connection's CONNECT re-poll runs that poller alone. Other re-polls due at the
 * same tick wait for their own steps: a reactor runs them in whatever order its threads poll,
 * and the model chose one. None due on any thread is a divergence. */
static int
fire_conn_retry(const struct story_step *s, bool lenient)
{
	int i, n = 0;

	for (i = 0; i < g_nthreads; i++) {
		n += peek_run_due_matching(g_threads[i], peek_get_ticks(), is_conn_retry, (void *)s);
	}
	if (n == 0) {
		printf("  DIVERGENCE step %d: the model fires %s of conn %d, SPDK has no such poller due\n",
		       s->n, s->fn, s->conn);
		return lenient ? 0 : STORY_DIVERGED;
	}
	return 0;
}

static int
do_step(const struct story *st, const struct story_step *s, bool lenient)
{
	int pgt, i;

	switch (s->kind) {
	case STEP_ACCEPT:
		if (target_tgt() == NULL || (shutdown_started() && !memsock_listening(s->traddr, s->port))) {
			/* After the shutdown closed the listen socket (STOP_LISTEN, or the target's
			 * destroy) the host's connection is refused, which the model writes as a
			 * connection accepted and closed at once. */
			printf("  no listen socket on %s:%d (target shutdown): the connection is refused\n",
			       s->traddr, s->port);
			harness_note_close(s->conn);
			return 0;
		}
		if (memsock_queue_conn(s->conn, s->traddr, s->port, s->pg) != 0) {
			return STORY_UNSUPPORTED;
		}
		if (peek_run_poller_named(g_threads[0], "nvmf_tcp_accept") < 0) {
			printf("  no acceptor poller on app\n");
			return STORY_DIVERGED;
		}
		return 0;
	case STEP_BYTES:
	case STEP_PEER_CLOSED:
		if (s->kind == STEP_BYTES) {
			note_inbound(s->conn, s->data, s->len);
			memsock_push(s->conn, s->data, s->len);
		} else {
			memsock_peer_close(s->conn);
		}
		pgt = conn_pg_thread(st, s->conn);
		if (pgt > 0 && pgt < g_nthreads) {
			peek_run_active_pollers(g_threads[pgt], peek_get_ticks());
		}
		return 0;
	case STEP_RUN:
		return run_step(s, lenient);
	case STEP_RPC:
		return target_rpc(s) ? 0 : STORY_UNSUPPORTED;
	case STEP_FIRE:
		if (s->conn > 0) {
			return fire_conn_retry(s, lenient);
		}
		for (i = 0; i < g_nthreads; i++) {
			peek_run_pollers(g_threads[i], peek_get_ticks());
		}
		return 0;
	case STEP_COMPLETE:
		return complete_step(s, lenient);
	default:
		return STORY_UNSUPPORTED;
	}
}

/* Drains: polls every thread, advancing 1 ms a round, until nothing is queued and every qpair
 * left is settled (target_pg_qpairs), or 5 s of virtual time pass. */
static int
drain(const struct story *st)
{
	int round, i, total = 0, busy = 0;
	size_t queued = 0;

	for (round = 0; round < 5000; round++) {
		for (i = 0; i < g_nthreads; i++) {
			spdk_thread_poll(g_threads[i], 0, peek_get_ticks());
		}
		queued = 0;
		for (i = 0; i < g_nthreads; i++) {
			queued += peek_queue_len(g_threads[i]);
		}
		total = busy = 0;
		for (i = 0; i < st->poll_groups; i++) {
			int t, b;

			target_pg_qpairs(i, &t, &b);
			total += t;
			busy += b;
		}
		if (queued == 0 && busy == 0) {
			print_output(NULL, 0);
			printf("quiescent after %d drain rounds: %d qpair(s) left, none in transition\n", round, total);
			for (i = 0; i < st->poll_groups; i++) {
				uint64_t n = target_pg_mgmt_outstanding(i);

				if (n > 0) {
					printf("pg%d still counts %" PRIu64 " request(s) in a subsystem group (mgmt_io_outstanding)\n",
					       i, n);
				}
			}
			return STORY_QUIESCENT;
		}
		peek_set_ticks(peek_get_ticks() + 1000);
	}
	print_output(NULL, 0);
	printf("NOT QUIESCENT after 5 s: %zu message(s) queued, %d of %d qpair(s) in transition\n", queued,
	       busy, total);
	return STORY_NOT_QUIESCENT;
}

/* Whether a timed poller runs when time passes it: every poller but a CONNECT re-poll, which
 * the model fires as a step of its own (`fire ConnectRetry`/`QidRetry`), possibly later than
 * its due tick, as a busy reactor may. */
static bool
runs_when_due(const char *name, void *arg, void *ctx)
{
	return strcmp(name, "retry_connect") != 0 && strcmp(name, "_retry_qid_check") != 0;
}

/* Moves virtual time to `ticks`, running every timed poller due strictly before it at its due
 * tick, as a reactor polling all the while does (a poller due exactly at `ticks` runs with a
 * `fire` step, or not at all if the model's timer is not due; CONNECT re-polls only with
 * their `fire` steps). */
static void
advance_to(uint64_t ticks)
{
	for (;;) {
		uint64_t next = UINT64_MAX;
		int i;

		for (i = 0; i < g_nthreads; i++) {
			next = spdk_min(next, peek_next_timed_matching(g_threads[i], runs_when_due, NULL));
		}
		if (next >= ticks) {
			break;
		}
		next = spdk_max(next, peek_get_ticks());
		peek_set_ticks(next);
		for (i = 0; i < g_nthreads; i++) {
			if (peek_next_timed_matching(g_threads[i], runs_when_due, NULL) <= next) {
				peek_run_active_pollers(g_threads[i], next);
				peek_run_due_matching(g_threads[i], next, runs_when_due, NULL);
			}
		}
	}
	if (ticks > peek_get_ticks()) {
		peek_set_ticks(ticks);
	}
}

/* The verdict of a story that shut the target down: a lost message, then a qpair left on a
 * freed poll group, then a subsystem the shutdown left unfreed, count before quiescence. */
static int
shutdown_verdict(int rc)
{
	int leaked;

	if (!shutdown_started()) {
		return rc;
	}
	if (!shutdown_done()) {
		printf("the target shutdown never finished: nvmf_tgt still in %s\n", shutdown_state_name());
	}
	leaked = shutdown_done() ? shutdown_survivors() : 0;
	if (g_lost_msgs > 0 && rc != STORY_DIVERGED) {
		printf("%d message(s) lost to an exited thread\n", g_lost_msgs);
		return STORY_LOST;
	}
	if (target_orphaned_qpairs() > 0 && rc != STORY_DIVERGED) {
		printf("%d qpair(s) left on a freed poll group\n", target_orphaned_qpairs());
		return STORY_ORPHANED;
	}
	if (leaked > 0 && rc == STORY_QUIESCENT) {
		return STORY_LEAKED;
	}
	return rc;
}

int
story_run(const struct story *st, bool lenient)
{
	int i, rc;

	spdk_log_open(harness_log);

	for (i = 0; i < st->nsteps; i++) {
		const struct story_step *s = &st->steps[i];
		advance_to(s->at_ns / 1000);
		printf("step %d @%" PRIu64 "us: %s\n", s->n, peek_get_ticks(), s->text);
		fflush(stdout);
		rc = do_step(st, s, lenient);
		idle_iteration();
		print_output(st, i);
		fflush(stdout);
		if (rc == STORY_UNSUPPORTED) {
			printf("UNSUPPORTED step %d (%s): the harness cannot replay it\n", s->n, s->text);
			return rc;
		}
		if (rc != 0) {
			return shutdown_verdict(rc);
		}
	}
	printf("objects differ from the model's on %d step(s)\n", g_obj_differ);
	printf("admin command data (not compared) differs on %d step(s); PDUs reordered on %d\n",
	       g_admin_data_differ, g_reordered);
	printf("story done (%d steps); outputs agree with the model on %d, differ on %d\n", st->nsteps,
	       g_out_agree, g_out_differ);
	release_held();
	return shutdown_verdict(drain(st));
}
