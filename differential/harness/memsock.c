/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   memsock: an in-memory spdk_net_impl (the shape of SPDK's test/unit/lib/sock ut impl).
 *
 *   One listen socket per listener; the story interpreter queues a connection on it
 *   (memsock_queue_conn) and the real acceptor poller takes it with spdk_sock_accept. Each
 *   connection has an inbound buffer (host -> target bytes the interpreter appends, plus an EOF
 *   flag) and an outbound buffer (target -> host bytes, kept for the log and the comparison).
 *   Writes are asynchronous (writev_async queues, the group poll or an explicit flush completes
 *   them, as the posix impl does); flush is synchronous (ICResp). getaddr answers the listen
 *   address. group_impl_get_optimal places each connection on the poll group the story chose.
 *
 *   Owns: every memsock socket and group; nothing else.
 */
#include "spdk/stdinc.h"
#include "spdk/sock.h"
#include "spdk/thread.h"
#if __has_include("spdk_internal/sock_module.h")
#include "spdk_internal/sock_module.h"
#else
#include "spdk_internal/sock.h"
#endif
#include "harness.h"

#define MEMSOCK_MAX_CONNS 64
#define MEMSOCK_MAX_GROUPS 16

struct memsock_group {
	struct spdk_sock_group_impl base;
	struct spdk_thread *thread;
	int index; /* poll group index of the creating thread, -1 on the app thread */
};

struct memsock {
	struct spdk_sock base;
	bool listening;
	char traddr[64];
	int port;
	int conn_id;      /* story connection id (0 for a listen socket) */
	int want_pg;      /* poll group the story placed this connection on */
	bool closed;      /* the target closed it */
	bool eof;         /* the host closed it */
	bool eof_seen;    /* recv returned 0 once */
	uint8_t *in;      /* host -> target bytes not yet read */
	size_t in_len, in_off;
	uint8_t *out;     /* target -> host bytes */
	size_t out_len;
	struct memsock_group *group;
};

static struct memsock *g_conns[MEMSOCK_MAX_CONNS + 1];
static struct memsock *g_listeners[8];
static int g_nlisteners;
static struct memsock *g_pending[MEMSOCK_MAX_CONNS]; /* queued for accept, FIFO */
static int g_npending;
static struct memsock_group *g_groups[MEMSOCK_MAX_GROUPS];
static int g_ngroups;

/* Error returns: -1 with errno up to v24.05; master's sock API returns -errno. */
#if DIFF_SPDK_VERSION >= 9999
#define MS_ERR(e) (-(e))
#else
#define MS_ERR(e) (errno = (e), -1)
#endif

static struct memsock *
ms(struct spdk_sock *s)
{
	return SPDK_CONTAINEROF(s, struct memsock, base);
}

static int
memsock_getaddr(struct spdk_sock *_sock, char *saddr, int slen, uint16_t *sport,
		char *caddr, int clen, uint16_t *cport)
{
	struct memsock *s = ms(_sock);

	snprintf(saddr, slen, "%s", s->traddr);
	if (sport) {
		*sport = (uint16_t)s->port;
	}
	snprintf(caddr, clen, "127.0.0.2");
	if (cport) {
		*cport = (uint16_t)(40000 + s->conn_id);
	}
	return 0;
}

static struct spdk_sock *
memsock_connect(const char *ip, int port, struct spdk_sock_opts *opts)
{
	return NULL;
}

static struct spdk_sock *
memsock_listen(const char *ip, int port, struct spdk_sock_opts *opts)
{
	struct memsock *s = calloc(1, sizeof(*s));

	s->listening = true;
	snprintf(s->traddr, sizeof(s->traddr), "%s", ip);
	s->port = port;
	g_listeners[g_nlisteners++] = s;
	return &s->base;
}

/* Whether a listen socket is open on traddr:port. */
bool
memsock_listening(const char *traddr, int port)
{
	int i;

	for (i = 0; i < g_nlisteners; i++) {
		if (g_listeners[i]->port == port && strcmp(g_listeners[i]->traddr, traddr) == 0) {
			return true;
		}
	}
	return false;
}

static bool
has_pending(const struct memsock *l)
{
	int i;

	for (i = 0; i < g_npending; i++) {
		if (g_pending[i]->port == l->port && strcmp(g_pending[i]->traddr, l->traddr) == 0) {
			return true;
		}
	}
	return false;
}

static struct spdk_sock *
memsock_accept(struct spdk_sock *_sock)
{
	struct memsock *l = ms(_sock);
	int i;

	for (i = 0; i < g_npending; i++) {
		struct memsock *c = g_pending[i];

		if (c->port == l->port && strcmp(c->traddr, l->traddr) == 0) {
			memmove(&g_pending[i], &g_pending[i + 1], (g_npending - i - 1) * sizeof(c));
			g_npending--;
			return &c->base;
		}
	}
	errno = EAGAIN;
	return NULL;
}

static int
memsock_close(struct spdk_sock *_sock)
{
	struct memsock *s = ms(_sock);
	int i;

	if (s->listening) {
		for (i = 0; i < g_nlisteners; i++) {
			if (g_listeners[i] == s) {
				g_listeners[i] = g_listeners[--g_nlisteners];
			}
		}
		free(s);
		return 0;
	}
	/* Keep the struct: the interpreter still reports its output bytes. */
	s->closed = true;
	harness_note_close(s->conn_id);
	return 0;
}

static ssize_t
memsock_readv(struct spdk_sock *_sock, struct iovec *iov, int iovcnt)
{
	struct memsock *s = ms(_sock);
	ssize_t total = 0;
	int i;

	if (s->in_off == s->in_len) {
		if (s->eof) {
			s->eof_seen = true;
			return 0;
		}
		return MS_ERR(EAGAIN);
	}
	for (i = 0; i < iovcnt && s->in_off < s->in_len; i++) {
		size_t n = spdk_min(iov[i].iov_len, s->in_len - s->in_off);

		memcpy(iov[i].iov_base, s->in + s->in_off, n);
		s->in_off += n;
		total += n;
	}
	return total;
}

static ssize_t
memsock_recv(struct spdk_sock *sock, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return memsock_readv(sock, &iov, 1);
}

static void
out_append(struct memsock *s, const void *buf, size_t len)
{
	s->out = realloc(s->out, s->out_len + len + 1);
	memcpy(s->out + s->out_len, buf, len);
	s->out_len += len;
}

static ssize_t
memsock_writev(struct spdk_sock *_sock, struct iovec *iov, int iovcnt)
{
	struct memsock *s = ms(_sock);
	ssize_t total = 0;
	int i;

	for (i = 0; i < iovcnt; i++) {
		out_append(s, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	return total;
}

/* Writes and completes every queued write request in order, as the posix impl's _sock_flush
 * does after a sendmsg that took everything: returns the bytes written, or -1/EAGAIN from
 * inside a socket callback. */
static int
memsock_flush(struct spdk_sock *_sock)
{
	struct spdk_sock_request *req;
	ssize_t sent = 0;

	if (_sock->cb_cnt > 0) {
		return MS_ERR(EAGAIN);
	}
	while ((req = TAILQ_FIRST(&_sock->queued_reqs)) != NULL) {
		sent += memsock_writev(_sock, SPDK_SOCK_REQUEST_IOV(req, 0), req->iovcnt);
		spdk_sock_request_pend(_sock, req);
		if (spdk_sock_request_put(_sock, req, 0) != 0) {
			break;
		}
	}
	return (int)sent;
}

static void
memsock_writev_async(struct spdk_sock *sock, struct spdk_sock_request *req)
{
	spdk_sock_request_queue(sock, req);
}

static void
memsock_readv_async(struct spdk_sock *sock, struct spdk_sock_request *req)
{
	req->cb_fn(req->cb_arg, -ENOTSUP);
}

static int
memsock_recv_next(struct spdk_sock *sock, void **buf, void **ctx)
{
	return MS_ERR(ENOTSUP);
}

static int
memsock_set_int(struct spdk_sock *sock, int v)
{
	return 0;
}

static bool
memsock_true(struct spdk_sock *sock)
{
	return true;
}

static bool
memsock_false(struct spdk_sock *sock)
{
	return false;
}

static bool
memsock_is_connected(struct spdk_sock *sock)
{
	return !ms(sock)->eof_seen;
}

static struct spdk_sock_group_impl *
memsock_group_get_optimal(struct spdk_sock *sock, struct spdk_sock_group_impl *hint)
{
	struct memsock *s = ms(sock);

	int i;

	for (i = 0; i < g_ngroups; i++) {
		if (g_groups[i]->index == s->want_pg && s->want_pg >= 0) {
			return &g_groups[i]->base;
		}
	}
	return NULL;
}

static struct spdk_sock_group_impl *
memsock_group_create(void)
{
	struct memsock_group *g = calloc(1, sizeof(*g));

	g->thread = spdk_get_thread();
	g->index = target_pg_of_thread(g->thread);
	g_groups[g_ngroups++] = g;
	return &g->base;
}

static int
memsock_group_add(struct spdk_sock_group_impl *group, struct spdk_sock *sock)
{
	ms(sock)->group = SPDK_CONTAINEROF(group, struct memsock_group, base);
	return 0;
}

static int
memsock_group_remove(struct spdk_sock_group_impl *group, struct spdk_sock *sock)
{
	ms(sock)->group = NULL;
	return 0;
}

static int
memsock_group_poll(struct spdk_sock_group_impl *group, int max_events, struct spdk_sock **socks)
{
	struct spdk_sock *sock, *tmp;
	int n = 0;

	TAILQ_FOREACH_SAFE(sock, &group->socks, link, tmp) {
		memsock_flush(sock);
	}
	TAILQ_FOREACH(sock, &group->socks, link) {
		struct memsock *s = ms(sock);
		bool ready = s->in_off < s->in_len || (s->eof && !s->eof_seen);

		/* A listen socket in a group (newer SPDK's acceptor) is ready with a queued connection. */
		ready |= s->listening && has_pending(s);
		if (n < max_events && ready) {
			socks[n++] = sock;
		}
	}
	return n;
}

static int
memsock_group_close(struct spdk_sock_group_impl *group)
{
	int i;

	/* The poll group is destroyed (target shutdown): no connection is placed on it again. */
	for (i = 0; i < g_ngroups; i++) {
		if (&g_groups[i]->base == group) {
			g_groups[i]->index = -2;
		}
	}
	return 0;
}

static struct spdk_sock_impl_opts g_memsock_opts;

static int
memsock_get_opts(struct spdk_sock_impl_opts *opts, size_t *len)
{
	size_t n = spdk_min(*len, sizeof(g_memsock_opts));

	memcpy(opts, &g_memsock_opts, n);
	*len = n;
	return 0;
}

static int
memsock_set_opts(const struct spdk_sock_impl_opts *opts, size_t len)
{
	return 0;
}

static struct spdk_net_impl g_memsock_impl = {
	.name = "memsock",
	.getaddr = memsock_getaddr,
	.connect = memsock_connect,
	.listen = memsock_listen,
	.accept = memsock_accept,
	.close = memsock_close,
	.recv = memsock_recv,
	.readv = memsock_readv,
	.writev = memsock_writev,
	.recv_next = memsock_recv_next,
	.writev_async = memsock_writev_async,
	.readv_async = memsock_readv_async,
	.flush = memsock_flush,
	.set_recvlowat = memsock_set_int,
	.set_recvbuf = memsock_set_int,
	.set_sendbuf = memsock_set_int,
	.is_ipv6 = memsock_false,
	.is_ipv4 = memsock_true,
	.is_connected = memsock_is_connected,
	.group_impl_get_optimal = memsock_group_get_optimal,
	.group_impl_create = memsock_group_create,
	.group_impl_add_sock = memsock_group_add,
	.group_impl_remove_sock = memsock_group_remove,
	.group_impl_poll = memsock_group_poll,
	.group_impl_close = memsock_group_close,
	.get_opts = memsock_get_opts,
	.set_opts = memsock_set_opts,
};

void
memsock_register(void)
{
#ifdef SPDK_NET_IMPL_REGISTER_DEFAULT
	spdk_net_impl_register(&g_memsock_impl);
#else
	spdk_net_impl_register(&g_memsock_impl, 100);
#endif
	/* Newer SPDK listens only on the default impl (or the one named). */
	spdk_sock_set_default_impl("memsock");
}

int
memsock_queue_conn(int conn_id, const char *traddr, int port, int pg)
{
	struct memsock *s;

	if (conn_id <= 0 || conn_id > MEMSOCK_MAX_CONNS || g_conns[conn_id] != NULL) {
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	snprintf(s->traddr, sizeof(s->traddr), "%s", traddr);
	s->port = port;
	s->conn_id = conn_id;
	s->want_pg = pg;
	g_conns[conn_id] = s;
	g_pending[g_npending++] = s;
	return 0;
}

int
memsock_push(int conn_id, const uint8_t *data, size_t len)
{
	struct memsock *s = conn_id > 0 && conn_id <= MEMSOCK_MAX_CONNS ? g_conns[conn_id] : NULL;

	if (s == NULL) {
		return -ENOENT;
	}
	if (s->closed) {
		return 0; /* the target closed it: bytes are lost, as on a reset socket */
	}
	s->in = realloc(s->in, s->in_len + len + 1);
	memcpy(s->in + s->in_len, data, len);
	s->in_len += len;
	return 0;
}

int
memsock_peer_close(int conn_id)
{
	struct memsock *s = conn_id > 0 && conn_id <= MEMSOCK_MAX_CONNS ? g_conns[conn_id] : NULL;

	if (s == NULL) {
		return -ENOENT;
	}
	s->eof = true;
	return 0;
}

size_t
memsock_take_output(int conn_id, uint8_t **out)
{
	struct memsock *s = conn_id > 0 && conn_id <= MEMSOCK_MAX_CONNS ? g_conns[conn_id] : NULL;
	size_t n;

	if (s == NULL) {
		*out = NULL;
		return 0;
	}
	*out = s->out;
	n = s->out_len;
	s->out = NULL;
	s->out_len = 0;
	return n;
}

int
memsock_conn_group(int conn_id)
{
	struct memsock *s = conn_id > 0 && conn_id <= MEMSOCK_MAX_CONNS ? g_conns[conn_id] : NULL;

	return s && s->group ? s->group->index : -1;
}

bool
memsock_conn_closed(int conn_id)
{
	struct memsock *s = conn_id > 0 && conn_id <= MEMSOCK_MAX_CONNS ? g_conns[conn_id] : NULL;

	return s == NULL || s->closed;
}
