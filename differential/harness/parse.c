/*   SPDX-License-Identifier: BSD-3-Clause
 *
 *   Parser of the story format (docs/differential.md): one record per line, space separated;
 *   `model` lines (the model's outputs) are skipped, unknown records are errors.
 */
#include "story.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

static int
hex_bytes(const char *h, uint8_t **data, size_t *len)
{
	size_t n = strlen(h), i;

	if (n % 2) {
		return -1;
	}
	*len = n / 2;
	*data = malloc(*len + 1);
	for (i = 0; i < *len; i++) {
		int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);

		if (a < 0 || b < 0) {
			return -1;
		}
		(*data)[i] = (uint8_t)(a << 4 | b);
	}
	return 0;
}

static int
parse_hex(const char *h, struct story_step *s)
{
	return hex_bytes(h, &s->data, &s->len);
}

/* `model N send C HEX` / `model N close C` / `model N rpc_done ID ok|error`: attached to step N
 * (the step just parsed). */
static int
parse_model(const char *line, struct story *st)
{
	struct story_step *s = st->nsteps ? &st->steps[st->nsteps - 1] : NULL;
	char verb[16];
	int n, conn, off = 0;

	if (sscanf(line, "model %d %15s %n", &n, verb, &off) == 2 && strcmp(verb, "objects") == 0 &&
	    s != NULL && s->n == n) {
		snprintf(s->objects, sizeof(s->objects), "%s", line + off);
		return 0;
	}
	if (sscanf(line, "model %d %15s %d %n", &n, verb, &conn, &off) < 3 || s == NULL || s->n != n) {
		return -1;
	}
	if (strcmp(verb, "rpc_done") == 0 && s->nrpcs < 8) {
		s->rpcs[s->nrpcs].id = conn;
		s->rpcs[s->nrpcs++].ok = strncmp(line + off, "ok", 2) == 0;
		return 0;
	}
	if (strcmp(verb, "send") == 0 && s->nsends < 8) {
		struct story_send *o = &s->sends[s->nsends++];

		o->conn = conn;
		return hex_bytes(line + off, &o->data, &o->len);
	}
	if (strcmp(verb, "close") == 0 && s->ncloses < 8) {
		s->closes[s->ncloses++] = conn;
	}
	return 0;
}

static int
parse_thread(const char *t)
{
	if (strcmp(t, "app") == 0) {
		return 0;
	}
	if (strncmp(t, "pg", 2) == 0) {
		return 1 + atoi(t + 2);
	}
	return -1;
}

static int
parse_rpc(char *rest, struct story_step *s)
{
	char verb[64] = "", a[STORY_MAX_NAME] = "", b[STORY_MAX_NAME] = "", c[STORY_MAX_NAME] = "";
	int n = sscanf(rest, "%d %63s %255s %255s %255s", &s->rpc_id, verb, a, b, c);

	snprintf(s->text, sizeof(s->text), "rpc %s", verb);
	s->rpc = RPC_UNSUPPORTED;
	if (strcmp(verb, "pause") == 0 && n >= 4) {
		s->rpc = RPC_PAUSE;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
		s->nsid = (uint32_t)strtoul(b, NULL, 10);
	} else if (strcmp(verb, "resume") == 0 && n >= 3) {
		s->rpc = RPC_RESUME;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
	} else if (strcmp(verb, "stop_listen") == 0 && n >= 5) {
		s->rpc = RPC_STOP_LISTEN;
		snprintf(s->traddr, sizeof(s->traddr), "%s", a);
		s->port = atoi(b);
		snprintf(s->nqn, sizeof(s->nqn), "%s", c);
	} else if ((strcmp(verb, "remove_listener") == 0 || strcmp(verb, "add_listener") == 0) && n >= 5) {
		s->rpc = verb[0] == 'r' ? RPC_REMOVE_LISTENER : RPC_ADD_LISTENER;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
		snprintf(s->traddr, sizeof(s->traddr), "%s", b);
		s->port = atoi(c);
	} else if (strcmp(verb, "remove_namespace") == 0 && n >= 4) {
		s->rpc = RPC_REMOVE_NS;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
		s->nsid = (uint32_t)strtoul(b, NULL, 10);
	} else if (strcmp(verb, "delete_subsystem") == 0 && n >= 3) {
		s->rpc = RPC_DELETE_SUBSYSTEM;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
	} else if (strcmp(verb, "shutdown") == 0 && n >= 2) {
		s->rpc = RPC_SHUTDOWN;
	} else if (strcmp(verb, "listen") == 0 && n >= 4) {
		s->rpc = RPC_TRANSPORT_LISTEN;
		snprintf(s->traddr, sizeof(s->traddr), "%s", a);
		s->port = atoi(b);
	} else if ((strcmp(verb, "stop") == 0 || strcmp(verb, "start") == 0 ||
		    strcmp(verb, "get_qpairs") == 0) && n >= 3) {
		s->rpc = verb[0] == 'g' ? RPC_GET_QPAIRS : verb[2] == 'o' ? RPC_STOP_SUBSYSTEM :
			 RPC_START_SUBSYSTEM;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
	} else if ((strcmp(verb, "add_host") == 0 || strcmp(verb, "remove_host") == 0) && n >= 4) {
		s->rpc = verb[0] == 'a' ? RPC_ADD_HOST : RPC_REMOVE_HOST;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
		snprintf(s->hostnqn, sizeof(s->hostnqn), "%s", b);
	} else if (strcmp(verb, "get_controllers") == 0 && n >= 3) {
		s->rpc = RPC_GET_CONTROLLERS;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
	} else if (strcmp(verb, "add_namespace") == 0 && n >= 4) {
		s->rpc = RPC_ADD_NS;
		snprintf(s->nqn, sizeof(s->nqn), "%s", a);
		s->ns.nsid = (uint32_t)strtoul(b, NULL, 10);
	}
	return 0;
}

/* A `fire` step's timer: a CONNECT re-poll names its connection, whose retry poller (and only
 * it) the step runs (`retry_connect` for `ConnectRetry`, `_retry_qid_check` for `QidRetry`, both
 * v24.01). Other timers leave `conn` 0: every poller due at the step's time runs. */
static void
parse_fire(const char *rest, struct story_step *s)
{
	const char *c = strstr(rest, "ConnId(");

	s->conn = 0;
	if (c == NULL) {
		return;
	}
	if (strncmp(rest, "ConnectRetry", 12) == 0) {
		snprintf(s->fn, sizeof(s->fn), "retry_connect");
	} else if (strncmp(rest, "QidRetry", 8) == 0) {
		snprintf(s->fn, sizeof(s->fn), "_retry_qid_check");
	} else {
		return;
	}
	s->conn = atoi(c + 7);
}

static int
parse_step(char *line, struct story_step *s)
{
	char verb[32];
	int off = 0;

	memset(s, 0, sizeof(*s));
	if (sscanf(line, "step %d %" SCNu64 " %31s %n", &s->n, &s->at_ns, verb, &off) < 3) {
		return -1;
	}
	char *rest = line + off;
	snprintf(s->text, sizeof(s->text), "%s", verb);
	if (strcmp(verb, "accept") == 0) {
		char pg[16];

		s->kind = STEP_ACCEPT;
		if (sscanf(rest, "%d %255s %d pg %15s", &s->conn, s->traddr, &s->port, pg) != 4) {
			return -1;
		}
		/* `pg -`: the model placed the connection on no poll group (none is left). */
		s->pg = strcmp(pg, "-") == 0 ? -1 : atoi(pg);
		return 0;
	}
	if (strcmp(verb, "bytes") == 0) {
		char *hex = malloc(strlen(rest) + 1);
		int rc = sscanf(rest, "%d %s", &s->conn, hex) == 2 ? parse_hex(hex, s) : -1;

		s->kind = STEP_BYTES;
		free(hex);
		return rc;
	}
	if (strcmp(verb, "peer_closed") == 0) {
		s->kind = STEP_PEER_CLOSED;
		return sscanf(rest, "%d", &s->conn) == 1 ? 0 : -1;
	}
	if (strcmp(verb, "run") == 0) {
		char t[16];

		s->kind = STEP_RUN;
		if (sscanf(rest, "%15s %127s", t, s->fn) != 2) {
			return -1;
		}
		s->thread = parse_thread(t);
		return s->thread < 0 ? -1 : 0;
	}
	if (strcmp(verb, "rpc") == 0) {
		s->kind = STEP_RPC;
		return parse_rpc(rest, s);
	}
	if (strcmp(verb, "complete") == 0) {
		s->kind = STEP_COMPLETE;
		return sscanf(rest, "%" SCNu64, &s->io) == 1 ? 0 : -1;
	}
	s->kind = strcmp(verb, "fire") == 0 ? STEP_FIRE : STEP_OTHER;
	if (s->kind == STEP_FIRE) {
		parse_fire(rest, s);
	}
	return 0;
}

static int
parse_subsystem(const char *line, struct story *st)
{
	struct story_subsystem *ss = &st->subsystems[st->nsubsystems];
	unsigned mn, mx;
	int any, start;

	if (st->nsubsystems == 8 || sscanf(line, "subsystem %255s cntlid %u %u namespaces %d any_host %d start %d",
					   ss->nqn, &mn, &mx, &ss->namespaces, &any, &start) != 6) {
		return -1;
	}
	ss->min_cntlid = (uint16_t)mn;
	ss->max_cntlid = (uint16_t)mx;
	ss->any_host = any;
	ss->start = start;
	st->nsubsystems++;
	return 0;
}

static struct story_subsystem *
find_subsystem(struct story *st, const char *nqn)
{
	int i;

	for (i = 0; i < st->nsubsystems; i++) {
		if (strcmp(st->subsystems[i].nqn, nqn) == 0) {
			return &st->subsystems[i];
		}
	}
	return NULL;
}

/* `namespace NQN NSID BLOCKS BLOCK_SIZE` (at start) or `bdev NQN NSID BLOCKS BLOCK_SIZE` (added
 * later by an add_namespace step). */
static int
parse_ns(const char *line, struct story *st)
{
	char verb[16], nqn[STORY_MAX_NAME];
	struct story_subsystem *ss;
	struct story_ns n;

	if (sscanf(line, "%15s %255s %u %" SCNu64 " %u", verb, nqn, &n.nsid, &n.blocks, &n.block_size) != 5 ||
	    (ss = find_subsystem(st, nqn)) == NULL) {
		return -1;
	}
	if (strcmp(verb, "namespace") == 0 && ss->nns < 8) {
		ss->ns[ss->nns++] = n;
		return 0;
	}
	if (strcmp(verb, "bdev") == 0 && ss->nextra < 8) {
		ss->extra[ss->nextra++] = n;
		return 0;
	}
	return -1;
}

/* `fini STATE...`: the FINI states of nvmf_tgt.c in the order the model's profile runs them. */
static int
parse_fini(char *line, struct story *st)
{
	static const char *const names[] = { [FINI_STOP_LISTEN] = "stop_listen",
					     [FINI_STOP_SUBSYSTEMS] = "stop_subsystems",
					     [FINI_DESTROY_SUBSYSTEMS] = "destroy_subsystems",
					     [FINI_DESTROY_POLL_GROUPS] = "destroy_poll_groups",
					     [FINI_DESTROY_TARGET] = "destroy_target"
					   };
	char *tok, *save = NULL;
	int i;

	st->nfini = 0;
	for (tok = strtok_r(line + 5, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		for (i = FINI_STOP_LISTEN; i <= FINI_DESTROY_TARGET && strcmp(tok, names[i]) != 0; i++) {
		}
		if (i > FINI_DESTROY_TARGET || st->nfini == FINI_MAX) {
			return -1;
		}
		st->fini[st->nfini++] = (enum fini_state)i;
	}
	return 0;
}

static int
parse_line(char *line, struct story *st, int *cap)
{
	char nqn[STORY_MAX_NAME], a[STORY_MAX_NAME];
	int port;
	struct story_subsystem *ss;

	if (strncmp(line, "model ", 6) == 0) {
		return parse_model(line, st);
	}
	if (line[0] == '#' || line[0] == '\0' ||
	    strcmp(line, "end") == 0 || strncmp(line, "fabcheck-story ", 15) == 0) {
		return 0;
	}
	if (sscanf(line, "seed %511s", st->seed) == 1 || sscanf(line, "poll_groups %d", &st->poll_groups) == 1) {
		return 0;
	}
	if (strncmp(line, "result ", 7) == 0) {
		snprintf(st->result, sizeof(st->result), "%s", line + 7);
		return 0;
	}
	if (strncmp(line, "fini ", 5) == 0) {
		return parse_fini(line, st);
	}
	if (strncmp(line, "parking ", 8) == 0) {
		st->retry_parking = strcmp(line + 8, "retry") == 0;
		return 0;
	}
	if (sscanf(line, "listener %255s %d", a, &port) == 2 && st->nlisteners < 8) {
		snprintf(st->listeners[st->nlisteners].traddr, STORY_MAX_NAME, "%s", a);
		st->listeners[st->nlisteners++].port = port;
		return 0;
	}
	if (strncmp(line, "subsystem ", 10) == 0) {
		return parse_subsystem(line, st);
	}
	if (sscanf(line, "subsystem_host %255s %255s", nqn, a) == 2 && (ss = find_subsystem(st, nqn)) && ss->nhosts < 8) {
		snprintf(ss->hosts[ss->nhosts++], STORY_MAX_NAME, "%s", a);
		return 0;
	}
	if (sscanf(line, "subsystem_listener %255s %255s %d", nqn, a, &port) == 3 && (ss = find_subsystem(st, nqn)) &&
	    ss->nlisteners < 8) {
		snprintf(ss->listeners[ss->nlisteners].traddr, STORY_MAX_NAME, "%s", a);
		ss->listeners[ss->nlisteners++].port = port;
		return 0;
	}
	if (strncmp(line, "namespace ", 10) == 0 || strncmp(line, "bdev ", 5) == 0) {
		return parse_ns(line, st);
	}
	if (strncmp(line, "step ", 5) == 0) {
		if (st->nsteps == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			st->steps = realloc(st->steps, *cap * sizeof(*st->steps));
		}
		return parse_step(line, &st->steps[st->nsteps++]);
	}
	return -1;
}

int
story_parse(FILE *f, struct story *st)
{
	char *line = NULL;
	size_t cap_line = 0;
	ssize_t n;
	int cap = 0, lineno = 0;

	memset(st, 0, sizeof(*st));
	while ((n = getline(&line, &cap_line, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
			line[--n] = '\0';
		}
		if (parse_line(line, st, &cap) != 0) {
			fprintf(stderr, "harness: story line %d: cannot parse: %.80s\n", lineno, line);
			free(line);
			return -1;
		}
	}
	free(line);
	if (st->poll_groups <= 0 || st->poll_groups > STORY_MAX_PGS) {
		fprintf(stderr, "harness: story has %d poll groups (1..%d)\n", st->poll_groups, STORY_MAX_PGS);
		return -1;
	}
	return 0;
}
