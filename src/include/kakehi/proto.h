/* ISC license. */
/* The supervisor-worker protocol, carried by kk_chan (chan.h). Every
 * message is a frame of words; words[0] names the message. Verb lines, not
 * structs, cross the channel, so an old and a new binary can talk during a
 * rolling upgrade.
 *
 * How a worker is started by the supervisor:
 *   kakehi-worker -c CHANNEL_FD -s STATE_FD -g GENERATION -i WORKER_ID
 * with the listeners inherited as LISTEN_FDS / LISTEN_FDNAMES (fds 3..,
 * names are canonical addresses), the channel and state fds after them.
 * STATE_FD is a memfd holding the full state as verb lines. Run without
 * -c, as `kakehi-listen ADDR... -- kakehi-worker CONFIG`, the worker loads
 * CONFIG itself and has no supervisor.
 *
 * supervisor -> worker
 *   listener ADDR            one fd attached: a listening socket for ADDR,
 *                            sent before the change that adds ADDR
 *   delta BASE GEN TEXT      one change: TEXT is the verb lines that turn
 *                            generation BASE into GEN (one line for a verb,
 *                            the diff for reload and state load). A worker
 *                            on BASE applies them with an undo journal,
 *                            builds a router snapshot, swaps it in between
 *                            loop turns, then answers ack GEN, or undoes
 *                            them and answers nack GEN. A worker on another
 *                            generation applies nothing and answers resync.
 *   state GEN                one fd attached: a memfd holding the whole
 *                            state of generation GEN as verb lines, which
 *                            replaces the worker's; answered like a delta.
 *                            Sent after a resync and to roll a refused
 *                            change back.
 *   update GEN TEXT          TEXT is the whole state as verb lines; answered
 *                            like state (what a supervisor older than the
 *                            delta sent; still understood).
 *                            For delta, state and update: listeners absent
 *                            from the new state are closed (the supervisor
 *                            keeps its own copy).
 *   status                   asks for the worker's counters
 *   drain                    stop accepting, finish in-flight requests,
 *                            close idle connections, exit when empty or at
 *                            the drain deadline (drain-timeout)
 *   stop                     exit now
 *   ping SEQ                 liveness: answered at once with pong SEQ from
 *                            the worker's loop; one left unanswered past
 *                            ping-timeout gets the worker killed
 *   log-reopen SEQ           open the access-log file again (log rotation);
 *                            answered with log-reopened SEQ
 *   tls-keys SERIAL LIFETIME KEY...
 *                            the session-ticket key ring, which replaces
 *                            the worker's whole; not answered. Each KEY is
 *                            KK_TLS_KEY_LEN bytes in lower-case hex: a
 *                            public name, an HMAC-SHA256 key, an AES-256
 *                            key. The first KEY encrypts new tickets; all
 *                            of them decrypt (the next key, sent ahead so
 *                            workers never disagree while a rotation
 *                            travels, and the previous ones). LIFETIME is
 *                            the seconds a ticket is good for, SERIAL the
 *                            rotation count. Queued first on a new
 *                            worker's channel, and to every worker at each
 *                            rotation (set tls-ticket-rotation).
 *
 * worker -> supervisor
 *   ready GEN                sent once, after the initial state applied
 *   ack GEN                  update GEN applied
 *   nack GEN REASON          GEN refused; the worker keeps the state it had
 *   resync HAVE              a delta did not apply to HAVE, the worker's
 *                            generation: send the whole state
 *   status TEXT              answer to status: "key value" lines
 *   pong SEQ                 answer to ping SEQ
 *   log-reopened SEQ [WHY]   answer to log-reopen SEQ: the access-log
 *                            file opened again, or WHY it could not be
 *   health CLUSTER BACKEND down|up
 *                            passive health (doc/health.html): BACKEND of
 *                            CLUSTER failed --max-fails times in a row (or
 *                            a retry of it failed), or a retry of it out
 *                            succeeded; the supervisor decides and answers
 *                            every worker with the verdict below
 *
 * supervisor -> worker, the health verdict, the same for every worker:
 *   health CLUSTER BACKEND down BACKOFF_MS
 *                            take BACKEND out of CLUSTER's choices; let
 *                            requests try it again after BACKOFF_MS
 *   health CLUSTER BACKEND down -
 *                            the same, held: no retry until an up (the
 *                            active check's verdict)
 *   health CLUSTER BACKEND up
 *                            back in; its failures start again from 0
 *                            A worker starting gets the verdicts of the
 *                            backends out, after its state.
 *
 * kakehi-check -> supervisor (its own channel, the same framing; started
 * as kakehi-check -c 3 -s 4 -g GENERATION with the state memfd on 4, and
 * given delta and state as a worker is, never answering them)
 *   health CLUSTER BACKEND down|up
 *                            its probes' rise or fall count was reached
 *   resync HAVE              a delta did not apply: send the whole state
 *
 * A worker whose channel reaches end of file drains and exits: the
 * supervisor is gone. */
#ifndef KAKEHI_PROTO_H
#define KAKEHI_PROTO_H

#define KK_MSG_LISTENER "listener"
#define KK_MSG_UPDATE "update"
#define KK_MSG_DELTA "delta"
#define KK_MSG_STATE "state"
#define KK_MSG_RESYNC "resync"
#define KK_MSG_STATUS "status"
#define KK_MSG_DRAIN "drain"
#define KK_MSG_STOP "stop"
#define KK_MSG_PING "ping"
#define KK_MSG_PONG "pong"
#define KK_MSG_READY "ready"
#define KK_MSG_ACK "ack"
#define KK_MSG_NACK "nack"
#define KK_MSG_TLS_KEYS "tls-keys"
#define KK_MSG_LOG_REOPEN "log-reopen"
#define KK_MSG_LOG_REOPENED "log-reopened"
#define KK_MSG_HEALTH "health"
/* The BACKOFF_MS of a verdict down that no request lifts: kakehi-check's,
 * until it reports the backend up. */
#define KK_HEALTH_HELD "-"

/* A backend out is retried after a backoff that doubles at each failed
 * retry, from one second to a minute: a dead server costs a request a
 * minute at worst, a restarted one is back within a second or two. The
 * supervisor decides it; a worker running without one, alone. */
#define KK_HEALTH_BACKOFF_MS 1000UL
#define KK_HEALTH_BACKOFF_MAX_MS 60000UL
static inline unsigned long
kk_health_backoff_next(unsigned long prev)
{
	if (!prev)
		return KK_HEALTH_BACKOFF_MS;
	return prev >= KK_HEALTH_BACKOFF_MAX_MS / 2 ? KK_HEALTH_BACKOFF_MAX_MS : 2 * prev;
}

/* A session-ticket key of tls-keys: its name travels in every ticket (so
 * it is public, and what status shows), the two secrets never leave the
 * supervisor and the workers. */
#define KK_TLS_KEY_NAME_LEN 16
#define KK_TLS_KEY_HMAC_LEN 32
#define KK_TLS_KEY_AES_LEN 32
#define KK_TLS_KEY_LEN (KK_TLS_KEY_NAME_LEN + KK_TLS_KEY_HMAC_LEN + KK_TLS_KEY_AES_LEN)
/* The current, the next and the previous. */
#define KK_TLS_KEYS_MAX 3

/* Environment of the systemd socket-activation convention, used by
 * kakehi-listen, the supervisor and the worker alike. */
#define KK_ENV_LISTEN_FDS "LISTEN_FDS"
#define KK_ENV_LISTEN_FDNAMES "LISTEN_FDNAMES"
#define KK_ENV_LISTEN_PID "LISTEN_PID"
#define KK_LISTEN_FDS_START 3

/* Default control socket, when neither -s nor `set command-socket` says. */
#define KK_DEFAULT_CONTROL_SOCKET "/run/kakehi/control"

#endif
