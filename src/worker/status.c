/* ISC license. */
/* Counters and their text form, for the supervisor's status question and
 * for SIGUSR1 in a worker running on its own. */
#include <unistd.h>
#include <kakehi/metrics.h>
#include "bend.h"
#include "buf.h"
#include "front.h"
#include "accesslog.h"
#include "status.h"
#include "tlskeys.h"

struct kk_stats kk_stats;

/* The names live with the metrics segment's, which the supervisor
 * prints without a worker's headers (wmetrics.c checks the count). */
const char *
kk_status_close_name(enum kk_close r)
{
	return kk_metrics_close_name((unsigned)r);
}

const char *
kk_status_h2_flood_name(enum kk_h2_flood k)
{
	static const char *const names[KK_H2_FLOOD_COUNT] = {
		"reset", "continuation", "settings", "ping", "priority", "window-update",
		"empty-data", "header-list", "acks", "provoked-reset",
	};
	return (unsigned)k < KK_H2_FLOOD_COUNT ? names[k] : "unknown";
}

int
kk_status_print(kk_str *out, const char *id, uint64_t generation)
{
	size_t inuse, idle, size;
	unsigned i, nout = 0;
	int ok = 1;
	kk_buf_stats(&inuse, &idle, &size);
	ok &= kk_str_catf(out, "pid %ld\nid %s\ngeneration %llu\ndraining %d\n", (long)getpid(),
	    id, (unsigned long long)generation, kk_front_draining);
	ok &= kk_str_catf(out, "connections-active %llu\nconnections-total %llu\n"
	    "requests %llu\n", (unsigned long long)kk_stats.active,
	    (unsigned long long)kk_stats.accepted, (unsigned long long)kk_stats.requests);
	for (i = 1; i <= 5; i++)
		ok &= kk_str_catf(out, "responses-%uxx %llu\n", i,
		    (unsigned long long)kk_stats.responses[i]);
	ok &= kk_str_catf(out, "back-connects %llu\nback-reused %llu\nback-active %llu\n"
	    "back-idle %llu\nretries %llu\naccept-errors %llu\n",
	    (unsigned long long)kk_stats.back_connects, (unsigned long long)kk_stats.back_reused,
	    (unsigned long long)kk_stats.back_active, (unsigned long long)kk_stats.back_idle,
	    (unsigned long long)kk_stats.retries, (unsigned long long)kk_stats.accept_errors);
	ok &= kk_str_catf(out, "queued %llu\nqueue-full %llu\nqueue-timeouts %llu\n",
	    (unsigned long long)kk_stats.queued, (unsigned long long)kk_stats.queue_full,
	    (unsigned long long)kk_stats.queue_timeouts);
	ok &= kk_str_catf(out, "regex-stopped %llu\n",
	    (unsigned long long)kk_stats.regex_stopped);
	ok &= kk_str_catf(out, "answers-custom %llu\nanswers-too-large %llu\n",
	    (unsigned long long)kk_stats.answers_custom,
	    (unsigned long long)kk_stats.answers_too_large);
	ok &= kk_str_catf(out, "auth-ok %llu\nauth-cached %llu\nauth-refused %llu\n"
	    "auth-budget %llu\n", (unsigned long long)kk_stats.auth_ok,
	    (unsigned long long)kk_stats.auth_cached, (unsigned long long)kk_stats.auth_refused,
	    (unsigned long long)kk_stats.auth_budget);
	ok &= kk_str_catf(out, "accept-share-held %llu\naccept-share-resumed %llu\n"
	    "accept-share-grace %llu\naccept-requeues %llu\n",
	    (unsigned long long)kk_stats.accept_share_held,
	    (unsigned long long)kk_stats.accept_share_resumed,
	    (unsigned long long)kk_stats.accept_share_grace,
	    (unsigned long long)kk_stats.accept_requeues);
	ok &= kk_tls_keys_status(out);
	ok &= kk_accesslog_status(out);
	ok &= kk_str_catf(out, "upgrades %llu\ntunnels-active %llu\ntunnel-bytes-in %llu\n"
	    "tunnel-bytes-out %llu\ntunnel-splices %llu\n", (unsigned long long)kk_stats.upgrades,
	    (unsigned long long)kk_stats.tunnels, (unsigned long long)kk_stats.tunnel_bytes_in,
	    (unsigned long long)kk_stats.tunnel_bytes_out,
	    (unsigned long long)kk_stats.tunnel_splices);
	ok &= kk_str_catf(out, "tls-handshakes %llu\ntls-resumed %llu\n"
	    "tls-handshake-failures %llu\ntls-handshake-timeouts %llu\n",
	    (unsigned long long)kk_stats.tls_handshakes, (unsigned long long)kk_stats.tls_resumed,
	    (unsigned long long)kk_stats.tls_handshake_failures,
	    (unsigned long long)kk_stats.tls_handshake_timeouts);
	ok &= kk_str_catf(out, "tls-client-cert-refused %llu\n",
	    (unsigned long long)kk_stats.tls_client_cert_refused);
	ok &= kk_str_catf(out, "back-tls-handshakes %llu\nback-tls-resumed %llu\n"
	    "back-tls-failures %llu\nback-tls-verify-failures %llu\n",
	    (unsigned long long)kk_stats.back_tls_handshakes,
	    (unsigned long long)kk_stats.back_tls_resumed,
	    (unsigned long long)kk_stats.back_tls_failures,
	    (unsigned long long)kk_stats.back_tls_verify_failures);
	for (i = 1; i < KK_H1_E_COUNT; i++)
		ok &= kk_str_catf(out, "errors-%s %llu\n", kk_h1_err_name((int)i),
		    (unsigned long long)kk_stats.refused[i]);
	for (i = 1; i < KK_CLIENTHELLO_E_COUNT; i++)
		ok &= kk_str_catf(out, "clienthello-%s %llu\n", kk_clienthello_err_name((int)i),
		    (unsigned long long)kk_stats.hello[i]);
	for (i = 1; i < KK_PROXYHDR_E_COUNT; i++)
		ok &= kk_str_catf(out, "proxy-%s %llu\n", kk_proxyhdr_err_name((int)i),
		    (unsigned long long)kk_stats.proxy[i]);
	ok &= kk_str_catf(out, "h2-connections %llu\nh2-streams %llu\n",
	    (unsigned long long)kk_stats.h2_conns, (unsigned long long)kk_stats.h2_streams);
	for (i = 1; i < KK_H2HEAD_E_COUNT; i++)
		ok &= kk_str_catf(out, "h2-errors-%s %llu\n", kk_h2head_err_name((int)i),
		    (unsigned long long)kk_stats.h2_refused[i]);
	for (i = 0; i < KK_H2_FLOOD_COUNT; i++)
		ok &= kk_str_catf(out, "h2-flood-%s %llu\n",
		    kk_status_h2_flood_name((enum kk_h2_flood)i),
		    (unsigned long long)kk_stats.h2_floods[i]);
	for (i = 0; i < KK_CLOSE_COUNT; i++)
		ok &= kk_str_catf(out, "closes-%s %llu\n", kk_status_close_name((enum kk_close)i),
		    (unsigned long long)kk_stats.closes[i]);
	/* Backends avoided now after a failed connect, by address: the
	 * supervisor names the state's backends at each. */
	for (kk_link *l = kk_bend_all()->next; l != kk_bend_all(); l = l->next) {
		const kk_bend *b = KK_CONTAINER(l, kk_bend, link);
		if (kk_bend_is_down(b, kk_now_ms))
			ok &= kk_str_catf(out, "backend-down %s\n", b->addr_text);
		nout += b->out;
	}
	/* Out by the health verdict: summed, it says how many workers hold
	 * it (the verdict is the same in every worker). */
	ok &= kk_str_catf(out, "health-backends-out %u\n", nout);
	/* Whole histograms, not percentiles: the supervisor merges them.
	 * Before the buffers: buffer-size stays the last line, the one
	 * readers of a SIGUSR1 dump wait for. */
	ok &= kk_str_cats(out, "latency-ttfb ");
	ok &= kk_hist_fmt(out, &kk_stats.latency_ttfb);
	ok &= kk_str_cats(out, "\nlatency-total ");
	ok &= kk_hist_fmt(out, &kk_stats.latency_total);
	ok &= kk_str_cats(out, "\n");
	ok &= kk_str_catf(out, "bytes-in %llu\nbytes-out %llu\nbuffers-in-use %zu\n"
	    "buffers-free %zu\nbuffer-size %zu\n", (unsigned long long)kk_stats.bytes_in,
	    (unsigned long long)kk_stats.bytes_out, inuse, idle, size);
	return ok;
}
