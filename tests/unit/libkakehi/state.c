/* ISC license. */
/* Tests for src/libkakehi/state.c, stateprint.c and statediff.c: apply
 * and its refusals (which must leave the state unchanged), batches with
 * file:line errors, the canonical round trip, diff, save, JSON, lists;
 * and seeded random runs against a model: every verb accepted or refused
 * as the model says, the indexes checked after each, printing as the model
 * prints, print and load agreeing, and diffs that reach their target. */

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "tap.h"

static char *
printed(const kk_state *st)
{
	kk_str out = KK_STR_ZERO;
	if (!kk_state_print(st, &out)) return 0;
	return out.s;
}

/* The journal the random runs apply through; NULL: kk_state_apply. */
static kk_journal *journal;

static int
apply_line(kk_state *st, const char *line, char *err, size_t errlen)
{
	char buf[1024], *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	kk_verb v;
	snprintf(buf, sizeof buf, "%s", line);
	if (!kk_line_split(buf, argv, KK_LINE_MAXWORDS, &argc, err, errlen)) return 0;
	if (!kk_verb_parse(&v, argc, (const char *const *)argv, err, errlen)) return 0;
	if (journal) return kk_state_apply_journal(st, &v, journal, err, errlen);
	return kk_state_apply(st, &v, err, errlen);
}

static int
load(kk_state *st, const char *text, char *err)
{
	return kk_state_load_text(st, text, strlen(text), "test.conf", err, KK_ERRLEN);
}

/* Applies line, which must fail with want in the message and change
 * nothing. */
static void
refuse(kk_state *st, const char *line, const char *want)
{
	char err[KK_ERRLEN] = "";
	char *before = printed(st), *after;
	int r = apply_line(st, line, err, sizeof err);
	after = printed(st);
	ok(!r && strstr(err, want) && !strcmp(before, after), "refused, unchanged: %s", line);
	if (r || !strstr(err, want))
		printf("#   got:  '%s'\n#   want: '...%s...'\n", r ? "(accepted)" : err, want);
	free(before);
	free(after);
}

static void
accept_line(kk_state *st, const char *line)
{
	char err[KK_ERRLEN] = "";
	int r = apply_line(st, line, err, sizeof err);
	ok(r, "applies: %s", line);
	if (!r) printf("#   %s\n", err);
}

static const char base_conf[] =
	"listener add http 127.0.0.1:8080\n"
	"cluster add app\n"
	"cluster add api --lb random\n"
	"frontend add app --listener 127.0.0.1:8080 --host example.com\n"
	"frontend add api --listener 127.0.0.1:8080 --host example.com --path /api\n"
	"backend add app b1 10.0.0.1:80\n"
	"backend add api a1 10.0.0.2:80\n";

static void
test_apply(void)
{
	kk_state st;
	char err[KK_ERRLEN];
	kk_state_init(&st);
	ok(load(&st, base_conf, err), "base config loads");

	refuse(&st, "listener add http 127.0.0.1:8080 --front-timeout 5s",
	    "listener add: listener 127.0.0.1:8080 already exists; to change it, remove it "
	    "first with: listener remove 127.0.0.1:8080");
	refuse(&st, "cluster add app --lb random", "cluster add: cluster \"app\" already exists");
	refuse(&st, "frontend add nope --listener 127.0.0.1:8080",
	    "frontend add: cluster \"nope\" does not exist; add it with: cluster add nope");
	refuse(&st, "frontend add app --listener 127.0.0.1:9999",
	    "frontend add: listener 127.0.0.1:9999 does not exist; add it with: "
	    "listener add http 127.0.0.1:9999");
	refuse(&st, "frontend add app --listener 127.0.0.1:8080 --host EXAMPLE.com",
	    "frontend add: this frontend already exists: frontend add app --listener "
	    "127.0.0.1:8080 --host example.com");
	/* The absolute form of a name is the same host. */
	refuse(&st, "frontend add app --listener 127.0.0.1:8080 --host example.com.",
	    "frontend add: this frontend already exists: frontend add app --listener "
	    "127.0.0.1:8080 --host example.com");
	refuse(&st, "frontend add app --listener 127.0.0.1:8080 --host example.com. "
	    "--path-regex '^/(a' --header x-a", "--path-regex \"^/(a\" is not a valid regex: "
	    "missing closing parenthesis at offset 4");
	refuse(&st, "frontend add app --listener 127.0.0.1:8080 --header 'x~[z-a]'",
	    "--header \"x~[z-a]\": not a valid regex: range out of order in character class");
	/* Extra matches in any order and case are the same frontend. */
	accept_line(&st, "frontend add app --listener 127.0.0.1:8080 --query q --header X-A=1 "
	    "--cookie c");
	refuse(&st, "frontend add app --listener 127.0.0.1:8080 --cookie c --header x-a=1 "
	    "--query q --query q", "this frontend already exists: frontend add app --listener "
	    "127.0.0.1:8080 --header x-a=1 --cookie c --query q");
	accept_line(&st, "frontend remove app --listener 127.0.0.1:8080 --cookie c --query q "
	    "--header x-A=1");
	refuse(&st, "backend add nope b1 10.0.0.1:80",
	    "backend add: cluster \"nope\" does not exist; add it with: cluster add nope");
	refuse(&st, "backend add app b1 10.0.0.9:80",
	    "backend add: backend \"b1\" already exists in cluster \"app\"; to change it, "
	    "remove it first with: backend remove app b1");
	refuse(&st, "listener remove 127.0.0.1:9999",
	    "listener remove: listener 127.0.0.1:9999 does not exist");
	refuse(&st, "listener remove 127.0.0.1:8080",
	    "listener remove: listener 127.0.0.1:8080 is used by 2 frontends; remove them first, "
	    "with: frontend remove app --listener 127.0.0.1:8080 --host example.com");
	refuse(&st, "cluster remove nope", "cluster remove: cluster \"nope\" does not exist");
	refuse(&st, "cluster remove app",
	    "cluster remove: cluster \"app\" is still used by 1 frontend and 1 backend; "
	    "remove them first");
	refuse(&st, "cluster remove app", "frontend remove app --listener 127.0.0.1:8080 "
	    "--host example.com; backend remove app b1");
	refuse(&st, "frontend remove app --listener 127.0.0.1:8080",
	    "frontend remove: no frontend matches exactly");
	refuse(&st, "frontend remove api --listener 127.0.0.1:8080 --host example.com "
	    "--path-exact /api", "no frontend matches exactly");
	refuse(&st, "backend remove nope b1", "backend remove: cluster \"nope\" does not exist");
	refuse(&st, "backend remove app b9",
	    "backend remove: backend \"b9\" does not exist in cluster \"app\"");
	refuse(&st, "backend remove api b1", "backend \"b1\" does not exist in cluster \"api\"");
	refuse(&st, "status", "not a change of the state");
	refuse(&st, "backend list", "not a change of the state");

	/* A different form of the same address is the same listener. */
	accept_line(&st, "listener add http [::1]:8081");
	refuse(&st, "listener add http [0:0::1]:8081", "listener [::1]:8081 already exists");

	/* Host is folded to lower case; the frontend is found again by it. */
	accept_line(&st, "frontend add app --listener [0::1]:8081 --host WWW.Example.COM --method GET");
	char *p = printed(&st);
	ok(p && strstr(p, "frontend add app --listener '[::1]:8081' --host www.example.com "
	    "--method GET\n") != 0, "host lower-cased, listener canonical");
	free(p);
	accept_line(&st, "frontend remove app --listener [::1]:8081 --host www.EXAMPLE.com "
	    "--method GET");
	accept_line(&st, "listener remove [::1]:8081");

	/* Removing in dependency order works. */
	accept_line(&st, "frontend remove app --listener 127.0.0.1:8080 --host example.com");
	accept_line(&st, "backend remove app b1");
	accept_line(&st, "cluster remove app");
	accept_line(&st, "frontend remove api --listener 127.0.0.1:8080 --host example.com "
	    "--path /api");
	accept_line(&st, "listener remove 127.0.0.1:8080");
	p = printed(&st);
	is_str(p, "# kakehi state\ncluster add api --lb random\nbackend add api a1 10.0.0.2:80\n",
	    "state after removals");
	free(p);

	/* Settings. */
	accept_line(&st, "set workers 8");
	accept_line(&st, "set allowed-uids 1000,0,1000,33");
	accept_line(&st, "set command-socket '/run/k k/ctl'");
	accept_line(&st, "set worker-timeout 1500ms");
	ok(st.set.workers == 8 && st.set.nuids == 3 && st.set.uids[0] == 0 && st.set.uids[1] == 33
	    && st.set.uids[2] == 1000 && st.set.worker_timeout_ms == 1500
	    && !strcmp(st.set.command_socket, "/run/k k/ctl"), "settings applied");
	p = printed(&st);
	ok(p && strstr(p, "# kakehi state\nset workers 8\nset command-socket '/run/k k/ctl'\n"
	    "set allowed-uids 0,33,1000\nset worker-timeout 1500ms\ncluster") == p,
	    "set lines in table order");
	free(p);
	accept_line(&st, "set allowed-uids none");
	accept_line(&st, "set command-socket default");
	accept_line(&st, "set workers default");
	ok(!st.set.nuids && !st.set.command_socket && st.set.workers == 2, "settings reset");
	/* Trusted proxies: canonical prefixes, duplicates once, the order
	 * kept; a bad one refused with the list as it was. */
	accept_line(&st, "set trusted-proxies ::1,10.1.0.0/16,::ffff:10.1.0.0/112,0.0.0.0/0");
	p = printed(&st);
	ok(p && strstr(p, "\nset trusted-proxies ::1/128,10.1.0.0/16,0.0.0.0/0\n"),
	    "trusted-proxies printed canonically");
	free(p);
	refuse(&st, "set trusted-proxies 10.0.0.0/8,192.168.0.1/24",
	    "the network is 192.168.0.0/24");
	ok(st.set.ntrusted == 3, "the list unchanged");
	accept_line(&st, "set trusted-proxies none");
	ok(!st.set.ntrusted, "none clears it");
	p = printed(&st);
	ok(p && !strstr(p, "trusted-proxies"), "and none is the default: not printed");
	free(p);
	/* Forwarding switches: the list in canonical order, the default
	 * left out, none as --no-forward. */
	accept_line(&st, "listener add http 127.0.0.1:9001 --forward forwarded,xff,xff "
	    "--request-id X-Request-Id");
	accept_line(&st, "listener add http 127.0.0.1:9002 --forward xfport,xfp,xff");
	accept_line(&st, "listener add https 127.0.0.1:9003 --no-forward");
	p = printed(&st);
	ok(p && strstr(p, "listener add http 127.0.0.1:9001 --forward xff,forwarded "
	    "--request-id X-Request-Id\n") && strstr(p, "listener add http 127.0.0.1:9002\n")
	    && strstr(p, "listener add https 127.0.0.1:9003 --no-forward\n"),
	    "forwarding printed canonically");
	free(p);

	/* The access log: a destination, a format checked whole, a sample;
	 * off and default back to unset, printed as such. */
	accept_line(&st, "set access-log /var/log/kakehi/access.log");
	accept_line(&st, "set access-log-format '${status} \"${path}\" $$${bytes_out}'");
	accept_line(&st, "set access-log-sample 10");
	p = printed(&st);
	ok(p && strstr(p, "set access-log /var/log/kakehi/access.log\n"
	    "set access-log-format '${status} \"${path}\" $$${bytes_out}'\n"
	    "set access-log-sample 10\n"), "access-log settings print back (%s)", p);
	free(p);
	refuse(&st, "set access-log relative.log", "is not off, stderr or an absolute path");
	refuse(&st, "set access-log-format '${nope}'", "\"${nope}\" is not a variable");
	refuse(&st, "set access-log-format '$path'", "\"$path\" is not a variable");
	refuse(&st, "set access-log-format '${path'", "is not a variable");
	refuse(&st, "set access-log-format 'a\tb'", "control character at byte 1");
	refuse(&st, "set access-log-sample 0", "is not a number in 1..1000000");
	accept_line(&st, "set access-log-format json");
	accept_line(&st, "set access-log stderr");
	ok(!strcmp(st.set.access_log, "stderr") && !strcmp(st.set.access_log_format, "json"),
	    "access-log stderr, json");
	accept_line(&st, "set access-log off");
	accept_line(&st, "set access-log-format default");
	accept_line(&st, "set access-log-sample default");
	ok(!st.set.access_log && !st.set.access_log_format && st.set.access_log_sample == 1,
	    "access-log settings reset");

	/* The programs' own log lines: a word of a list each, printed back
	 * only when not the first (the default). */
	accept_line(&st, "set log-format json");
	accept_line(&st, "set log-level warning");
	p = printed(&st);
	ok(p && strstr(p, "set log-format json\nset log-level warning\n")
	    && st.set.log_format == KK_LOG_JSON && st.set.log_level == KK_LOG_WARNING,
	    "log-format and log-level print back (%s)", p);
	free(p);
	refuse(&st, "set log-format xml", "log-format: \"xml\" is not one of text|json");
	refuse(&st, "set log-level debug", "log-level: \"debug\" is not one of info|warning");
	accept_line(&st, "set log-format text");
	accept_line(&st, "set log-level default");
	p = printed(&st);
	ok(p && !strstr(p, "log-") && st.set.log_format == KK_LOG_TEXT
	    && st.set.log_level == KK_LOG_INFO, "text and info are the defaults, not printed");
	free(p);
	kk_state_free(&st);
}

static int state_checked(const kk_state *, const char *what);

/* tcp listeners: frontends route by --sni or by default, one route per
 * name; what belongs to http listeners is refused with the fix. */
static void
test_tcp(void)
{
	kk_state st;
	char err[KK_ERRLEN] = "", *p;
	kk_state_init(&st);
	ok(load(&st, "listener add tcp 127.0.0.1:5432\nlistener add tcp 127.0.0.1:5433\n"
	    "listener add http 127.0.0.1:8080\ncluster add db --send-proxy v1\ncluster add web\n"
	    "frontend add db --listener 127.0.0.1:5432 --sni DB.Example.com\n"
	    "frontend add web --listener 127.0.0.1:5432\n", err), "tcp config loads (%.300s)",
	    err);
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --host a.example",
	    "frontend add: listener 127.0.0.1:5432 is a tcp listener: it routes connections by "
	    "--sni NAME or by default, never by --host; drop --host, or route on an http "
	    "listener");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --path /x", "never by --path;");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --path-exact /x",
	    "never by --path-exact;");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --method GET",
	    "never by --method;");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --path-regex /x",
	    "never by --path-regex;");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --query x",
	    "never by --header, --cookie or --query;");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --sni e.example "
	    "--request-header-add X-A=1", "--sni matches connections");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --deny 403",
	    "is a tcp listener: it passes bytes");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --request-header-add X-A=1",
	    "frontend add: listener 127.0.0.1:5432 is a tcp listener: it passes bytes and has "
	    "no header to edit; drop the header edits, or route on an http listener");
	refuse(&st, "frontend remove web --listener 127.0.0.1:5432 --method GET",
	    "frontend remove: listener 127.0.0.1:5432 is a tcp listener");
	refuse(&st, "frontend add db --listener 127.0.0.1:8080 --sni A.example",
	    "frontend add: listener 127.0.0.1:8080 is an http listener: it routes requests by "
	    "--host, --path and --method; --sni is for tcp listeners (for a name on this "
	    "listener, use --host a.example)");
	refuse(&st, "frontend add web --listener 127.0.0.1:5432 --sni db.example.COM",
	    "frontend add: listener 127.0.0.1:5432 already routes --sni db.example.com to "
	    "cluster \"db\" (a tcp listener has one route per name, and one default); to change "
	    "it, remove that frontend first with: frontend remove db --listener 127.0.0.1:5432 "
	    "--sni db.example.com");
	refuse(&st, "frontend add db --listener 127.0.0.1:5432",
	    "frontend add: listener 127.0.0.1:5432 already routes connections without a "
	    "matching --sni to cluster \"web\" (a tcp listener has one route per name, and one "
	    "default); to change it, remove that frontend first with: frontend remove web "
	    "--listener 127.0.0.1:5432");
	refuse(&st, "frontend add db --listener 127.0.0.1:5432 --sni db.EXAMPLE.com",
	    "frontend add: this frontend already exists: frontend add db --listener "
	    "127.0.0.1:5432 --sni db.example.com");
	refuse(&st, "frontend remove web --listener 127.0.0.1:5432 --sni db.example.com",
	    "frontend remove: listener 127.0.0.1:5432 routes --sni db.example.com to cluster "
	    "\"db\", not \"web\"; to remove that route: frontend remove db --listener "
	    "127.0.0.1:5432 --sni db.example.com");
	refuse(&st, "frontend remove web --listener 127.0.0.1:5432 --sni nope.example",
	    "frontend remove: no frontend matches exactly");
	refuse(&st, "frontend add db --listener 127.0.0.1:6000 --sni x.example",
	    "listener 127.0.0.1:6000 does not exist; add it with: listener add tcp "
	    "127.0.0.1:6000");
	refuse(&st, "listener add http 127.0.0.1:5432",
	    "listener add: listener 127.0.0.1:5432 already exists as a tcp listener, and a "
	    "listener's kind cannot change in place; remove it (and its frontends) first with: "
	    "listener remove 127.0.0.1:5432");
	refuse(&st, "listener add tcp 127.0.0.1:8080", "already exists as an http listener");
	refuse(&st, "listener add tcp 127.0.0.1:5433", "listener 127.0.0.1:5433 already exists; "
	    "to change it, remove it first");
	refuse(&st, "listener remove 127.0.0.1:5432", "is used by 2 frontends");
	/* A wildcard is another name; names are per listener. */
	accept_line(&st, "frontend add web --listener 127.0.0.1:5432 --sni *.example.COM");
	accept_line(&st, "frontend add web --listener 127.0.0.1:5433 --sni db.example.com");
	accept_line(&st, "frontend add db --listener 127.0.0.1:5433");
	/* Freed, a route takes another cluster. */
	accept_line(&st, "frontend remove db --listener 127.0.0.1:5432 --sni DB.example.com");
	accept_line(&st, "frontend add web --listener 127.0.0.1:5432 --sni db.example.com");
	p = printed(&st);
	is_str(p, "# kakehi state\nlistener add tcp 127.0.0.1:5432\nlistener add tcp "
	    "127.0.0.1:5433\nlistener add http 127.0.0.1:8080\ncluster add db --send-proxy v1\n"
	    "cluster add web\nfrontend add web --listener 127.0.0.1:5432\n"
	    "frontend add web --listener 127.0.0.1:5432 --sni *.example.com\n"
	    "frontend add web --listener 127.0.0.1:5433 --sni db.example.com\n"
	    "frontend add db --listener 127.0.0.1:5433\n"
	    "frontend add web --listener 127.0.0.1:5432 --sni db.example.com\n",
	    "tcp state prints");
	ok(state_checked(&st, "tcp state") && st.listeners[0].nfrontends == 3
	    && kk_state_cluster(&st, "db")->nfrontends == 1, "indexes and counts hold");
	ok(st.listeners[0].proto == KK_PROTO_TCP && st.listeners[2].proto == KK_PROTO_HTTP
	    && kk_state_cluster(&st, "db")->send_proxy == KK_SEND_PROXY_V1
	    && kk_state_cluster(&st, "web")->send_proxy == KK_SEND_PROXY_NONE,
	    "kinds and send-proxy kept");
	/* Slot 0 is the removed route; slot 1 the default one. */
	st.frontends[1].proto = KK_PROTO_HTTP;
	ok(!kk_state_check(&st, err, sizeof err) && strstr(err, "frontend slot 1: its match "
	    "does not suit its tcp listener 127.0.0.1:5432"), "the checker finds a wrong kind");
	printf("#   %s\n", err);
	st.frontends[1].proto = KK_PROTO_TCP;
	free(p);
	kk_state_free(&st);
}

static const char rich_conf[] =
	"# a rich config: comments, blank lines, quoting, CRLF\r\n"
	"\n"
	"set workers 4\n"
	"set drain-timeout 2m\n"
	"set allowed-uids 1000,0\n"
	"set command-socket \"/run/kakehi dir/control\"\n"
	"   set buffer-size 32768   # trailing comment\n"
	"listener add http 127.0.0.1:8080 --front-timeout 60s --request-timeout 1500ms\r\n"
	"listener add http [::1]:8443 --public-address 192.0.2.10:443 --connect-timeout 1m "
	    "--back-timeout 45 --expect-proxy --tunnel-timeout 2h --h2-window 16384 --no-h2c "
	    "--max-body 1000000 --max-uri 0 --max-headers 50 --max-request-head 8192\n"
	"listener add tcp 127.0.0.1:5432 --expect-proxy --front-timeout 10m\n"
	"cluster add app\n"
	"cluster add api.v2 --h2 --lb least-connections\n"
	"cluster add rnd --lb round-robin --queue-timeout 2500ms --queue 0\n"
	"cluster add pg --send-proxy v2 --lb random --fail-5xx --max-fails 1\n"
	"cluster health-check pg --fall 2 --expect 200-299 --path /health --interval 2s\n"
	"frontend add app --listener 127.0.0.1:8080\n"
	"frontend add api.v2 --method POST --listener 127.0.0.1:8080 --host *.Example.com "
	    "--path '/a;path/with'\\''quote'\n"
	"frontend add app --listener [::1]:8443 --path-exact \"/#x\\$\" --host a-b.example\n"
	"frontend add pg --sni '*.DB.example' --listener 127.0.0.1:5432\n"
	"frontend add pg --listener 127.0.0.1:5432\n"
	"frontend add app --query v=2 --header 'X-B~^a b' --listener 127.0.0.1:8080 "
	    "--host Example.ORG. --path-regex '^/v[0-9]+/ x' --cookie s --header x-a "
	    "--query v=2 --header=--odd\n"
	"backend add app b1 10.0.0.1:80\n"
	"backend add app b2 10.0.0.2:80 --weight 0 --backup\n"
	"backend add api.v2 x_1 [2001:db8::1]:8080 --weight 100\n"
	"backend add pg p1 10.0.0.9:5432 --slow-start 90000ms\n"
	"backend add rnd r 10.0.0.3:81 --max-connections 50 --weight 7";	/* no final newline */

static const char rich_canonical[] =
	"# kakehi state\n"
	"set workers 4\n"
	"set command-socket '/run/kakehi dir/control'\n"
	"set allowed-uids 0,1000\n"
	"set buffer-size 32768\n"
	"set drain-timeout 120s\n"
	"listener add http 127.0.0.1:8080 --request-timeout 1500ms\n"
	"listener add http '[::1]:8443' --public-address 192.0.2.10:443 --back-timeout 45s "
	    "--connect-timeout 60s --tunnel-timeout 7200s --expect-proxy --no-h2c "
	    "--h2-window 16384 --max-request-head 8192 --max-headers 50 --max-body 1000000\n"
	"listener add tcp 127.0.0.1:5432 --front-timeout 600s --expect-proxy\n"
	"cluster add app\n"
	"cluster add api.v2 --lb least-connections --h2\n"
	"cluster add rnd --queue 0 --queue-timeout 2500ms\n"
	"cluster add pg --lb random --send-proxy v2 --max-fails 1 --fail-5xx\n"
	"cluster health-check pg --path /health --fall 2 --expect 200-299\n"
	"frontend add app --listener 127.0.0.1:8080\n"
	"frontend add api.v2 --listener 127.0.0.1:8080 --host *.example.com "
	    "--path '/a;path/with'\\''quote' --method POST\n"
	"frontend add app --listener '[::1]:8443' --host a-b.example --path-exact '/#x$'\n"
	"frontend add pg --listener 127.0.0.1:5432 --sni *.db.example\n"
	"frontend add pg --listener 127.0.0.1:5432\n"
	"frontend add app --listener 127.0.0.1:8080 --host example.org "
	    "--path-regex '^/v[0-9]+/ x' --header=--odd --header x-a --header 'x-b~^a b' "
	    "--cookie s --query v=2\n"
	"backend add app b1 10.0.0.1:80\n"
	"backend add app b2 10.0.0.2:80 --weight 0 --backup\n"
	"backend add api.v2 x_1 '[2001:db8::1]:8080'\n"
	"backend add rnd r 10.0.0.3:81 --weight 7 --max-connections 50\n"
	"backend add pg p1 10.0.0.9:5432 --slow-start 90s\n";

/* --service: each word kept in the print; refused on tcp listeners and
 * for a word that names no service. */
static void
test_service(void)
{
	static const struct { const char *conf; enum kk_service svc; } cases[] = {
		{ "listener add http 127.0.0.1:9100 --service prometheus\n",
		    KK_SERVICE_PROMETHEUS },
		{ "listener add http 127.0.0.1:9102 --service stats\n", KK_SERVICE_STATS },
	};
	kk_state a, b;
	char err[KK_ERRLEN] = "";
	char *p;
	unsigned i;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kk_state_init(&a);
		ok(load(&a, cases[i].conf, err), "a --service %s listener loads (%s)",
		    kk_service_name(cases[i].svc), err);
		is_int(a.listeners[0].service, cases[i].svc, "its service is %s",
		    kk_service_name(cases[i].svc));
		p = printed(&a);
		ok(p && strstr(p, cases[i].conf), "printed back as it was");
		free(p);
		kk_state_free(&a);
	}
	kk_state_init(&b);
	ok(!load(&b, "listener add tcp 127.0.0.1:9101 --service prometheus\n", err),
	    "--service on a tcp listener is refused");
	ok(strstr(err, "--service needs an http or https listener") != 0, "and says why (%s)",
	    err);
	kk_state_free(&b);
	kk_state_init(&b);
	ok(!load(&b, "listener add http 127.0.0.1:9103 --service graphs\n", err),
	    "an unknown service is refused");
	kk_state_free(&b);
}

static void
test_round_trip(void)
{
	kk_state a, b;
	char err[KK_ERRLEN] = "";
	char *p1, *p2;
	kk_state_init(&a);
	kk_state_init(&b);
	ok(load(&a, rich_conf, err), "rich config loads (%.300s)", err);
	p1 = printed(&a);
	ok(p1 && load(&b, p1, err), "its print loads (%s)", err);
	p2 = printed(&b);
	ok(p1 && p2 && !strcmp(p1, p2), "load, print, load, print is byte-identical");
	/* The exact canonical form; quoting depends on kk_str_catword, so
	 * compare modulo nothing: this is the file format. */
	is_str(p1, rich_canonical, "canonical print");
	kk_state_free(&b);
	kk_state_init(&b);
	ok(kk_state_copy(&b, &a), "copy");
	char *p3 = printed(&b);
	ok(p3 && !strcmp(p1, p3), "copy prints the same");
	accept_line(&b, "backend remove rnd r");
	char *p4 = printed(&a);
	ok(!strcmp(p1, p4), "changing the copy leaves the original");
	free(p1);
	free(p2);
	free(p3);
	free(p4);
	kk_state_free(&a);
	kk_state_free(&b);
}

struct load_case {
	const char *text;
	const char *want;
};

static const struct load_case load_errors[] = {
	{ "cluster add a\ncluster add b\ncluster add a\n",
	    "test.conf:3: cluster add: cluster \"a\" already exists" },
	{ "cluster add a\r\n\r\n# c\r\nbackend add b x 1.2.3.4:5\r\n",
	    "test.conf:4: backend add: cluster \"b\" does not exist" },
	{ "cluster add a\nstatus\n", "test.conf:2: status: a runtime command, not allowed" },
	{ "state save /tmp/x\n", "test.conf:1: state save: a runtime command" },
	{ "cluster add 'a\n", "test.conf:1: unterminated single quote" },
	{ "\n\ncluster ad a\n", "test.conf:3: cluster: unknown action \"ad\"" },
	{ "set workers 4\nset workers 0", "test.conf:2: set: workers: \"0\" is not a number" },
	{ "cluster add a\ncluster add b\0\n", "test.conf:2: NUL byte" },
	{ "listener add https 127.0.0.1:8443\ncertificate add 127.0.0.1:8443 --cert-data QUJD "
	    "--key-data QUJD\n", "test.conf:2: certificate add: listener 127.0.0.1:8443: the "
	    "certificate is not a PEM certificate" },
	{ "certificate remove 127.0.0.1:8080 " "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\n", "test.conf:1: certificate remove: listener "
	    "127.0.0.1:8080 is a plain http listener; certificates go on https listeners" },
	{ "listener add tcp 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1 "
	    "--host x\n", "test.conf:3: frontend add: listener 127.0.0.1:1 is a tcp listener" },
};

static void
test_load_errors(void)
{
	kk_state st;
	char err[KK_ERRLEN];
	kk_state_init(&st);
	ok(load(&st, base_conf, err), "base loads");
	char *before = printed(&st);
	for (size_t i = 0; i < sizeof load_errors / sizeof *load_errors; i++) {
		const char *t = load_errors[i].text;
		/* The NUL case needs its real length. */
		size_t len = strlen(t);
		if (strstr(load_errors[i].want, "NUL")) len += 2;
		err[0] = 0;
		int r = kk_state_load_text(&st, t, len, "test.conf", err, sizeof err);
		char *after = printed(&st);
		ok(!r && strstr(err, load_errors[i].want) == err && !strcmp(before, after),
		    "batch refused with file:line, state unchanged: %s", load_errors[i].want);
		if (r || strstr(err, load_errors[i].want) != err) printf("#   got: '%s'\n", err);
		free(after);
	}
	/* A scratch load reads a batch alone (from empty), with the same
	 * validator: each case's own error, or none when the case only
	 * conflicts with the base. */
	for (size_t i = 0; i < sizeof load_errors / sizeof *load_errors; i++) {
		const char *t = load_errors[i].text;
		size_t len = strlen(t);
		char err2[KK_ERRLEN] = "";
		kk_state a, b;
		int ra, rb;
		if (strstr(load_errors[i].want, "NUL")) len += 2;
		kk_state_init(&a);
		ra = kk_state_load_text(&a, t, len, "test.conf", err, sizeof err);
		rb = kk_state_load_scratch(&b, t, len, "test.conf", err2, sizeof err2);
		ok(ra == rb && (ra || !strcmp(err, err2)) && !b.nclusters && !b.arena == !rb,
		    "scratch load agrees with a load: %s", ra ? "accepted" : err2);
		kk_state_free(&a);
		kk_state_free(&b);
	}
	/* A batch that would be fine on its own but conflicts half-way. */
	ok(!load(&st, "cluster add new\nbackend add new n 1.1.1.1:1\ncluster add app\n", err)
	    && strstr(err, "test.conf:3:"), "partial batch refused");
	ok(!kk_state_cluster(&st, "new"), "nothing of a refused batch is kept");
	/* A batch may remove and add. */
	ok(load(&st, "backend remove app b1\nbackend add app b1 10.0.0.5:80 --weight 5\n", err),
	    "remove and add in one batch");
	ok(kk_state_backend(&st, "app", "b1") && kk_state_backend(&st, "app", "b1")->weight == 5,
	    "backend replaced");
	ok(load(&st, "", err) && load(&st, "\n\n# only comments\n", err), "empty batches");
	free(before);
	kk_state_free(&st);

	kk_state_init(&st);
	ok(!kk_state_load_file(&st, "/nonexistent/kakehi.conf", err, sizeof err)
	    && strstr(err, "unable to open /nonexistent/kakehi.conf: "), "missing file: %s", err);
	ok(!kk_state_load_file(&st, "/", err, sizeof err) && strstr(err, "directory"),
	    "directory refused");
	ok(!kk_state_load_file_scratch(&st, "/nonexistent/kakehi.conf", err, sizeof err)
	    && strstr(err, "unable to open /nonexistent/kakehi.conf: ") && !st.arena,
	    "scratch: missing file, and the state is left empty");
	kk_state_free(&st);
}

/* A scratch state loaded again holds only the new batch, as a fresh
 * load of it does, in the memory of the last one; a refused batch leaves
 * it empty, still reusable. */
static void
test_scratch_reuse(const char *batch)
{
	static const char other[] =
		"listener add http 127.0.0.1:8090\ncluster add z\nbackend add z z1 10.0.0.7:80\n"
		"frontend add z --listener 127.0.0.1:8090 --host z.example\n";
	static const char refused[] = "cluster add y\nbackend add nope n 1.1.1.1:1\n";
	kk_state a, b;
	char err[KK_ERRLEN], *pa = 0, *pb = 0;
	const void *backends, *arena;
	int same;
	kk_state_init(&a);
	kk_state_init(&b);
	ok(load(&a, other, err), "a second batch loads");
	ok(kk_state_reuse_scratch(&b, batch, strlen(batch), "one", err, sizeof err) && b.arena,
	    "reuse of an empty state gives a scratch state");
	backends = b.backends;
	arena = b.arena;
	ok(kk_state_reuse_scratch(&b, other, strlen(other), "two", err, sizeof err)
	    && (pa = printed(&a)) && (pb = printed(&b)) && !strcmp(pa, pb)
	    && state_checked(&b, "reused"), "loaded again, it holds the new batch alone");
	ok(b.backends == backends && b.arena == arena, "in the same arrays and arena");
	free(pb);
	pb = 0;
	ok(!kk_state_reuse_scratch(&b, refused, strlen(refused), "bad", err, sizeof err)
	    && strstr(err, "bad:2: ") && !b.nclusters && !b.nbackends && b.arena == arena,
	    "a refused batch: the error, and the state empty");
	same = kk_state_reuse_file_scratch(&b, "/nonexistent/k.conf", err, sizeof err);
	ok(!same && strstr(err, "unable to open") && !b.nclusters && b.arena == arena,
	    "an unreadable file: the error, and the state empty");
	ok(kk_state_reuse_scratch(&b, other, strlen(other), "three", err, sizeof err)
	    && (pb = printed(&b)) && !strcmp(pa, pb), "and it loads the next batch whole");
	free(pa);
	free(pb);
	kk_state_free(&b);
	/* From an ordinary state with objects: they are dropped first. */
	ok(kk_state_reuse_scratch(&a, batch, strlen(batch), "four", err, sizeof err)
	    && a.arena && !kk_state_cluster(&a, "z") && kk_state_cluster(&a, "a"),
	    "reuse of an ordinary state drops its objects");
	kk_state_free(&a);
}

/* A scratch state holds what a load holds, whatever the batch does:
 * removals (whose strings stay in the arena), re-adds under a removed
 * key, settings, every kind of object; it prints, checks, copies and
 * frees like any state (ASan would catch a free of arena memory). */
static void
test_scratch(void)
{
	static const char batch[] =
		"set workers 3\nlistener add http 127.0.0.1:8080\n"
		"listener add tcp 127.0.0.1:9000\n"
		"listener add http 127.0.0.1:8081\nlistener remove 127.0.0.1:8081\n"
		"cluster add a --lb random\ncluster add b\ncluster add gone\ncluster remove gone\n"
		"frontend add a --listener 127.0.0.1:8080 --host A.example --path /x\n"
		"frontend add b --listener 127.0.0.1:9000 --sni Db.example\n"
		"frontend add b --listener 127.0.0.1:8080 --host old.example\n"
		"frontend remove b --listener 127.0.0.1:8080 --host old.example\n"
		"backend add a a1 10.0.0.1:80 --weight 5\nbackend add b b1 [::1]:81 --backup\n"
		"backend add a a2 127.0.0.1:0080\nbackend remove a a1\n"
		"backend add a a1 10.0.0.9:80\ncluster add gone --lb least-connections\n";
	kk_state a, b, c;
	char err[KK_ERRLEN], *pa, *pb, *pc = 0;
	kk_state_init(&a);
	ok(load(&a, batch, err), "the batch loads");
	ok(kk_state_load_scratch(&b, batch, strlen(batch), "test.conf", err, sizeof err)
	    && b.arena, "and loads into a scratch state");
	pa = printed(&a);
	pb = printed(&b);
	ok(pa && pb && !strcmp(pa, pb), "both print the same bytes");
	ok(state_checked(&b, "scratch"), "the scratch state's indexes and counts check");
	ok(kk_state_copy(&c, &b) && !c.arena && (pc = printed(&c)) && !strcmp(pc, pa),
	    "a copy of it is an ordinary state, the same");
	free(pc);
	kk_state_free(&c);
	ok(load(&b, "backend remove a a2\nbackend add a a3 10.0.0.3:80\n", err)
	    && (pc = printed(&b)) && strstr(pc, "a3") && !strstr(pc, "a2"),
	    "a later batch on it gives an ordinary state, changed");
	free(pc);
	free(pa);
	free(pb);
	kk_state_free(&a);
	kk_state_free(&b);
	ok(!b.arena && !b.nclusters, "free leaves it empty");
	test_scratch_reuse(batch);
}

/* A load sizes its arrays from the batch with room to spare: sized
 * exactly, the first change after a load of 100 000 sites regrew (and
 * copied) every array, 100 ms for one backend add. */
static void
test_load_room(void)
{
	kk_str text = KK_STR_ZERO;
	kk_state st;
	char err[KK_ERRLEN];
	const void *cl, *fr, *be;
	kk_state_init(&st);
	kk_str_cats(&text, "listener add http 127.0.0.1:8000\n");
	for (unsigned i = 0; i < 1000; i++)
		kk_str_catf(&text, "cluster add s%u\nbackend add s%u b 127.0.0.1:9000\n"
		    "frontend add s%u --listener 127.0.0.1:8000 --host s%u.example\n", i, i, i, i);
	ok(load(&st, text.s, err) && st.nbackends == 1000, "1000 sites load");
	ok(load(&st, "cluster add n\nbackend add n b 127.0.0.1:1\n"
	    "frontend add n --listener 127.0.0.1:8000 --host n.example\n", err)
	    && st.nbackends == 1001, "then one site more");
	ok(st.aclusters >= 1250 && st.afrontends >= 1250 && st.abackends >= 1250,
	    "a load leaves a quarter of room in each array (%zu, %zu, %zu)", st.aclusters,
	    st.afrontends, st.abackends);
	kk_state_free(&st);
	kk_state_init(&st);
	ok(load(&st, text.s, err), "loaded again");
	cl = st.clusters;
	fr = st.frontends;
	be = st.backends;
	accept_line(&st, "cluster add m");
	accept_line(&st, "backend add m b 127.0.0.1:1");
	accept_line(&st, "frontend add m --listener 127.0.0.1:8000 --host m.example");
	ok(st.clusters == cl && st.frontends == fr && st.backends == be,
	    "the first changes after a load take no regrowth of an array");
	kk_str_free(&text);
	kk_state_free(&st);
}

/* Pairs of states; the diff from the first to the second, applied to
 * the first, must print exactly as the second. */
static const char *const diff_pairs[][2] = {
	{ "", "" },
	{ "", "set workers 3\nlistener add http 127.0.0.1:1\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1\nbackend add c b 1.1.1.1:1\n" },
	{ "set workers 3\nset command-socket /x\nset allowed-uids 5\nlistener add http 127.0.0.1:1\n"
	    "cluster add c\nfrontend add c --listener 127.0.0.1:1\nbackend add c b 1.1.1.1:1\n", "" },
	/* A changed cluster takes its frontends and backends with it. */
	{ "listener add http 127.0.0.1:1\ncluster add c\ncluster add d\n"
	    "frontend add c --listener 127.0.0.1:1 --host a\nbackend add c b 1.1.1.1:1\n"
	    "backend add d e 1.1.1.2:1\n",
	  "listener add http 127.0.0.1:1\ncluster add c --lb random\ncluster add d\n"
	    "frontend add c --listener 127.0.0.1:1 --host a\nbackend add c b 1.1.1.1:1\n"
	    "backend add d e 1.1.1.2:1\n" },
	/* A changed listener takes its frontends with it. */
	{ "listener add http 127.0.0.1:1\nlistener add http 127.0.0.1:2\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1\nfrontend add c --listener 127.0.0.1:2\n",
	  "listener add http 127.0.0.1:1 --front-timeout 5s\nlistener add http 127.0.0.1:2\n"
	    "cluster add c\nfrontend add c --listener 127.0.0.1:1\n"
	    "frontend add c --listener 127.0.0.1:2\n" },
	/* Reordered backends, a changed weight, one gone, one new. */
	{ "cluster add c\nbackend add c b1 1.1.1.1:1\nbackend add c b2 1.1.1.2:1\n"
	    "backend add c b3 1.1.1.3:1\nbackend add c b4 1.1.1.4:1\n",
	  "cluster add c\nbackend add c b1 1.1.1.1:1\nbackend add c b3 1.1.1.3:1\n"
	    "backend add c b2 1.1.1.2:1 --weight 3\nbackend add c b5 1.1.1.5:1\n" },
	/* Changed header edits: the frontend is removed, then added. */
	{ "listener add http 127.0.0.1:1\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1 --request-header-add X-A=1\n",
	  "listener add http 127.0.0.1:1\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1 --request-header-add X-A=1 "
	    "--response-header-delete Server\n" },
	{ base_conf, rich_conf },
	{ rich_conf, base_conf },
	/* A tcp listener's routes go to another cluster: removed, then added. */
	{ "listener add tcp 127.0.0.1:1\ncluster add a\ncluster add b\n"
	    "frontend add a --listener 127.0.0.1:1\n"
	    "frontend add a --listener 127.0.0.1:1 --sni x\n"
	    "frontend add b --listener 127.0.0.1:1 --sni y\n",
	  "listener add tcp 127.0.0.1:1\ncluster add a\ncluster add b\n"
	    "frontend add b --listener 127.0.0.1:1\n"
	    "frontend add a --listener 127.0.0.1:1 --sni x\n"
	    "frontend add a --listener 127.0.0.1:1 --sni y\n" },
	/* A listener changes kind, with its frontends. */
	{ "listener add http 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1 "
	    "--host x\nfrontend add c --listener 127.0.0.1:1\n",
	  "listener add tcp 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1 "
	    "--sni x\nfrontend add c --listener 127.0.0.1:1\n" },
	/* The new options alone make a change. */
	{ "listener add http 127.0.0.1:1\nlistener add tcp 127.0.0.1:2\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1\nfrontend add c --listener 127.0.0.1:2\n",
	  "listener add http 127.0.0.1:1 --tunnel-timeout 5s\nlistener add tcp 127.0.0.1:2 "
	    "--expect-proxy\ncluster add c --send-proxy v1\n"
	    "frontend add c --listener 127.0.0.1:1\nfrontend add c --listener 127.0.0.1:2\n" },
	/* An extra match alone makes another frontend; a regex another path. */
	{ "listener add http 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1 "
	    "--header a\nfrontend add c --listener 127.0.0.1:1 --path-regex ^/x\n",
	  "listener add http 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1 "
	    "--header a=1\nfrontend add c --listener 127.0.0.1:1 --path /x\n" },
	/* A listener's request limit alone makes a change. */
	{ "listener add http 127.0.0.1:1\ncluster add c\nfrontend add c --listener 127.0.0.1:1\n",
	  "listener add http 127.0.0.1:1 --max-body 10\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1\n" },
	/* --h2 alone makes a change: the backends are other bends. */
	{ "cluster add c\nbackend add c b 1.1.1.1:1\n",
	  "cluster add c --h2\nbackend add c b 1.1.1.1:1\n" },
};

static void
test_diff(void)
{
	for (size_t i = 0; i < sizeof diff_pairs / sizeof *diff_pairs; i++) {
		kk_state a, b;
		kk_str d = KK_STR_ZERO;
		char err[KK_ERRLEN] = "";
		kk_state_init(&a);
		kk_state_init(&b);
		int r = load(&a, diff_pairs[i][0], err) && load(&b, diff_pairs[i][1], err)
		    && kk_state_diff(&a, &b, &d);
		ok(r, "pair %zu loads and diffs (%s)", i, err);
		r = r && load(&a, d.s ? d.s : "", err);
		ok(r, "pair %zu: diff applies (%s)", i, err);
		char *pa = printed(&a), *pb = printed(&b);
		ok(r && !strcmp(pa, pb), "pair %zu: diff applied to A prints as B", i);
		if (!r || strcmp(pa, pb))
			printf("# diff:\n%s# got:\n%s# want:\n%s", d.s ? d.s : "", pa, pb);
		kk_str_reset(&d);
		ok(kk_state_diff(&b, &b, &d) && !d.len, "pair %zu: B to B is empty", i);
		free(pa);
		free(pb);
		kk_str_free(&d);
		kk_state_free(&a);
		kk_state_free(&b);
	}
	/* The order of the lines: removals users first, then set, then adds. */
	kk_state a, b;
	kk_str d = KK_STR_ZERO;
	char err[KK_ERRLEN];
	kk_state_init(&a);
	kk_state_init(&b);
	load(&a, diff_pairs[2][0], err);
	load(&b, "set workers 5\ncluster add n\n", err);
	kk_state_diff(&a, &b, &d);
	is_str(d.s, "frontend remove c --listener 127.0.0.1:1\nbackend remove c b\n"
	    "cluster remove c\nlistener remove 127.0.0.1:1\nset workers 5\n"
	    "set command-socket default\nset allowed-uids none\ncluster add n\n",
	    "diff lines in dependency order");
	kk_str_free(&d);
	kk_state_free(&a);
	kk_state_free(&b);
}

/* Header edits print back in the order given, names as given, and a
 * value that starts like an option after '='; the print loads back. */
static void
test_actions(void)
{
	char err[KK_ERRLEN], *p1, *p2;
	kk_state st, again;
	kk_state_init(&st);
	kk_state_init(&again);
	ok(load(&st, "listener add http 127.0.0.1:1\ncluster add c\n"
	    "frontend add c --listener 127.0.0.1:1 --response-header-delete Server "
	    "--request-header-set 'X-B=b  c' --request-header-add X-A=1 "
	    "--request-header-delete x-a --request-header-add=--x=--y "
	    "--response-header-add X-E=\n"
	    "frontend add c --listener 127.0.0.1:1 --path /a --deny 451\n"
	    "frontend add c --listener 127.0.0.1:1 --path /r --location=${scheme}://a${path} "
	    "--redirect 307\n"
	    "frontend add c --listener 127.0.0.1:1 --path /p --rewrite-path-prefix /p:1/=/q:2=/\n",
	    err),
	    "edits load (%.200s)", err);
	p1 = printed(&st);
	ok(p1 && strstr(p1, "frontend add c --listener 127.0.0.1:1 --response-header-delete "
	    "Server --request-header-set 'X-B=b  c' --request-header-add X-A=1 "
	    "--request-header-delete x-a --request-header-add=--x=--y --response-header-add "
	    "X-E=\n"), "printed in their order (%s)", p1 ? p1 : "");
	ok(p1 && strstr(p1, "frontend add c --listener 127.0.0.1:1 --path /a --deny 451\n"),
	    "--deny printed");
	ok(p1 && strstr(p1, "frontend add c --listener 127.0.0.1:1 --path /r --redirect 307 "
	    "--location '${scheme}://a${path}'\n"), "--redirect printed, --location after it");
	ok(p1 && strstr(p1, "--path /p --rewrite-path-prefix /p:1/=/q:2=/\n"),
	    "a path rewrite with ':' and '=' printed as given");
	ok(p1 && load(&again, p1, err), "the print loads (%.200s)", err);
	p2 = printed(&again);
	ok(p1 && p2 && !strcmp(p1, p2), "and prints the same");
	accept_line(&st, "frontend remove c --listener 127.0.0.1:1");
	accept_line(&st, "frontend remove c --listener 127.0.0.1:1 --path /a");
	accept_line(&st, "frontend remove c --listener 127.0.0.1:1 --path /r");
	accept_line(&st, "frontend remove c --listener 127.0.0.1:1 --path /p");
	free(p1);
	free(p2);
	kk_state_free(&st);
	kk_state_free(&again);
}

static void
test_save(void)
{
	char dir[] = "/tmp/kk-state-test.XXXXXX", path[256], err[KK_ERRLEN];
	kk_state st;
	kk_str want = KK_STR_ZERO, got = KK_STR_ZERO;
	kk_state_init(&st);
	ok(load(&st, rich_conf, err), "rich loads");
	ok(mkdtemp(dir) != 0, "temporary directory");
	snprintf(path, sizeof path, "%s/kakehi.state", dir);
	ok(kk_state_save_file(&st, path, err, sizeof err), "save (%.200s)", err);
	ok(kk_state_save_file(&st, path, err, sizeof err), "save again over it");
	kk_state_print(&st, &want);
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;
	while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) kk_str_catb(&got, buf, n);
	if (f) fclose(f);
	is_str(got.s, want.s, "file content is the canonical print");
	struct stat sb;
	ok(!stat(path, &sb) && (sb.st_mode & 0777) == (0644 & ~umask(022)), "mode 0644");
	DIR *dh = opendir(dir);
	struct dirent *de;
	int others = 0;
	while (dh && (de = readdir(dh)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")
		    && strcmp(de->d_name, "kakehi.state"))
			others++;
	if (dh) closedir(dh);
	is_int(others, 0, "no temporary file left");
	kk_state loaded;
	kk_state_init(&loaded);
	ok(kk_state_load_file(&loaded, path, err, sizeof err), "saved file loads");
	kk_str_reset(&got);
	kk_state_print(&loaded, &got);
	is_str(got.s, want.s, "saved file loads to the same state");
	kk_state_free(&loaded);
	unlink(path);

	char bad[300];
	snprintf(bad, sizeof bad, "%s/missing/kakehi.state", dir);
	ok(!kk_state_save_file(&st, bad, err, sizeof err) && strstr(err, bad) && strstr(err,
	    "No such file"), "save into a missing directory names the path: %.200s", err);
	rmdir(dir);
	kk_str_free(&want);
	kk_str_free(&got);
	kk_state_free(&st);
}

/* Balanced braces and brackets outside strings, strings closed. */
static int
json_plausible(const char *s)
{
	int depth = 0, in = 0;
	for (; *s; s++) {
		if (in) {
			if (*s == '\\') s++;
			else if (*s == '"') in = 0;
			else if ((unsigned char)*s < 0x20) return 0;
			continue;
		}
		if (*s == '"') in = 1;
		else if (*s == '{' || *s == '[') depth++;
		else if (*s == '}' || *s == ']') {
			if (--depth < 0) return 0;
		}
	}
	return !depth && !in;
}

static void
test_json_list(void)
{
	kk_state st;
	kk_str out = KK_STR_ZERO;
	char err[KK_ERRLEN];
	kk_state_init(&st);
	ok(load(&st, rich_conf, err), "rich loads");
	ok(kk_state_print_json(&st, &out), "json");
	ok(json_plausible(out.s), "json is balanced");
	ok(strstr(out.s, "{\"settings\":{\"workers\":4,") == out.s, "json starts with settings");
	ok(strstr(out.s, "\"listeners\":[{\"address\":\"127.0.0.1:8080\"") && strstr(out.s,
	    "\"id\":\"api.v2\",\"lb\":\"least-connections\"") && strstr(out.s, "\"x_1\"")
	    && strstr(out.s, "\"path\":\"/a;path/with'quote\"") && strstr(out.s,
	    "\"allowed-uids\":[0,1000]") && strstr(out.s, "\"backup\":true"),
	    "json carries the objects");
	ok(strstr(out.s, "\"path-match\":\"regex\",\"path\":\"^/v[0-9]+/ x\",\"method\":null,"
	    "\"matches\":[{\"kind\":\"header\",\"name\":\"--odd\",\"op\":\"present\"},"
	    "{\"kind\":\"header\",\"name\":\"x-a\",\"op\":\"present\"},"
	    "{\"kind\":\"header\",\"name\":\"x-b\",\"op\":\"regex\",\"value\":\"^a b\"},"
	    "{\"kind\":\"cookie\",\"name\":\"s\",\"op\":\"present\"},"
	    "{\"kind\":\"query\",\"name\":\"v\",\"op\":\"equal\",\"value\":\"2\"}],"
	    "\"sni\":null") != 0, "json: a regex path and the extra matches, in order");
	kk_str_reset(&out);
	kk_state empty;
	kk_state_init(&empty);
	ok(kk_state_print_json(&empty, &out) && json_plausible(out.s)
	    && strstr(out.s, "\"listeners\":[],\"clusters\":[],\"frontends\":[],\"backends\":[],"
	    "\"certificates\":[]}"),
	    "empty state json");
	kk_state_free(&empty);

	static const struct {
		const char *line;
		int json;
		const char *want;
	} lists[] = {
		{ "cluster list", 0, "cluster add app\ncluster add api.v2 --lb least-connections --h2\n"
		    "cluster add rnd --queue 0 --queue-timeout 2500ms\n"
		    "cluster add pg --lb random --send-proxy v2 --max-fails 1 --fail-5xx\n"
		    "cluster health-check pg --path /health --fall 2 --expect 200-299\n" },
		{ "frontend list pg", 0, "frontend add pg --listener 127.0.0.1:5432 --sni "
		    "*.db.example\nfrontend add pg --listener 127.0.0.1:5432\n" },
		{ "frontend list pg", 1, "[{\"cluster\":\"pg\",\"listener\":\"127.0.0.1:5432\","
		    "\"host\":null,\"path-match\":\"any\",\"path\":null,\"method\":null,"
		    "\"sni\":\"*.db.example\"},{\"cluster\":\"pg\","
		    "\"listener\":\"127.0.0.1:5432\","
		    "\"host\":null,\"path-match\":\"any\",\"path\":null,\"method\":null,"
		    "\"sni\":null}]" },
		{ "backend list app", 0, "backend add app b1 10.0.0.1:80\n"
		    "backend add app b2 10.0.0.2:80 --weight 0 --backup\n" },
		{ "backend list rnd", 1, "[{\"cluster\":\"rnd\",\"id\":\"r\",\"address\":"
		    "\"10.0.0.3:81\",\"weight\":7,\"backup\":false,\"max-connections\":50}]" },
		{ "frontend list app", 1, 0 },
		{ "frontend list rnd", 1, "[]" },
		{ "frontend list rnd", 0, "" },
		{ "listener list", 0, "listener add http 127.0.0.1:8080 --request-timeout 1500ms\n"
		    "listener add http '[::1]:8443' --public-address 192.0.2.10:443 "
		    "--back-timeout 45s --connect-timeout 60s --tunnel-timeout 7200s "
		    "--expect-proxy --no-h2c --h2-window 16384 --max-request-head 8192 "
		    "--max-headers 50 --max-body 1000000\n"
		    "listener add tcp 127.0.0.1:5432 --front-timeout 600s --expect-proxy\n" },
		{ "listener list", 1, "[{\"address\":\"127.0.0.1:8080\",\"protocol\":\"http\","
		    "\"public-address\":null,\"front-timeout\":60000,\"request-timeout\":1500,"
		    "\"back-timeout\":30000,\"connect-timeout\":3000,\"tunnel-timeout\":3600000,"
		    "\"expect-proxy\":false,\"h2c\":true,\"h2-max-streams\":100,"
		    "\"h2-window\":65535,\"h2-max-frame\":16384,\"h2-max-header-list\":65536,"
		    "\"h2-max-resets\":200,\"h2-max-settings\":50,\"h2-max-pings\":50,\"h2-max-priority\":500,"
		    "\"h2-max-window-updates\":1000,\"h2-max-empty-data\":100,\"h2-max-continuations\":16,"
		    "\"max-request-head\":0,\"max-headers\":0,\"max-uri\":0,\"max-body\":0,"
		    "\"forward\":[\"xff\",\"xfp\",\"xfport\"],\"request-id\":null},"
		    "{\"address\":\"[::1]:8443\",\"protocol\":\"http\","
		    "\"public-address\":\"192.0.2.10:443\",\"front-timeout\":60000,"
		    "\"request-timeout\":10000,\"back-timeout\":45000,\"connect-timeout\":60000,"
		    "\"tunnel-timeout\":7200000,\"expect-proxy\":true,\"h2c\":false,"
		    "\"h2-max-streams\":100,\"h2-window\":16384,\"h2-max-frame\":16384,"
		    "\"h2-max-header-list\":65536,"
		    "\"h2-max-resets\":200,\"h2-max-settings\":50,\"h2-max-pings\":50,\"h2-max-priority\":500,"
		    "\"h2-max-window-updates\":1000,\"h2-max-empty-data\":100,\"h2-max-continuations\":16,"
		    "\"max-request-head\":8192,\"max-headers\":50,"
		    "\"max-uri\":0,\"max-body\":1000000,"
		    "\"forward\":[\"xff\",\"xfp\",\"xfport\"],\"request-id\":null},{\"address\":"
		    "\"127.0.0.1:5432\",\"protocol\":\"tcp\",\"public-address\":null,"
		    "\"front-timeout\":600000,\"connect-timeout\":3000,\"expect-proxy\":true}]" },
		{ "cluster list", 1, "[{\"id\":\"app\",\"lb\":\"round-robin\","
		    "\"send-proxy\":null,\"queue\":128},"
		    "{\"id\":\"api.v2\",\"lb\":\"least-connections\",\"send-proxy\":null,"
		    "\"h2\":true,\"queue\":128},"
		    "{\"id\":\"rnd\",\"lb\":\"round-robin\",\"send-proxy\":null,\"queue\":0,"
		    "\"queue-timeout\":2500},"
		    "{\"id\":\"pg\",\"lb\":\"random\",\"send-proxy\":\"v2\",\"queue\":128,"
		    "\"max-fails\":1,\"fail-5xx\":true,\"health-check\":{\"path\":\"/health\","
		    "\"host\":null,\"interval\":2000,\"timeout\":1000,\"rise\":2,\"fall\":2,"
		    "\"expect-min\":200,\"expect-max\":299}}]" },
	};
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
		char buf[128], *argv[8];
		unsigned argc;
		kk_verb v;
		snprintf(buf, sizeof buf, "%s", lists[i].line);
		kk_line_split(buf, argv, 8, &argc, err, sizeof err);
		kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err);
		kk_str_reset(&out);
		ok(kk_state_list(&st, &v, lists[i].json, &out, err, sizeof err), "%s", lists[i].line);
		if (lists[i].want)
			is_str(out.len ? out.s : "", lists[i].want, "%s%s output", lists[i].line,
			    lists[i].json ? " --json" : "");
		else
			ok(json_plausible(out.s) && strstr(out.s, "\"path-match\":\"exact\"")
			    && !strstr(out.s, "api.v2"), "frontend list app json: %s", out.s);
	}
	char buf[] = "backend list nope", *argv[4];
	unsigned argc;
	kk_verb v;
	kk_line_split(buf, argv, 4, &argc, err, sizeof err);
	kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err);
	ok(!kk_state_list(&st, &v, 0, &out, err, sizeof err)
	    && strstr(err, "backend list: cluster \"nope\" does not exist"), "list unknown cluster");
	char buf2[] = "status";
	kk_line_split(buf2, argv, 4, &argc, err, sizeof err);
	kk_verb_parse(&v, argc, (const char *const *)argv, err, sizeof err);
	ok(!kk_state_list(&st, &v, 0, &out, err, sizeof err), "status is not a list verb");
	kk_str_free(&out);
	kk_state_free(&st);
}

/* Every config verb of the table goes through parse, apply, print and
 * back: the printed line of each object parses to the same object. */
static void
test_every_config_verb(void)
{
	static const char *const lines[] = {
		"set workers 9", "set command-socket /a", "set allowed-uids 7",
		"set max-connections 5", "set buffer-size 2048", "set backlog 10",
		"set worker-timeout 2s", "set drain-timeout 3600s",
		"listener add http 127.0.0.1:7 --public-address 192.0.2.1:9 --front-timeout 1s "
		    "--request-timeout 2s --back-timeout 3s --connect-timeout 4s "
		    "--tunnel-timeout 5s --expect-proxy --no-h2c --h2-max-streams 2 --h2-window 3 "
		    "--h2-max-frame 20000 --h2-max-header-list 4096 --h2-max-resets 10 "
		    "--h2-max-settings 11 --h2-max-pings 12 --h2-max-priority 13 "
		    "--h2-max-window-updates 14 --h2-max-empty-data 15 --h2-max-continuations 17 "
		    "--max-request-head 4096 --max-headers 20 --max-uri 1024 --max-body 65536",
		"listener add tcp 127.0.0.1:9 --public-address 192.0.2.1:10 --front-timeout 6s "
		    "--connect-timeout 7s --expect-proxy",
		"cluster add c --lb random",
		"cluster add d --lb least-connections --send-proxy v1",
		"cluster add e --lb hash --hash-key header:x-user --sticky --sticky-cookie SRV",
		"cluster add f --lb p2c --sticky",
		"cluster add g --lb hash --hash-key cookie:Session",
		"cluster add h --lb hash --hash-key path",
		"frontend add c --listener 127.0.0.1:7 --host h.example --path-exact /p --method PUT",
		"frontend add d --listener 127.0.0.1:9 --sni *.h.example",
		"frontend add c --listener 127.0.0.1:9",
		"backend add c b 127.0.0.1:8 --weight 2 --backup",
	};
	kk_state st;
	char err[KK_ERRLEN];
	kk_state_init(&st);
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		kk_state one, two;
		char *p1, *p2;
		kk_state_copy(&one, &st);
		accept_line(&st, lines[i]);
		p1 = printed(&st);
		kk_state_init(&two);
		ok(load(&two, p1, err), "printed state loads after %s", lines[i]);
		p2 = printed(&two);
		ok(!strcmp(p1, p2) && strstr(p1, lines[i]), "%s prints as itself", lines[i]);
		free(p1);
		free(p2);
		kk_state_free(&one);
		kk_state_free(&two);
	}
	kk_state_free(&st);
}

/* The model of a random run: every object ever added, in insertion
 * order, with its canonical add line and its identity as small numbers;
 * pools are small so that removals and conflicts are frequent. */
enum { M_LISTENER, M_CLUSTER, M_FRONTEND, M_BACKEND, M_KINDS };

struct mobj {
	int kind, live;
	int a, b, c, d;		/* listener: a; cluster: a; frontend: a=cluster b=listener
				 * c=host d=path; backend: a=cluster b=id */
	char line[200];
};

struct model {
	struct mobj *o;
	size_t n, cap;
};

static struct mobj *
model_find(struct model *m, int kind, int a, int b, int c, int d)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mobj *x = &m->o[i];
		if (!x->live || x->kind != kind || x->a != a) continue;
		if (kind == M_FRONTEND && (x->b != b || x->c != c || x->d != d)) continue;
		if (kind == M_BACKEND && x->b != b) continue;
		return x;
	}
	return 0;
}

static int
model_used(struct model *m, int kind, int a)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mobj *x = &m->o[i];
		if (!x->live) continue;
		if (kind == M_LISTENER && x->kind == M_FRONTEND && x->b == a) return 1;
		if (kind == M_CLUSTER && (x->kind == M_FRONTEND || x->kind == M_BACKEND)
		    && x->a == a)
			return 1;
	}
	return 0;
}

static void
model_add(struct model *m, int kind, int a, int b, int c, int d, const char *line)
{
	struct mobj *x;
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->o = realloc(m->o, m->cap * sizeof *m->o);
	}
	x = &m->o[m->n++];
	x->kind = kind;
	x->live = 1;
	x->a = a, x->b = b, x->c = c, x->d = d;
	snprintf(x->line, sizeof x->line, "%s", line);
}

/* What kk_state_print must print for the model. */
static char *
model_text(const struct model *m)
{
	kk_str out = KK_STR_ZERO;
	kk_str_cats(&out, "# kakehi state\n");
	for (int kind = 0; kind < M_BACKEND; kind++)
		for (size_t i = 0; i < m->n; i++)
			if (m->o[i].live && m->o[i].kind == kind) {
				kk_str_cats(&out, m->o[i].line);
				kk_str_cats(&out, "\n");
			}
	/* Backends print grouped by cluster, clusters in their order. */
	for (size_t c = 0; c < m->n; c++) {
		if (!m->o[c].live || m->o[c].kind != M_CLUSTER) continue;
		for (size_t i = 0; i < m->n; i++)
			if (m->o[i].live && m->o[i].kind == M_BACKEND && m->o[i].a == m->o[c].a) {
				kk_str_cats(&out, m->o[i].line);
				kk_str_cats(&out, "\n");
			}
	}
	return out.s;
}

/* Listener 3 of the random runs is a tcp listener; the others are http. */
#define M_TCP 3
/* tcp routes added by the random runs, to show they are exercised. */
static unsigned tcp_routes;

/* The tcp frontend routing name c on listener b, whatever its cluster:
 * the identity of a tcp frontend (state.h). */
static struct mobj *
model_route(struct model *m, int b, int c)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mobj *x = &m->o[i];
		if (x->live && x->kind == M_FRONTEND && x->b == b && x->c == c) return x;
	}
	return 0;
}

/* Frontend c (0: no name) on listener b: a --sni on the tcp listener, a
 * --host on the others, except c 4, an --sni there too (refused). Path d
 * 1 on the tcp listener is refused; d 2 there means no path. */
static void
frontend_words(char *buf, size_t len, const char *action, int a, int b, int c, int d)
{
	static const char *const paths[] = { "", " --path /a", " --path-exact /b" };
	char host[32] = "";
	int tcp = b == M_TCP;
	if (c) snprintf(host, sizeof host, " --%s h%d.example", tcp || c == 4 ? "sni" : "host", c);
	snprintf(buf, len, "frontend %s c%d --listener 127.0.0.1:%d%s%s", action, a, 8000 + b,
	    host, tcp && d == 2 ? "" : paths[d]);
}

/* One random verb applied to st; the model says whether it must be
 * accepted, and follows it. 1 when state and model agree. */
static int
random_step(kk_state *st, struct model *m)
{
	char line[200], err[KK_ERRLEN] = "";
	int a = rand() % 4, b = rand() % 4, c = rand() % 5, d = rand() % 3;
	int want, got, op = rand() % 8, kind = op / 2, add = !(op % 2);
	struct mobj *x;
	char *before = 0, *after;
	switch (kind) {
	case M_LISTENER:
		snprintf(line, sizeof line, "listener %s %s127.0.0.1:%d%s", add ? "add" : "remove",
		    !add ? "" : a == M_TCP ? "tcp " : "http ", 8000 + a,
		    add && c == 1 ? " --expect-proxy" : add && c == 2 && a != M_TCP
		    ? " --tunnel-timeout 90s" : "");
		x = model_find(m, kind, a, 0, 0, 0);
		want = add ? !x : x && !model_used(m, kind, a);
		break;
	case M_CLUSTER:
		a = rand() % 8;
		snprintf(line, sizeof line, "cluster %s c%d%s", add ? "add" : "remove", a,
		    add && a % 3 == 0 ? " --lb random"
		    : add && a % 4 == 1 ? " --send-proxy v2" : "");
		x = model_find(m, kind, a, 0, 0, 0);
		want = add ? !x : x && !model_used(m, kind, a);
		break;
	case M_FRONTEND:
		a = rand() % 8;
		frontend_words(line, sizeof line, add ? "add" : "remove", a, b, c, d);
		if (b == M_TCP) {
			x = model_route(m, b, c);
			if (d == 1) want = 0;
			else if (add) want = !x && model_find(m, M_CLUSTER, a, 0, 0, 0)
			    && model_find(m, M_LISTENER, b, 0, 0, 0);
			else want = x && x->a == a;
			break;
		}
		x = model_find(m, kind, a, b, c, d);
		want = c == 4 ? 0 : add ? !x && model_find(m, M_CLUSTER, a, 0, 0, 0)
		    && model_find(m, M_LISTENER, b, 0, 0, 0) : !!x;
		break;
	default:
		a = rand() % 8;
		b = rand() % 6;
		if (add)
			snprintf(line, sizeof line, "backend add c%d b%d 127.0.0.1:%d%s", a, b,
			    9000 + rand() % 50, c == 1 ? " --weight 7" : "");
		else
			snprintf(line, sizeof line, "backend remove c%d b%d", a, b);
		x = model_find(m, kind, a, b, 0, 0);
		want = add ? !x && model_find(m, M_CLUSTER, a, 0, 0, 0) : !!x;
		break;
	}
	if (!want) before = printed(st);
	got = apply_line(st, line, err, sizeof err);
	if (got != want) {
		printf("#   %s: %s, the model says %s (%s)\n", line, got ? "accepted" : "refused",
		    want ? "accept" : "refuse", err);
		free(before);
		return 0;
	}
	if (!want) {
		/* A refusal changes nothing. */
		after = printed(st);
		got = !strcmp(before, after);
		if (!got) printf("#   refused %s but the state changed\n", line);
		free(before);
		free(after);
		return got;
	}
	if (!add) {
		x->live = 0;
		return 1;
	}
	/* The canonical add line: the one applied, in canonical form. */
	if (kind == M_FRONTEND) frontend_words(line, sizeof line, "add", a, b, c, d);
	if (kind == M_FRONTEND && b == M_TCP) tcp_routes++;
	model_add(m, kind, a, b, c, d, line);
	return 1;
}

/* Prints text as TAP diagnostics, one "#" line per line. */
static void
diag_text(const char *title, const char *text)
{
	printf("#   %s\n", title);
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int n = nl ? (int)(nl - text) : (int)strlen(text);
		printf("#     %.*s\n", n, text);
		text += n + !!nl;
	}
}

static int
state_checked(const kk_state *st, const char *what)
{
	char err[KK_ERRLEN];
	if (kk_state_check(st, err, sizeof err)) return 1;
	printf("#   %s: %s\n", what, err);
	return 0;
}

/* steps random verbs from the current rand() stream applied to st, as
 * the model says; 1 when all agreed and the indexes held after each. */
static int
random_run(kk_state *st, struct model *m, unsigned steps)
{
	for (unsigned i = 0; i < steps; i++)
		if (!random_step(st, m) || !state_checked(st, "after a random verb")) return 0;
	return 1;
}

static void
test_random_runs(void)
{
	unsigned seed, agreed = 0, printed_ok = 0, reload_ok = 0;
	for (seed = 1; seed <= 60; seed++) {
		struct model m = { 0, 0, 0 };
		kk_state st, again;
		char err[KK_ERRLEN], *want, *got, *got2;
		srand(seed);
		kk_state_init(&st);
		kk_state_init(&again);
		if (random_run(&st, &m, 600)) agreed++;
		else printf("#   seed %u\n", seed);
		want = model_text(&m);
		got = printed(&st);
		if (!strcmp(want, got)) printed_ok++;
		else {
			printf("#   seed %u\n", seed);
			diag_text("prints:", got);
			diag_text("the model holds:", want);
		}
		/* print, load, print: the same bytes, a dense state, good indexes. */
		if (load(&again, got, err) && (got2 = printed(&again))) {
			if (!strcmp(got, got2) && again.dclusters + again.dfrontends
			    + again.dbackends == 0 && state_checked(&again, "loaded"))
				reload_ok++;
			free(got2);
		}
		free(want);
		free(got);
		free(m.o);
		kk_state_free(&st);
		kk_state_free(&again);
	}
	ok(agreed == 60, "60 seeded runs of 600 verbs: each accepted or refused as the model "
	    "says, indexes and counts checked after each (%u agreed)", agreed);
	ok(printed_ok == 60, "each run prints what the model holds, in insertion order, "
	    "backends by cluster");
	ok(reload_ok == 60, "print, load, print is byte-identical and the load is dense");
	ok(tcp_routes > 100, "the runs route a tcp listener too (%u routes added)", tcp_routes);
}

/* Applies diff(from, to) to a copy of from, as a worker applies a batch,
 * and compares the prints. */
static int
diff_reaches(const kk_state *from, const kk_state *to, unsigned seed, const char *what)
{
	kk_str diff = KK_STR_ZERO;
	kk_state st;
	char err[KK_ERRLEN], *want = printed(to), *got = 0;
	int r = 0;
	if (!kk_state_copy(&st, from)) return 0;
	if (!kk_state_diff(from, to, &diff)) goto end;
	if (!load(&st, diff.s ? diff.s : "", err)) {
		printf("#   seed %u %s: the diff does not apply: %s\n", seed, what, err);
		goto end;
	}
	got = printed(&st);
	r = !strcmp(got, want) && state_checked(&st, "after a diff");
	if (!r) {
		printf("#   seed %u %s\n", seed, what);
		diag_text("the diff:", diff.s);
		diag_text("reaches:", got);
		diag_text("instead of:", want);
	}
end:
	kk_str_free(&diff);
	free(want);
	free(got);
	kk_state_free(&st);
	return r;
}

/* A reload diffs against its file loaded into a scratch state: the diff
 * from `from` to printed(to) so loaded is the diff to `to` itself. */
static int
scratch_diff_same(const kk_state *from, const kk_state *to, unsigned seed)
{
	kk_str d1 = KK_STR_ZERO, d2 = KK_STR_ZERO;
	char err[KK_ERRLEN], *text = printed(to);
	kk_state s;
	int r = text && kk_state_load_scratch(&s, text, strlen(text), "saved", err, sizeof err);
	if (r) {
		r = kk_state_diff(from, to, &d1) && kk_state_diff(from, &s, &d2)
		    && d1.len == d2.len && (!d1.len || !memcmp(d1.s, d2.s, d1.len))
		    && diff_reaches(from, &s, seed, "to a scratch state");
		kk_state_free(&s);
	}
	if (!r) printf("#   seed %u: the diff to a scratch load differs\n", seed);
	kk_str_free(&d1);
	kk_str_free(&d2);
	free(text);
	return r;
}

static void
test_random_diffs(void)
{
	unsigned seed, good = 0, same = 0;
	for (seed = 100; seed < 160; seed++) {
		struct model m1 = { 0, 0, 0 }, m3 = { 0, 0, 0 };
		kk_state a, b, c;
		kk_str d = KK_STR_ZERO;
		srand(seed);
		kk_state_init(&a);
		kk_state_init(&c);
		/* a; b is a after more changes (much in common); c unrelated.
		 * None is compacted, so the diff meets removed slots. */
		random_run(&a, &m1, 400);
		kk_state_copy(&b, &a);
		for (unsigned i = 0; i < 60; i++) random_step(&b, &m1);
		random_run(&c, &m3, 300);
		if (diff_reaches(&a, &b, seed, "a to b") && diff_reaches(&b, &a, seed, "b to a")
		    && diff_reaches(&a, &c, seed, "a to c") && diff_reaches(&c, &b, seed, "c to b")
		    && scratch_diff_same(&a, &b, seed) && scratch_diff_same(&b, &c, seed))
			good++;
		if (kk_state_diff(&a, &a, &d) && d.len == 0) same++;
		kk_str_free(&d);
		free(m1.o);
		free(m3.o);
		kk_state_free(&a);
		kk_state_free(&b);
		kk_state_free(&c);
	}
	ok(good == 60, "60 seeds: diffs between related and unrelated random states, applied "
	    "as a batch, print as their target, and diffs to their scratch loads are the same "
	    "(%u good)", good);
	ok(same == 60, "the diff of a state with itself is empty");
}

/* A reload that changes the first sites touches only them: backends
 * are kept per cluster, so later sites' backends stay where they are. */
static void
test_diff_per_cluster(void)
{
	kk_str a_text = KK_STR_ZERO, b_text = KK_STR_ZERO, d = KK_STR_ZERO;
	kk_state a, b;
	char err[KK_ERRLEN];
	unsigned i, lines = 0;
	kk_str_cats(&a_text, "listener add http 127.0.0.1:8080\n");
	kk_str_cats(&b_text, "listener add http 127.0.0.1:8080\n");
	for (i = 0; i < 50; i++) {
		kk_str_catf(&a_text, "cluster add s%u\nbackend add s%u b0 127.0.0.1:9\n"
		    "frontend add s%u --listener 127.0.0.1:8080 --host s%u.example\n", i, i, i, i);
		kk_str_catf(&b_text, "cluster add s%u\nbackend add s%u b0 127.0.0.1:%u\n"
		    "frontend add s%u --listener 127.0.0.1:8080 --host s%u.example\n", i, i,
		    i < 2 ? 13 : 9, i, i);
	}
	kk_state_init(&a);
	kk_state_init(&b);
	ok(load(&a, a_text.s, err) && load(&b, b_text.s, err), "50 sites, twice");
	ok(kk_state_diff(&a, &b, &d), "diffed");
	for (i = 0; i < d.len; i++)
		lines += d.s[i] == '\n';
	is_int(lines, 4, "changing the first 2 sites' backends: 2 removed, 2 added");
	if (lines != 4)
		printf("# diff:\n%s", d.s ? d.s : "");
	ok(diff_reaches(&a, &b, 0, "first sites"), "and the diff reaches the target");
	kk_state_free(&a);
	kk_state_free(&b);
	kk_str_free(&a_text);
	kk_str_free(&b_text);
	kk_str_free(&d);
}

/* Many removals squeeze the removed slots out; the survivors keep their
 * order and their index entries. */
static void
test_squeeze(void)
{
	kk_state st;
	kk_str text = KK_STR_ZERO;
	char err[KK_ERRLEN], line[128];
	unsigned i, bad = 0;
	kk_state_init(&st);
	kk_str_cats(&text, "listener add http 127.0.0.1:8000\n");
	for (i = 0; i < 2000; i++)
		kk_str_catf(&text, "cluster add s%u\nbackend add s%u b 127.0.0.1:9000\n"
		    "frontend add s%u --listener 127.0.0.1:8000 --host s%u.example\n", i, i, i, i);
	ok(load(&st, text.s, err) && st.nclusters == 2000 && state_checked(&st, "loaded"),
	    "2000 sites load");
	for (i = 0; i < 2000; i++) {
		if (i % 4 == 0) continue;
		snprintf(line, sizeof line, "frontend remove s%u --listener 127.0.0.1:8000 "
		    "--host s%u.example", i, i);
		if (!apply_line(&st, line, err, sizeof err)) bad++;
		snprintf(line, sizeof line, "backend remove s%u b", i);
		if (!apply_line(&st, line, err, sizeof err)) bad++;
		snprintf(line, sizeof line, "cluster remove s%u", i);
		if (!apply_line(&st, line, err, sizeof err)) bad++;
	}
	ok(!bad && state_checked(&st, "after removals"), "1500 sites removed one by one");
	ok(st.nclusters - st.dclusters == 500 && st.dclusters * 2 <= st.nclusters
	    && st.dfrontends * 2 <= st.nfrontends && st.dbackends * 2 <= st.nbackends,
	    "removed slots never outnumber live ones (%zu slots, %zu removed)", st.nclusters,
	    st.dclusters);
	for (i = 0; i < 2000; i += 4) {
		kk_cluster *c;
		snprintf(line, sizeof line, "s%u", i);
		c = kk_state_cluster(&st, line);
		if (!c || !kk_state_backend(&st, line, "b") || c->nbackends != 1
		    || c->nfrontends != 1)
			bad++;
	}
	ok(!bad, "every survivor is found, with its counts");
	bad = 0;
	for (i = 0, text.len = 0; i < st.nclusters; i++)
		if (st.clusters[i].id) {
			unsigned want = (unsigned)(text.len++) * 4;
			snprintf(line, sizeof line, "s%u", want);
			if (strcmp(st.clusters[i].id, line)) bad++;
		}
	ok(!bad && text.len == 500, "survivors keep their order");
	ok(kk_state_compact(&st) && st.nclusters == 500 && !st.dclusters && !st.dbackends
	    && !st.dfrontends && state_checked(&st, "compacted"), "compact makes the state dense");
	/* A broken count is what the checker is for. */
	st.clusters[3].nbackends++;
	ok(!kk_state_check(&st, err, sizeof err) && strstr(err, "cluster \"s12\": counts"),
	    "the checker finds a wrong count");
	printf("#   %s\n", err);
	st.clusters[3].nbackends--;
	kk_str_free(&text);
	kk_state_free(&st);
}

/* A journal over random changes: undo gives back the state as it was,
 * byte for byte, with good indexes; commit keeps what the model says;
 * either way the state goes on agreeing with the model afterwards. */
static void
test_random_journals(void)
{
	unsigned seed, undone = 0, committed = 0, after = 0, refused_clean = 0;
	for (seed = 200; seed < 260; seed++) {
		struct model m = { 0, 0, 0 }, saved;
		kk_journal j = KK_JOURNAL_ZERO;
		kk_state st;
		char *before, *now, *want;
		int undo = seed % 2, good = 1;
		srand(seed);
		kk_state_init(&st);
		random_run(&st, &m, 300);
		before = printed(&st);
		saved = m;
		saved.o = malloc((m.cap + 1) * sizeof *m.o);
		memcpy(saved.o, m.o, m.n * sizeof *m.o);
		journal = &j;
		for (unsigned i = 0; good && i < 150; i++) {
			size_t n = j.n;
			char *p0 = printed(&st), *p1;
			int r = random_step(&st, &m);
			p1 = printed(&st);
			/* A refused verb records nothing. */
			if (!strcmp(p0, p1) && j.n == n) refused_clean++;
			good = r && state_checked(&st, "under a journal");
			free(p0);
			free(p1);
		}
		journal = 0;
		if (undo) {
			kk_journal_undo(&st, &j);
			now = printed(&st);
			if (good && !strcmp(now, before) && state_checked(&st, "undone") && !st.journals)
				undone++;
			else printf("#   seed %u: undo does not give back the state\n", seed);
			free(m.o);
			m = saved;
		} else {
			kk_journal_commit(&st, &j);
			now = printed(&st);
			want = model_text(&m);
			if (good && !strcmp(now, want) && state_checked(&st, "committed")
			    && !st.journals)
				committed++;
			else printf("#   seed %u: the committed state is not the model's\n", seed);
			free(want);
			free(saved.o);
		}
		free(now);
		/* The state goes on like any other. */
		if (random_run(&st, &m, 100)) {
			now = printed(&st);
			want = model_text(&m);
			if (!strcmp(now, want)) after++;
			free(now);
			free(want);
		}
		ok(!j.n && !j.e, "seed %u: the journal is empty afterwards", seed);
		free(before);
		free(m.o);
		kk_state_free(&st);
	}
	ok(undone == 30, "30 seeds: undo of 150 journaled random verbs gives back the state "
	    "byte for byte, indexes and counts checked (%u)", undone);
	ok(committed == 30, "30 seeds: commit keeps the changes the model holds (%u)", committed);
	ok(after == 60, "after undo or commit the state goes on agreeing with the model (%u)",
	    after);
	ok(refused_clean > 0, "refused verbs under a journal change nothing (%u seen)",
	    refused_clean);
}

/* The diff's way of changing an object, remove then add again, under a
 * journal, and a setting. */
static void
test_journal_readd(void)
{
	kk_journal j = KK_JOURNAL_ZERO;
	kk_state st;
	char err[KK_ERRLEN], *before, *p;
	static const char *const lines[] = {
		"set workers 3",
		"frontend remove api --listener 127.0.0.1:8080 --host example.com --path /api",
		"backend remove api a1",
		"cluster remove api",
		"cluster add api",
		"backend add api a1 10.0.0.3:80",
		"frontend add api --listener 127.0.0.1:8080 --host example.com --path /api",
		"listener add http 127.0.0.1:8081",
	};
	kk_state_init(&st);
	ok(load(&st, base_conf, err), "base config loads");
	before = printed(&st);
	journal = &j;
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) accept_line(&st, lines[i]);
	journal = 0;
	p = printed(&st);
	ok(strstr(p, "set workers 3\n") && strstr(p, "cluster add api\n")
	    && strstr(p, "backend add api a1 10.0.0.3:80\n") && state_checked(&st, "journaled"),
	    "changes apply under the journal");
	free(p);
	kk_journal_undo(&st, &j);
	p = printed(&st);
	is_str(p, before, "undo restores the settings, the old cluster and its users in place");
	ok(state_checked(&st, "undone") && kk_state_cluster(&st, "api")->lb == KK_LB_RANDOM
	    && kk_state_backend(&st, "api", "a1") && !kk_state_listener(&st, "127.0.0.1:8081"),
	    "the old objects are found again, the added ones are gone");
	free(p);
	journal = &j;
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) accept_line(&st, lines[i]);
	journal = 0;
	kk_journal_commit(&st, &j);
	p = printed(&st);
	ok(strstr(p, "cluster add api\n") && !strstr(p, "--lb random") && st.set.workers == 3
	    && state_checked(&st, "committed"), "commit keeps the new objects");
	free(p);
	free(before);
	kk_state_free(&st);
}

/* The load's fast paths (a listener named as printed, an IPv4 backend
 * already canonical) give what the slow ones give for other spellings. */
static void
test_canonical_spellings(void)
{
	static const char conf[] =
		"listener add http 127.0.0.1:8080\ncluster add c\n"
		"frontend add c --listener 127.0.0.1:08080 --host a.test\n"
		"frontend add c --listener 127.0.0.1:8080 --host b.test\n"
		"backend add c b1 127.0.0.1:0080\nbackend add c b2 10.0.0.1:80\n"
		"backend add c b3 [::1]:81\nbackend add c b4 0.0.0.0:1\n";
	static const char want[] =
		"listener add http 127.0.0.1:8080\ncluster add c\n"
		"frontend add c --listener 127.0.0.1:8080 --host a.test\n"
		"frontend add c --listener 127.0.0.1:8080 --host b.test\n"
		"backend add c b1 127.0.0.1:80\nbackend add c b2 10.0.0.1:80\n"
		"backend add c b3 '[::1]:81'\nbackend add c b4 0.0.0.0:1\n";
	kk_state st;
	char err[KK_ERRLEN];
	char *out;
	kk_state_init(&st);
	ok(load(&st, conf, err), "spellings load");
	out = printed(&st);
	ok(out && strstr(out, want), "each address printed in its canonical form");
	if (out && !strstr(out, want))
		printf("# got:\n%s", out);
	free(out);
	kk_state_free(&st);
}

/* A quick reload (kk_state_reuse_scratch of a text that only changes
 * backend lines in place) gives the state a full load of the text gives,
 * byte for byte, parsing only the changed lines; anything else goes
 * through the full load. Seeded random texts. */
struct qsite {
	char line[4][160];	/* cluster, frontend, backend, backend */
};

static void
quick_backend(char *line, size_t n, unsigned site, unsigned k, uint64_t r)
{
	static const char *const extra[] = { "", " --weight 7", " --backup", " --max-connections 9",
		" --slow-start 2s", " --weight 0 --backup" };
	if (r % 3 == 0)
		snprintf(line, n, "backend add q%u b%u [::1]:%u%s", site, k, 1000 + (unsigned)(r % 997),
		    extra[(r >> 8) % 6]);
	else
		snprintf(line, n, "backend add q%u b%u 10.%u.%u.%u:%u%s", site, k,
		    (unsigned)(r >> 16) & 255, site & 255, k, 80 + (unsigned)(r % 7),
		    extra[(r >> 8) % 6]);
}

static char *
quick_text(const struct qsite *q, unsigned n, const char *tail)
{
	kk_str t = KK_STR_ZERO;
	unsigned i, k;
	kk_str_cats(&t, "set workers 2\nlistener add http 127.0.0.1:8080\n");
	for (i = 0; i < n; i++)
		for (k = 0; k < 4; k++)
			kk_str_catf(&t, "%s\n", q[i].line[k]);
	kk_str_cats(&t, tail);
	return t.s;
}

static uint64_t qrng = 88172645463325252ull;
static uint64_t
qnext(void)
{
	qrng ^= qrng << 13;
	qrng ^= qrng >> 7;
	qrng ^= qrng << 17;
	return qrng;
}

/* Loads text into the reused scratch s and into a fresh state; both must
 * agree (or both refuse); returns the lines s parsed. */
static size_t
quick_load(kk_state *s, const char *text, int *same)
{
	char e1[KK_ERRLEN] = "", e2[KK_ERRLEN] = "", *p1 = 0, *p2 = 0;
	kk_state f;
	int r1 = kk_state_reuse_scratch(s, text, strlen(text), "q.conf", e1, sizeof e1);
	int r2 = kk_state_load_scratch(&f, text, strlen(text), "q.conf", e2, sizeof e2);
	*same = r1 == r2 && (r1 ? (p1 = printed(s)) && (p2 = printed(&f)) && !strcmp(p1, p2)
	    && state_checked(s, "quick") : !strcmp(e1, e2));
	if (!*same) printf("#   %s | %s\n", e1, e2);
	free(p1);
	free(p2);
	if (r2) kk_state_free(&f);
	return s->lines_parsed;
}

static void
test_quick_reload(void)
{
	enum { N = 300, ROUNDS = 60 };
	static struct qsite q[N];
	kk_state s;
	unsigned i, k, round, quick = 0, full = 0, agree = 0, wrong_path = 0;
	/* Every seventh site has an active check: its line is no change. */
	size_t lines = 2 + 4 * N + (N + 6) / 7;
	char *text;
	int same;
	for (i = 0; i < N; i++) {
		if (i % 7)
			snprintf(q[i].line[0], sizeof q[i].line[0], "cluster add q%u%s", i,
			    i % 5 ? "" : " --lb least-connections");
		else
			snprintf(q[i].line[0], sizeof q[i].line[0], "cluster add q%u%s\n"
			    "cluster health-check q%u --path /healthz", i,
			    i % 5 ? "" : " --lb least-connections", i);
		snprintf(q[i].line[1], sizeof q[i].line[1],
		    "frontend add q%u --listener 127.0.0.1:8080 --host q%u.example", i, i);
		for (k = 0; k < 2; k++)
			quick_backend(q[i].line[2 + k], sizeof q[i].line[2], i, k, qnext());
	}
	kk_state_init(&s);
	text = quick_text(q, N, "");
	ok(quick_load(&s, text, &same) == lines && same && s.loaded, "the first load is whole");
	free(text);
	for (round = 0; round < ROUNDS; round++) {
		unsigned kind = round % 6, changed = 1 + (unsigned)(qnext() % 40);
		const char *tail = "";
		size_t want;
		/* kinds 0-3: backend lines only, the quick path; 4: a frontend
		 * line too; 5: a line more at the end. Both then load whole. */
		for (i = 0; i < changed; i++) {
			unsigned site = (unsigned)(qnext() % N);
			quick_backend(q[site].line[2 + (i & 1)], sizeof q[site].line[2], site, i & 1,
			    qnext());
		}
		if (kind == 4)
			snprintf(q[round].line[1], sizeof q[round].line[1], "frontend add q%u --listener "
			    "127.0.0.1:8080 --host q%u.example --path /r%u", round, round, round);
		if (kind == 5)
			tail = "cluster add extra\n";
		text = quick_text(q, N, tail);
		want = kind < 4 ? 0 : lines + (kind == 5);
		{
			size_t got = quick_load(&s, text, &same);
			agree += same;
			if (kind < 4) {
				quick += got <= 2 * (size_t)changed;
				wrong_path += got > 2 * (size_t)changed;
			} else {
				full += got == want;
				wrong_path += got != want;
			}
		}
		free(text);
		/* Back to the texts without the round's extra line. */
		if (kind == 5) {
			text = quick_text(q, N, "");
			quick_load(&s, text, &same);
			agree += same;
			free(text);
		}
	}
	is_int(agree, ROUNDS + ROUNDS / 6, "every reload agrees with a full load of its text");
	is_int(wrong_path, 0, "backend changes parse only their lines, others load whole");
	ok(quick >= ROUNDS / 2 && full >= ROUNDS / 6, "both paths taken (%u quick, %u whole)",
	    quick, full);
	/* A changed backend line the full load refuses: its message, and the
	 * next load whole again. */
	snprintf(q[3].line[2], sizeof q[3].line[2], "backend add q3 b0 10.0.0.1");
	text = quick_text(q, N, "");
	quick_load(&s, text, &same);
	ok(same && !s.nclusters && !s.loaded, "a bad backend line: refused as a full load would");
	free(text);
	quick_backend(q[3].line[2], sizeof q[3].line[2], 3, 0, 1);
	text = quick_text(q, N, "");
	ok(quick_load(&s, text, &same) == lines && same, "and the next load is whole");
	free(text);
	/* A text that removes something is never replayed line by line. */
	text = quick_text(q, N, "backend remove q1 b1\nbackend add q1 b1 10.1.1.1:1\n");
	ok(quick_load(&s, text, &same) == lines + 2 && same && !s.loaded,
	    "a text with a removal is not kept for a quick reload");
	quick_backend(q[1].line[2], sizeof q[1].line[2], 1, 0, 2);
	free(text);
	text = quick_text(q, N, "backend remove q1 b1\nbackend add q1 b1 10.1.1.1:1\n");
	ok(quick_load(&s, text, &same) == lines + 2 && same, "so the next one loads whole");
	free(text);
	kk_state_free(&s);
}

/* kakehi-check probes in plain HTTP: a --tls cluster gets no active check. */
static void
test_check_tls(void)
{
	kk_state st;
	kk_state_init(&st);
	accept_line(&st, "cluster add sec --tls --no-verify");
	accept_line(&st, "cluster add app");
	refuse(&st, "cluster health-check sec --path /healthz",
	    "cluster \"sec\" speaks TLS to its backends (--tls) and kakehi-check probes in "
	    "plain HTTP only");
	accept_line(&st, "cluster health-check sec --off");
	accept_line(&st, "cluster health-check app --path /healthz");
	kk_state_free(&st);
}

int
main(void)
{
	test_apply();
	test_tcp();
	test_round_trip();
	test_service();
	test_check_tls();
	test_load_errors();
	test_scratch();
	test_quick_reload();
	test_load_room();
	test_diff();
	test_save();
	test_actions();
	test_json_list();
	test_every_config_verb();
	test_random_runs();
	test_random_diffs();
	test_diff_per_cluster();
	test_squeeze();
	test_random_journals();
	test_journal_readd();
	test_canonical_spellings();
	return done();
}
