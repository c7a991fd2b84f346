/* ISC license. */
/* Tests for src/libkakehi/verb.c: every verb parses, every error path of
 * the parser says what is wrong, the line splitter and the scanners. */

#include <stdlib.h>
#include <string.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "tap.h"

/* Lines that must parse, covering every verb of the table. */
static const char *const good[] = {
	"set workers 4",
	"set workers default",
	"set command-socket /run/kakehi/ctl",
	"set statsd 127.0.0.1:8125",
	"set statsd-prefix kakehi.edge",
	"set statsd-interval 10s",
	"set allowed-uids 0,1000",
	"set allowed-uids none",
	"set trusted-proxies 10.0.0.0/8,::1,192.168.1.7,2001:db8::/32",
	"set trusted-proxies none",
	"set max-connections 1000000",
	"set buffer-size 1024",
	"set backlog 65535",
	"set worker-timeout 1500ms",
	"set drain-timeout 2m",
	"set ping-timeout 1500ms",
	"set tls-ticket-rotation 12h",
	"set tls-ticket-rotation 2s",
	"listener add http 127.0.0.1:8080",
	"listener add http [::1]:8080 --public-address 192.0.2.1:80 --front-timeout 1m "
	    "--request-timeout 5s --back-timeout 1h --connect-timeout 250ms",
	"listener add http --front-timeout=90 127.0.0.1:8081",
	"listener add http 127.0.0.1:9100 --service prometheus",
	"listener add http 127.0.0.1:9101 --service stats",
	"listener add http 127.0.0.1:8082 --tunnel-timeout 2h --expect-proxy",
	"listener add http 127.0.0.1:8083 --max-request-head 8192 --max-headers 100 "
	    "--max-uri 2048 --max-body 4294967295",
	"listener add https 127.0.0.1:8084 --max-body 0 --max-headers 0",
	"listener add tcp 127.0.0.1:5432",
	"listener add http 127.0.0.1:8085 --forward xff,forwarded --request-id X-Request-Id",
	"listener add https 127.0.0.1:8086 --no-forward --request-id X-Trace-7",
	"listener add tcp [::1]:5433 --front-timeout 5m --connect-timeout 1s --expect-proxy "
	    "--public-address 192.0.2.1:5432",
	"listener add https 127.0.0.1:8443",
	"listener add http 127.0.0.1:80 --no-h2c --h2-max-streams 10 --h2-max-header-list 4096",
	"listener add https 127.0.0.1:8443 --tls-versions 1.3 --ciphers ECDHE+AESGCM:!aNULL "
	    "--groups X25519:P-256 --alpn h2,http/1.1 --handshake-timeout 5s --hsts 31536000 "
	    "--hsts-subdomains --hsts-preload --no-strict-sni --expect-proxy "
	    "--default-certificate 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"listener remove 127.0.0.1:8080",
	"listener list",
	"cluster add app",
	"cluster add app.v2_b-c --lb least-connections",
	"cluster add app --lb=random",
	"cluster add db --send-proxy v2",
	"cluster add db --send-proxy=v1 --lb least-connections",
	"cluster add app --lb p2c",
	"cluster add app --lb hash --hash-key header:X-User",
	"cluster add app --lb hash --hash-key cookie:session --sticky",
	"cluster add app --sticky --sticky-cookie SRV",
	"cluster add api --h2 --tls --no-verify",
	"cluster add app --https-redirect 301",
	"cluster add app --https-redirect 308 --https-port 8443",
	"cluster add app --tls",
	"cluster add app --tls --ca ca.crt --sni backend.test",
	"cluster add app --tls --ca-data QUJD --sni=Backend.Test",
	"cluster add app --tls --no-verify --sni backend.test",
	"cluster remove app",
	"cluster list",
	"frontend add app --listener 127.0.0.1:8080",
	"frontend add app --listener 127.0.0.1:8080 --host Example.COM --path /api --method GET",
	"frontend add --host *.example.com app --listener=127.0.0.1:8080 --path-exact /x",
	"frontend add app --listener 127.0.0.1:8080 --host Example.com.",
	"frontend add app --listener 127.0.0.1:8080 --path-regex '^/v[0-9]+/'",
	"frontend add app --listener 127.0.0.1:8080 --header X-Beta --header 'ua~(?i)curl' "
	    "--header x-a=1 --cookie s=abc --cookie t --query v=2 --query debug",
	"frontend remove app --listener 127.0.0.1:8080 --path-regex 'a b' --query x=",
	"frontend add app --listener 127.0.0.1:8080 --request-header-add X-A=1 "
	    "--request-header-set 'x-b=two  words' --request-header-delete X-C "
	    "--request-header-add X-A=2",
	"frontend add app --listener 127.0.0.1:8080 --response-header-add X-D= "
	    "--response-header-set X-E==e: --response-header-delete Server",
	"frontend add app --listener 127.0.0.1:8080 --path /admin --deny 403",
	"frontend add app --listener 127.0.0.1:8080 --path /a/ --rewrite-path-prefix /a/=/ "
	    "--rewrite-host b.test",
	"frontend add app --listener 127.0.0.1:8080 --rewrite-path-prefix /a:b/=/c:d/",
	"frontend add app --listener 127.0.0.1:8080 --redirect 308 "
	    "--location 'https://${host}:8443${path}${query}'",
	"frontend remove app --listener 127.0.0.1:8080 --host example.com",
	"frontend add db --listener 127.0.0.1:5432 --sni Db.Example.COM",
	"frontend add db --sni=*.example.com --listener 127.0.0.1:5432",
	"frontend remove db --listener 127.0.0.1:5432 --sni db.example.com",
	"frontend add app --listener 127.0.0.1:8443 --host a.test --hsts 600",
	"frontend list",
	"frontend list app",
	"certificate add 127.0.0.1:8443 --cert a.crt --key a.key",
	"certificate add 127.0.0.1:8443 --cert /etc/a.crt --key a.key --chain c.crt --ocsp a.der",
	"certificate add 127.0.0.1:8443 --cert-data QUJD --key-data QUJD --chain-data QQ== "
	    "--ocsp-data QUI=",
	"certificate replace 127.0.0.1:8443 --old 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --cert a.crt --key a.key",
	"certificate remove 127.0.0.1:8443 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"certificate remove 127.0.0.1:8443 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
	"certificate list",
	"certificate list 127.0.0.1:8443",
	"backend add app b1 10.0.0.1:80",
	"backend add app b2 [2001:db8::1]:8080 --weight 0 --backup",
	"backend add app b3 10.0.0.3:80 --backup --weight=1000",
	"backend add app b4 10.0.0.4:80 --max-connections 1000000",
	"backend add app b5 10.0.0.5:80 --slow-start 30s --max-connections 5",
	"cluster add q --queue 0 --queue-timeout 1500ms",
	"cluster add q --queue 100000 --queue-timeout 2s",
	"cluster add q --max-fails 0",
	"cluster health-check app --path /health",
	"cluster health-check app --path /h?x=1 --host x.example --interval 5s --timeout 500ms "
	    "--rise 1 --fall 5 --expect 200",
	"cluster health-check app --path / --expect 200-204",
	"cluster health-check app --off",
	"cluster add q --max-fails 1000 --fail-5xx",
	"backend remove app b1",
	"backend list",
	"backend list app",
	"status",
	"status --workers",
	"events",
	"state save /tmp/state",
	"state load 'a file'",
	"state dump",
	"reload",
	"reload /etc/kakehi/kakehi.conf",
	"shutdown",
	"shutdown --hard",
	"upgrade",
	"upgrade --binary /usr/local/bin/kakehi-supervisor --no-workers",
	"upgrade --no-workers --binary=new/kakehi-supervisor",
	"upgrade workers",
	"log reopen",
	"log level",
	"log level warning",
	"metrics",
	"metrics --prometheus --cluster app --backend b1",
};

struct bad {
	const char *line;
	const char *want;	/* a substring of the message */
};

static const struct bad bad[] = {
	{ "frobnicate", "unknown verb \"frobnicate\"; verbs are: set, listener, cluster" },
	{ "listener", "listener: missing action; use one of: add, remove, list" },
	{ "listener move 1.2.3.4:80", "unknown action \"move\"" },
	{ "set workers", "set: missing VALUE; usage: set KEY VALUE" },
	{ "set", "set: missing KEY" },
	{ "set workers 2 3", "unexpected argument \"3\"" },
	{ "set workers 0", "workers: \"0\" is not a number in 1..64" },
	{ "set workers 65", "1..64" },
	{ "set workers -1", "1..64" },
	{ "set workers 99999999999999999999999", "1..64" },
	{ "set threads 4", "unknown setting \"threads\"; settings are: workers, command-socket" },
	{ "set command-socket relative/path", "not an absolute path" },
	{ "set allowed-uids 1,,2", "not a comma-separated list" },
	{ "set allowed-uids root", "not a comma-separated list" },
	{ "set trusted-proxies 10.0.0.1/8", "trusted-proxies: \"10.0.0.1/8\" has bits set past "
	    "its /8 prefix; the network is 10.0.0.0/8" },
	{ "set trusted-proxies 10.0.0.0/33", "\"10.0.0.0/33\" is not an address prefix" },
	{ "set trusted-proxies 2001:db8::/129", "\"2001:db8::/129\" is not an address prefix" },
	{ "set trusted-proxies 10.0.0.0/8,,::1", "\"\" is not an address prefix" },
	{ "set trusted-proxies 10.0.0.0/8/8", "is not an address prefix" },
	{ "set trusted-proxies proxy.example", "is not an address prefix" },
	{ "listener add http 127.0.0.1:80 --forward xff,via", "--forward \"xff,via\": give a "
	    "','-separated list of xff, xfp, xfport, xfhost, forwarded" },
	{ "listener add http 127.0.0.1:80 --forward xff --no-forward",
	    "--forward and --no-forward contradict each other" },
	{ "listener add http 127.0.0.1:80 --request-id Host", "--request-id Host: the proxy "
	    "writes or acts on that field itself" },
	{ "listener add http 127.0.0.1:80 --request-id x-forwarded-for", "acts on that field" },
	{ "listener add http 127.0.0.1:80 --request-id X_Id", "'_' is not part of a field name" },
	{ "listener add tcp 127.0.0.1:5432 --forward xff", "--forward is for http listeners" },
	{ "listener add tcp 127.0.0.1:5432 --request-id X-Id", "--request-id is for http" },
	{ "set buffer-size 1023", "1024..1048576" },
	{ "set worker-timeout 5x", "not a duration" },
	{ "set drain-timeout 25h", "not a duration" },
	{ "set drain-timeout 0", "not a duration" },
	{ "set tls-ticket-rotation 999ms", "tls-ticket-rotation: \"999ms\" is not a duration "
	    "from 1s to 86400s" },
	{ "set tls-ticket-rotation 25h", "from 1s to 86400s" },
	{ "listener add http", "missing ADDR" },
	{ "listener add", "missing PROTO" },
	{ "listener add gopher 0.0.0.0:70", "unknown protocol \"gopher\"; use http, https or "
	    "tcp" },
	{ "listener add http 127.0.0.1:80 --alpn h2", "--alpn is for https listeners: a http "
	    "listener speaks plain HTTP" },
	{ "listener add tcp 127.0.0.1:80 --hsts 60", "--hsts is for https listeners: a tcp "
	    "listener passes TLS through whole" },
	{ "listener add http 127.0.0.1:80 --tls-versions 1.3", "--tls-versions is for https "
	    "listeners" },
	{ "listener add http 127.0.0.1:80 --client-auth optional", "--client-auth is for "
	    "https listeners" },
	{ "cluster add app --ca-data QUJD", "--ca-data qualifies TLS to the backends" },
	{ "listener add https 127.0.0.1:443 --no-h2c", "--no-h2c is for plain http "
	    "listeners: on https ALPN chooses HTTP/2; leave h2 out of --alpn" },
	{ "listener add https 127.0.0.1:443 --tls-versions 1.1", "--tls-versions \"1.1\" is not "
	    "one of: 1.2,1.3, 1.2, 1.3" },
	{ "listener add https 127.0.0.1:443 --ciphers 'A B'", "--ciphers \"A B\": ' ' is not "
	    "part of an OpenSSL list" },
	{ "listener add https 127.0.0.1:443 --groups X25519;P-256", "';' is not part" },
	{ "listener add https 127.0.0.1:443 --alpn h2,,http/1.1", "--alpn \"h2,,http/1.1\": give "
	    "protocol ids of 1 to 255 bytes" },
	{ "listener add https 127.0.0.1:443 --handshake-timeout 0", "is not a duration" },
	{ "listener add https 127.0.0.1:443 --hsts -1", "--hsts \"-1\" is not a number" },
	{ "listener add https 127.0.0.1:443 --hsts-preload", "--hsts-preload qualifies the HSTS "
	    "header: give --hsts SECONDS too" },
	{ "listener add https 127.0.0.1:443 --hsts 0 --hsts-subdomains", "--hsts-subdomains "
	    "qualifies" },
	{ "listener add https 127.0.0.1:443 --default-certificate abc", "--default-certificate "
	    "\"abc\" is not a fingerprint" },
	{ "cluster add app --https-port 8443", "--https-port is the port of the redirect: give "
	    "--https-redirect 301|308 too" },
	{ "cluster add app --https-redirect 302", "is not one of: 301, 308" },
	{ "cluster add app --hash-key path", "--hash-key says what --lb hash hashes: give "
	    "--lb hash too" },
	{ "cluster add app --lb hash --hash-key host", "--hash-key \"host\" is not one of: "
	    "source, path, header:NAME, cookie:NAME" },
	{ "cluster add app --lb hash --hash-key header:", "--hash-key \"header:\" is not one of" },
	{ "cluster add app --lb hash --hash-key 'cookie:a b'", "is not one of" },
	{ "cluster add app --sticky-cookie SRV", "--sticky-cookie names the cookie of --sticky: "
	    "give --sticky too" },
	{ "cluster add app --sticky --sticky-cookie 'a;b'", "--sticky-cookie \"a;b\" is not a "
	    "cookie name" },
	{ "cluster add app --sni backend.test", "--sni qualifies TLS to the backends: give "
	    "--tls too" },
	{ "cluster add app --no-verify", "--no-verify qualifies TLS to the backends" },
	{ "cluster add app --tls --ca a --ca-data QUJD", "give --ca FILE or --ca-data B64, "
	    "not both" },
	{ "cluster add app --tls --no-verify --ca a", "--no-verify checks no certificate" },
	{ "cluster add app --tls --sni *.test", "--sni \"*.test\" is a wildcard" },
	{ "cluster add app --tls --sni a:443", "give the host without a port" },
	{ "frontend add app --listener 127.0.0.1:443 --hsts 0", "--hsts \"0\" is not a number" },
	{ "frontend remove app --listener 127.0.0.1:443 --hsts 60", "unknown option \"--hsts\"" },
	{ "certificate add 127.0.0.1:443 --key a.key", "--cert FILE is required" },
	{ "certificate add 127.0.0.1:443 --cert a.crt", "--key FILE is required" },
	{ "certificate add 127.0.0.1:443 --cert a.crt --cert-data QUJD --key a.key",
	    "give --cert FILE or --cert-data B64, not both" },
	{ "certificate add 127.0.0.1:443 --cert a --key b --old 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "unknown option \"--old\"" },
	{ "certificate add localhost:443 --cert a --key b", "listener address \"localhost:443\" "
	    "is not an address" },
	{ "certificate add --cert a --key b", "missing LISTENER" },
	{ "certificate replace 127.0.0.1:443 --cert a --key b", "--old FINGERPRINT is required" },
	{ "certificate replace 127.0.0.1:443 --old 12 --cert a --key b", "--old \"12\" is not a "
	    "fingerprint" },
	{ "certificate remove 127.0.0.1:443", "missing FINGERPRINT" },
	{ "certificate remove 127.0.0.1:443 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", "is not a fingerprint" },
	{ "certificate remove 127.0.0.1:443 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", "is not a fingerprint" },
	{ "certificate list nowhere", "listener address \"nowhere\" is not an address" },
	{ "listener add tcp 127.0.0.1:5432 --request-timeout 1s",
	    "--request-timeout is for http listeners: a tcp listener reads no request; drop it" },
	{ "listener add tcp 127.0.0.1:5432 --back-timeout 1s",
	    "--back-timeout is for http listeners: a tcp connection is a tunnel, idle as a "
	    "whole: use --front-timeout" },
	{ "listener add tcp 127.0.0.1:5432 --tunnel-timeout 1h",
	    "--tunnel-timeout is for http listeners: on a tcp listener every connection is a "
	    "tunnel, and its idle timeout is --front-timeout" },
	{ "listener add tcp 127.0.0.1:5432 --no-h2c",
	    "--no-h2c is for http listeners: a tcp listener speaks no HTTP; drop it" },
	{ "listener add tcp 127.0.0.1:5432 --h2-window 100",
	    "--h2-window is for http listeners: a tcp listener speaks no HTTP/2; drop it" },
	{ "listener add http 127.0.0.1:80 --h2-max-frame 100", "--h2-max-frame \"100\" is not "
	    "a number in 16384..16777215" },
	{ "listener add http 127.0.0.1:80 --h2-max-streams 0", "--h2-max-streams \"0\" is not "
	    "a number in 1..1000" },
	{ "listener add tcp 127.0.0.1:5432 --max-body 1000",
	    "--max-body is for http listeners: a tcp listener reads no request; drop it" },
	{ "listener add tcp 127.0.0.1:5432 --max-headers 10",
	    "--max-headers is for http listeners: a tcp listener reads no request; drop it" },
	{ "listener add http 127.0.0.1:80 --max-headers 101", "--max-headers \"101\" is not "
	    "a number in 0..100" },
	{ "listener add http 127.0.0.1:80 --max-uri 16777217", "--max-uri \"16777217\" is not "
	    "a number in 0..16777216" },
	{ "listener add http 127.0.0.1:80 --max-request-head 2k", "--max-request-head \"2k\" is "
	    "not a number" },
	{ "listener add http 127.0.0.1:80 --max-body -1", "--max-body \"-1\" is not a number" },
	{ "listener add http 127.0.0.1:80 --h2-max-resets 0", "--h2-max-resets \"0\" is not "
	    "a number in 1..800" },
	{ "listener add http 127.0.0.1:80 --h2-max-resets 801", "--h2-max-resets \"801\" is not "
	    "a number in 1..800" },
	{ "listener add tcp 127.0.0.1:5432 --h2-max-resets 10",
	    "--h2-max-resets is for http listeners: a tcp listener speaks no HTTP/2; drop it" },
	{ "listener add http 127.0.0.1:80 --h2-max-settings 0", "--h2-max-settings \"0\" is "
	    "not a number in 1..60000" },
	{ "listener add http 127.0.0.1:80 --h2-max-continuations 1001",
	    "--h2-max-continuations \"1001\" is not a number in 1..1000" },
	{ "listener add tcp 127.0.0.1:5432 --h2-max-pings 10",
	    "--h2-max-pings is for http listeners: a tcp listener speaks no HTTP/2; drop it" },
	{ "listener add tcp 127.0.0.1:0", "is not an address" },
	{ "listener add http 127.0.0.1:80 --expect-proxy=yes", "--expect-proxy takes no value" },
	{ "listener add http 127.0.0.1:80 --tunnel-timeout 0", "--tunnel-timeout \"0\" is not a "
	    "duration" },
	{ "listener add http 127.0.0.1:80 --tunnel-timeout 25h", "is not a duration" },
	{ "listener add http localhost:80", "\"localhost:80\" is not an address" },
	{ "listener add http 127.0.0.1:0", "is not an address" },
	{ "listener add http 127.0.0.1:80 --bogus 1", "unknown option \"--bogus\"" },
	{ "listener add http 127.0.0.1:80 --bogus=1", "unknown option \"--bogus\"" },
	{ "listener add http 127.0.0.1:80 --front-timeout", "--front-timeout needs a value" },
	{ "listener add http 127.0.0.1:80 --front-timeout --back-timeout 1s",
	    "--front-timeout needs a value" },
	{ "listener add http 127.0.0.1:80 --front-timeout soon", "\"soon\" is not a duration" },
	{ "listener add http 127.0.0.1:80 --front-timeout 1s --front-timeout 2s",
	    "--front-timeout given twice" },
	{ "listener add http 127.0.0.1:80 --public-address nowhere", "is not an address" },
	{ "listener remove", "missing ADDR" },
	{ "listener list extra", "unexpected argument \"extra\"" },
	{ "cluster add", "missing ID" },
	{ "cluster add app --lb fastest", "--lb \"fastest\" is not one of: round-robin, random, "
	    "least-connections, p2c, hash" },
	{ "cluster add db --send-proxy v3", "--send-proxy \"v3\" is not one of: v1, v2" },
	{ "cluster add db --send-proxy", "--send-proxy needs a value" },
	{ "cluster add db --h2 --send-proxy v1", "--send-proxy gives each client a backend "
	    "connection of its own, which --h2 shares between clients" },
	{ "cluster add db --h2=yes", "--h2 takes no value" },
	{ "cluster add 'a b'", "cluster id \"a b\" is not valid" },
	{ "cluster add -app", "cluster id \"-app\" is not valid" },
	{ "cluster add ''", "cluster id \"\" is not valid" },
	{ "cluster add aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "is not valid" },
	{ "cluster remove", "missing ID" },
	{ "frontend add app", "--listener ADDR is required" },
	{ "frontend add --listener 127.0.0.1:80", "missing CLUSTER" },
	{ "frontend add app --listener 127.0.0.1:80 --path /a --path-exact /b",
	    "--path, --path-exact and --path-regex exclude each other" },
	{ "frontend add app --listener 127.0.0.1:80 --path-regex ^/a --path /b",
	    "--path, --path-exact and --path-regex exclude each other" },
	{ "frontend add app --listener 127.0.0.1:80 --path-regex '(a'",
	    "--path-regex \"(a\" is not a valid regex: missing closing parenthesis at offset 2" },
	{ "frontend add app --listener 127.0.0.1:80 --path-regex --x", "--path-regex needs a value" },
	{ "frontend add app --listener 127.0.0.1:80 --header 'x~a[' ", "not a valid regex" },
	{ "frontend add app --listener 127.0.0.1:80 --header x~", "give a regex after ~" },
	{ "frontend add app --listener 127.0.0.1:80 --header =v", "give a name" },
	{ "frontend add app --listener 127.0.0.1:80 --header 'a b=v'", "must be a token" },
	{ "frontend add app --listener 127.0.0.1:80 --cookie 's=a;b'", "blank or ;" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-add 'a b=v'",
	    "the field name must be a token" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-add =v", "give a field name" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-set 'X-A=a\nb'",
	    "the value holds a control character" },
	{ "frontend add app --listener 127.0.0.1:80 --response-header-add 'X-A=a\rb'",
	    "the value holds a control character" },
	{ "frontend add app --listener 127.0.0.1:80 --response-header-add 'X-A=a '",
	    "the value ends with a blank" },
	{ "frontend add app --listener 127.0.0.1:80 --response-header-add X-A",
	    "give the value after the name: NAME=VALUE" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-delete X-A=",
	    "give only the field name" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-set content-LENGTH=1",
	    "content-LENGTH cannot be edited: it frames the body" },
	{ "frontend add app --listener 127.0.0.1:80 --response-header-delete Keep_Alive",
	    "Keep_Alive cannot be edited: it is hop-by-hop" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-add host=a",
	    "host cannot be edited: the proxy writes it from the authority" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-delete X-Forwarded-Proto",
	    "X-Forwarded-Proto cannot be edited: the proxy writes it itself" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-set Forwarded=for=1.2.3.4",
	    "Forwarded cannot be edited: the proxy writes it itself" },
	{ "frontend add app --listener 127.0.0.1:80 --deny 399", "is not a number in 400..599" },
	{ "frontend add app --listener 127.0.0.1:80 --deny 405",
	    "the proxy cannot answer 405 alone: it needs the Allow field" },
	{ "frontend add app --listener 127.0.0.1:80 --request-header-add X-A=1 --deny 403",
	    "the header edits would never apply: drop --request-header-add or --deny" },
	{ "frontend add app --listener 127.0.0.1:80 --deny 403 --deny 404", "--deny given twice" },
	{ "frontend add app --listener 127.0.0.1:80 --deny 403 --redirect 301 --location /",
	    "--deny and --redirect exclude each other" },
	{ "frontend add app --listener 127.0.0.1:80 --redirect 301", "--redirect needs --location" },
	{ "frontend add app --listener 127.0.0.1:80 --rewrite-path-prefix /a", "give FROM=TO" },
	{ "frontend add app --listener 127.0.0.1:80 --rewrite-path-prefix a=/b",
	    "--rewrite-path-prefix \"a\" must start with /" },
	{ "frontend add app --listener 127.0.0.1:80 --rewrite-host *.a", "a wildcard matches" },
	{ "frontend add app --listener 127.0.0.1:80 --rewrite-host a:1", "without a port" },
	{ "frontend add app --listener 127.0.0.1:80 --rewrite-host a --rewrite-host b",
	    "--rewrite-host given twice" },
	{ "frontend add app --listener 127.0.0.1:80 --deny 403 --rewrite-host a",
	    "--deny answers without a backend, so --rewrite-host would never apply" },
	{ "frontend add app --listener 127.0.0.1:80 --location /", "give --redirect 301|302|307|308" },
	{ "frontend add app --listener 127.0.0.1:80 --redirect 301 --location 'x/${Host}'",
	    "offset 2: '$' starts one of ${scheme}, ${host}, ${path}, ${query}" },
	{ "frontend add app --listener 127.0.0.1:80 --redirect 301 --location 'ftp://x/'",
	    "give a path (/...) or an absolute URL" },
	{ "frontend add app --listener 127.0.0.1:80 --redirect 301 --location '/a\tb'",
	    "at offset 2; write it percent-encoded" },
	{ "frontend add app --listener 127.0.0.1:80 --redirect 302 --location / "
	    "--response-header-add X-A=1", "--redirect answers without a backend" },
	{ "frontend remove app --listener 127.0.0.1:80 --deny 403", "unknown option \"--deny\"" },
	{ "frontend remove app --listener 127.0.0.1:80 --request-header-add X-A=1",
	    "unknown option \"--request-header-add\"" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example --response-header-add x=1",
	    "--response-header-add requests of an http listener" },
	{ "frontend add app --listener 127.0.0.1:80 --query 'a&b'", "no blank, control" },
	{ "frontend add app --listener 127.0.0.1:80 --query 'a=b c'", "blank, & or #" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example --cookie s",
	    "--cookie requests of an http listener" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example --path-regex /",
	    "--path-regex requests of an http listener" },
	{ "frontend add app --listener 127.0.0.1:80 --host example.com:80", "without a port" },
	{ "frontend add app --listener 127.0.0.1:80 --host exa_mple.com", "is not a host name" },
	{ "frontend add app --listener 127.0.0.1:80 --host a..b", "is not a host name" },
	{ "frontend add app --listener 127.0.0.1:80 --host a.*.b", "is not a host name" },
	{ "frontend add app --listener 127.0.0.1:80 --host '*.'", "is not a host name" },
	{ "frontend add app --listener 127.0.0.1:80 --host ''", "--host needs a non-empty value" },
	{ "frontend add app --listener 127.0.0.1:80 --host=", "--host needs a non-empty value" },
	{ "frontend add app --listener 127.0.0.1:80 --path api", "--path \"api\" must start with /" },
	{ "frontend add app --listener 127.0.0.1:80 --path-exact 'a b'", "must start with /" },
	{ "frontend add app --listener 127.0.0.1:80 --path '/a b'", "blank or control" },
	{ "frontend add app --listener 127.0.0.1:80 --method get", "--method \"get\" is not a method" },
	{ "frontend add app --listener nowhere", "--listener \"nowhere\" is not an address" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example --host db.example",
	    "--sni matches connections of a tcp listener, --host requests of an http listener: "
	    "give one or the other" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example --path /",
	    "--path requests of an http listener" },
	{ "frontend remove db --listener 127.0.0.1:5432 --path-exact /x --sni db.example",
	    "--path-exact requests of an http listener" },
	{ "frontend add db --listener 127.0.0.1:5432 --method GET --sni db.example",
	    "--method requests of an http listener" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db.example:443",
	    "--sni \"db.example:443\": give the host without a port" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni db_1.example",
	    "--sni \"db_1.example\" is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni a..b", "is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni '*.*.b'", "is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni 'a*.b'", "is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni '*.'", "is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni example.", "is not a host name" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni ''", "--sni needs a non-empty value" },
	{ "frontend add db --listener 127.0.0.1:5432 --sni", "--sni needs a value" },
	{ "frontend remove app", "--listener ADDR is required" },
	{ "frontend list a b", "unexpected argument \"b\"" },
	{ "frontend list 'bad id'", "is not valid" },
	{ "backend add app b1", "missing HOST:PORT" },
	{ "backend add app", "missing BACKEND-ID" },
	{ "backend add app b1 10.0.0.1", "backend address \"10.0.0.1\" is not an address" },
	{ "backend add app b1 10.0.0.1:80 --weight 1001", "--weight \"1001\" is not a number in 0..1000" },
	{ "backend add app b1 10.0.0.1:80 --weight heavy", "is not a number" },
	{ "backend add app b1 10.0.0.1:80 --backup=yes", "--backup takes no value" },
	{ "backend add app b1 10.0.0.1:80 --max-connections 0",
	    "--max-connections \"0\" is not a number in 1..1000000" },
	{ "backend add app b1 10.0.0.1:80 --max-connections many", "is not a number" },
	{ "backend add app b1 10.0.0.1:80 --slow-start 0", "--slow-start" },
	{ "backend add app b1 10.0.0.1:80 --slow-start later", "--slow-start" },
	{ "cluster add q --queue 100001", "--queue \"100001\" is not a number in 0..100000" },
	{ "cluster add q --queue-timeout 0", "--queue-timeout" },
	{ "cluster add q --max-fails 1001", "--max-fails \"1001\" is not a number in 0..1000" },
	{ "cluster health-check app", "--path P is required" },
	{ "cluster health-check app --path health", "must start with /" },
	{ "cluster health-check app --off --path /h", "--off removes the check" },
	{ "cluster health-check app --path /h --expect 99", "is not a status or a range" },
	{ "cluster health-check app --path /h --expect 300-200", "is not a status or a range" },
	{ "cluster health-check app --path /h --expect 2xx", "is not a status or a range" },
	{ "cluster health-check app --path /h --timeout 3s", "is longer than --interval" },
	{ "cluster health-check app --path /h --rise 0", "--rise" },
	{ "cluster health-check 'a b' --path /h", "is not valid" },
	{ "cluster add q --queue-timeout soon", "--queue-timeout" },
	{ "backend add app b1 10.0.0.1:80 --backup --backup", "--backup given twice" },
	{ "backend add app 'b 1' 10.0.0.1:80", "backend id \"b 1\" is not valid" },
	{ "backend remove app", "missing BACKEND-ID" },
	{ "backend remove app b1 b2", "unexpected argument" },
	{ "status now", "unexpected argument \"now\"" },
	{ "state", "state: missing action; use one of: save, load, dump" },
	{ "state save", "missing FILE" },
	{ "state save ''", "empty file name" },
	{ "reload a b", "unexpected argument \"b\"" },
	{ "shutdown --soft", "unknown option \"--soft\"" },
	{ "upgrade now", "unexpected argument \"now\"" },
	{ "upgrade --binary", "--binary needs a value" },
	{ "upgrade --no-workers=1", "--no-workers takes no value" },
	{ "upgrade workers now", "unexpected argument \"now\"" },
};

static int
split_parse(char *buf, kk_verb *v, char *err, size_t errlen)
{
	char *argv[KK_LINE_MAXWORDS];
	unsigned argc;
	if (!kk_line_split(buf, argv, KK_LINE_MAXWORDS, &argc, err, errlen)) return 0;
	return kk_verb_parse(v, argc, (const char *const *)argv, err, errlen);
}

/* Prints a parsed verb back as a line, as a tool driving kakehi would. */
static void
print_verb(const kk_verb *v, kk_str *out)
{
	kk_str_cats(out, v->def->word1);
	if (v->def->word2) kk_str_catf(out, " %s", v->def->word2);
	for (unsigned i = 0; i < v->npos; i++) {
		kk_str_cats(out, " ");
		kk_str_catword(out, v->pos[i]);
	}
	for (unsigned i = 0; i < v->nopt; i++) {
		kk_str_catf(out, " %s", v->opt[i].def->name);
		if (v->opt[i].value) {
			kk_str_cats(out, " ");
			kk_str_catword(out, v->opt[i].value);
		}
	}
}

static int
same_verb(const kk_verb *a, const kk_verb *b)
{
	if (a->def != b->def || a->npos != b->npos || a->nopt != b->nopt) return 0;
	for (unsigned i = 0; i < a->npos; i++)
		if (strcmp(a->pos[i], b->pos[i])) return 0;
	/* Option by option: a repeated option has several values. */
	for (unsigned i = 0; i < a->nopt; i++) {
		const char *x = a->opt[i].value, *y = b->opt[i].value;
		if (a->opt[i].def != b->opt[i].def || !x != !y || (x && strcmp(x, y))) return 0;
	}
	return 1;
}

static void
test_good(void)
{
	int seen[KK_V_COUNT] = { 0 };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		char buf[512], buf2[512], err[KK_ERRLEN] = "";
		kk_verb v, v2;
		kk_str out = KK_STR_ZERO;
		snprintf(buf, sizeof buf, "%s", good[i]);
		if (!split_parse(buf, &v, err, sizeof err)) {
			ok(0, "parses: %s (%s)", good[i], err);
			continue;
		}
		seen[v.def->id] = 1;
		print_verb(&v, &out);
		snprintf(buf2, sizeof buf2, "%s", out.s);
		ok(split_parse(buf2, &v2, err, sizeof err) && same_verb(&v, &v2),
		    "parse, print, parse: %s -> %s", good[i], out.s);
		kk_str_free(&out);
	}
	for (const kk_verb_def *d = kk_verb_table; d->word1; d++)
		ok(seen[d->id], "verb %s %s is covered", d->word1, d->word2 ? d->word2 : "");
}

static void
test_bad(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char buf[512], err[KK_ERRLEN] = "";
		kk_verb v;
		snprintf(buf, sizeof buf, "%s", bad[i].line);
		int r = split_parse(buf, &v, err, sizeof err);
		ok(!r && strstr(err, bad[i].want), "rejects: %s", bad[i].line);
		if (r || !strstr(err, bad[i].want))
			printf("#   got:  '%s'\n#   want: '...%s...'\n", r ? "(accepted)" : err,
			    bad[i].want);
	}
	/* The usage line comes with the message. */
	char buf[] = "backend add app b1 10.0.0.1:80 --weight x", err[KK_ERRLEN];
	kk_verb v;
	split_parse(buf, &v, err, sizeof err);
	ok(strstr(err, "; usage: backend add CLUSTER BACKEND-ID HOST:PORT [--weight N] [--backup]")
	    != 0, "error carries the usage line: %.300s", err);
	ok(!kk_verb_parse(&v, 0, 0, err, sizeof err) && strstr(err, "empty"), "empty argv");
}

/* Every listener option its help calls https-only is refused on an http
 * listener, and every cluster option that says it qualifies --tls is
 * refused without it: verb.c names those options in lists of their own,
 * which an option added to the tables could be missing from. */
static void
test_scoped_opts(void)
{
	for (const kk_verb_def *d = kk_verb_table; d->word1; d++) {
		int listener = d->id == KK_V_LISTENER_ADD, cluster = d->id == KK_V_CLUSTER_ADD;
		if (!listener && !cluster)
			continue;
		for (const kk_opt_def *o = d->opts; o->name; o++) {
			const char *scope = listener ? "https" : "--tls: ";
			char err[KK_ERRLEN] = "";
			const char *argv[8];
			char choice[64] = "1";
			unsigned n = 0;
			kk_verb v;
			if (o->kind == KK_OPT_ENUM)	/* its first choice */
				snprintf(choice, sizeof choice, "%.*s",
				    (int)strcspn(o->choices, "|"), o->choices);
			if (strncmp(o->help, scope, strlen(scope)) && strcmp(o->name, "--ca-data"))
				continue;
			argv[n++] = d->word1;
			argv[n++] = d->word2;
			if (listener) {
				argv[n++] = "http";
				argv[n++] = "127.0.0.1:80";
			} else
				argv[n++] = "app";
			argv[n++] = o->name;
			if (o->kind != KK_OPT_FLAG)
				argv[n++] = choice;
			ok(!kk_verb_parse(&v, n, argv, err, sizeof err) && strstr(err, listener
			    ? "is for https listeners" : "qualifies TLS to the backends"),
			    "%s %s %s is refused where it does not apply: %s", d->word1, d->word2,
			    o->name, err);
		}
	}
}

static void
test_opt(void)
{
	char buf[] = "backend add app b1 10.0.0.1:80 --backup --weight 7", err[KK_ERRLEN];
	kk_verb v;
	ok(split_parse(buf, &v, err, sizeof err), "backend add parses");
	is_str(kk_verb_opt(&v, "--weight"), "7", "option by --name");
	is_str(kk_verb_opt(&v, "weight"), "7", "option by bare name");
	is_str(kk_verb_opt(&v, "--backup"), "", "flag present is empty string");
	ok(kk_verb_opt(&v, "--host") == 0, "absent option is NULL");
	is_int(v.npos, 3, "three positionals");
	is_str(v.pos[2], "10.0.0.1:80", "address positional");
}

struct split_case {
	const char *line;
	int ok;
	const char *words;	/* words joined by '|', or the error substring */
};

static const struct split_case splits[] = {
	{ "", 1, "" },
	{ "   \t  ", 1, "" },
	{ "# a comment", 1, "" },
	{ "   # indented comment", 1, "" },
	{ "a b\tc", 1, "a|b|c" },
	{ "a#b # rest", 1, "a#b" },
	{ "'#not a comment' x", 1, "#not a comment|x" },
	{ "'single $quoted \\ \"x\"'", 1, "single $quoted \\ \"x\"" },
	{ "\"double \\\" \\\\ \\$ \\n\"", 1, "double \" \\ $ \\n" },
	{ "a\\ b c\\'d", 1, "a b|c'd" },
	{ "'it'\\''s'", 1, "it's" },
	{ "pre'mid'\"post\"", 1, "premidpost" },
	/* Plain runs after a quote move back over it, then end the word. */
	{ "ab'c d'efgh ij", 1, "abc defgh|ij" },
	{ "x\\ yz'q'plain-run\\ more\ttail", 1, "x yzqplain-run more|tail" },
	{ "'' \"\"", 1, "|" },
	{ "trailing   ", 1, "trailing" },
	{ "'unterminated", 0, "unterminated single quote" },
	{ "\"unterminated", 0, "unterminated double quote" },
	{ "\"esc\\\"", 0, "unterminated double quote" },
	{ "back\\", 0, "backslash at the end" },
};

static void
test_split(void)
{
	for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
		char buf[256], err[KK_ERRLEN] = "", *argv[8];
		unsigned argc = 99;
		kk_str joined = KK_STR_ZERO;
		snprintf(buf, sizeof buf, "%s", splits[i].line);
		int r = kk_line_split(buf, argv, 8, &argc, err, sizeof err);
		if (r) {
			kk_str_cats(&joined, "");
			for (unsigned j = 0; j < argc; j++)
				kk_str_catf(&joined, "%s%s", j ? "|" : "", argv[j]);
		}
		if (splits[i].ok)
			is_str(r ? joined.s : err, splits[i].words, "split [%s]", splits[i].line);
		else
			ok(!r && strstr(err, splits[i].words), "split [%s] fails: %.200s",
			    splits[i].line, err);
		kk_str_free(&joined);
	}
	/* Too many words: the limit is the caller's array. */
	char buf[] = "a b c d e", err[KK_ERRLEN], *argv[4];
	unsigned argc;
	ok(!kk_line_split(buf, argv, 4, &argc, err, sizeof err) && strstr(err, "too many words"),
	    "too many words: %.200s", err);
	char buf2[] = "a b c d", *argv2[4];
	ok(kk_line_split(buf2, argv2, 4, &argc, err, sizeof err) && argc == 4, "exactly max words");
	/* catword output splits back to the same word. */
	static const char *const words[] = { "plain", "with space", "it's", "#hash", "",
	    "a\"b", "back\\slash", "$dollar", "tab\there", "mixed 'q' \"dq\" \\" };
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		kk_str s = KK_STR_ZERO;
		char *av[4];
		kk_str_catword(&s, words[i]);
		kk_str_cats(&s, " next");
		int r = kk_line_split(s.s, av, 4, &argc, err, sizeof err);
		ok(r && argc == 2 && !strcmp(av[0], words[i]) && !strcmp(av[1], "next"),
		    "catword round trip [%s]", words[i]);
		kk_str_free(&s);
	}
}

static void
test_scan(void)
{
	unsigned long v = 0;
	char buf[KK_DURATION_FMTLEN];
	ok(kk_scan_uint("0", 0, 10, &v) && v == 0, "uint 0");
	ok(kk_scan_uint("10", 0, 10, &v) && v == 10, "uint max");
	ok(!kk_scan_uint("11", 0, 10, &v), "uint above max");
	ok(!kk_scan_uint("4", 5, 10, &v), "uint below min");
	ok(!kk_scan_uint("", 0, 10, &v), "uint empty");
	ok(!kk_scan_uint("+1", 0, 10, &v), "uint sign");
	ok(!kk_scan_uint(" 1", 0, 10, &v), "uint blank");
	ok(!kk_scan_uint("1x", 0, 10, &v), "uint junk");
	ok(!kk_scan_uint("184467440737095516160", 0, ~0UL, &v), "uint overflow");
	ok(kk_scan_uint("18446744073709551615", 0, ~0UL, &v) && v == ~0UL, "uint ULONG_MAX");
	ok(kk_scan_duration_ms("500ms", &v) && v == 500, "500ms");
	ok(kk_scan_duration_ms("60s", &v) && v == 60000, "60s");
	ok(kk_scan_duration_ms("2m", &v) && v == 120000, "2m");
	ok(kk_scan_duration_ms("1h", &v) && v == 3600000, "1h");
	ok(kk_scan_duration_ms("7", &v) && v == 7000, "bare number is seconds");
	ok(kk_scan_duration_ms("0", &v) && v == 0, "zero scans");
	ok(kk_scan_duration_ms("24h", &v) && v == 86400000, "24h is the maximum");
	ok(!kk_scan_duration_ms("86401s", &v), "over 24h");
	ok(!kk_scan_duration_ms("99999999999999999999999h", &v), "huge");
	ok(!kk_scan_duration_ms("s", &v), "unit alone");
	ok(!kk_scan_duration_ms("1d", &v), "unknown unit");
	ok(!kk_scan_duration_ms("1 s", &v), "blank inside");
	ok(!kk_scan_duration_ms("", &v), "empty duration");
	ok(!kk_scan_duration_ms("-1s", &v), "negative");
	kk_fmt_duration_ms(buf, 60000);
	is_str(buf, "60s", "fmt whole seconds");
	kk_fmt_duration_ms(buf, 1500);
	is_str(buf, "1500ms", "fmt milliseconds");
	kk_fmt_duration_ms(buf, 0);
	is_str(buf, "0s", "fmt zero");
	kk_fmt_duration_ms(buf, 86400000);
	is_str(buf, "86400s", "fmt 24h");
}

static void
test_table(void)
{
	/* The hand-written usage must name every option of the row. */
	for (const kk_verb_def *d = kk_verb_table; d->word1; d++) {
		ok(d->npos_max <= KK_VERB_MAXPOS && d->npos_min <= d->npos_max,
		    "%s %s: positional counts", d->word1, d->word2 ? d->word2 : "");
		unsigned n = 0;
		for (const kk_opt_def *o = d->opts; o->name; o++, n++)
			ok(strstr(d->usage, o->name) && !strncmp(o->name, "--", 2) && o->help,
			    "%s %s: usage names %s", d->word1, d->word2 ? d->word2 : "", o->name);
		ok(n <= KK_VERB_MAXOPTS, "%s: options fit in kk_verb", d->word1);
	}
}

static void
test_help(void)
{
	kk_str out = KK_STR_ZERO;
	ok(kk_verb_help(&out, 0), "help for all verbs");
	for (const kk_verb_def *d = kk_verb_table; d->word1; d++)
		ok(strstr(out.s, d->summary) != 0, "help mentions %s %s", d->word1,
		    d->word2 ? d->word2 : "");
	kk_str_reset(&out);
	ok(kk_verb_help(&out, "set") && strstr(out.s, "set drain-timeout DURATION")
	    && strstr(out.s, "allowed-uids"), "help set lists the keys");
	kk_str_reset(&out);
	ok(kk_verb_help(&out, "backend") && strstr(out.s, "--weight: ")
	    && !strstr(out.s, "cluster add"), "help backend: its verbs and options only");
	kk_str_reset(&out);
	ok(!kk_verb_help(&out, "nosuch") && !out.len, "help for an unknown verb fails");
	kk_str_free(&out);
}

int
main(void)
{
	test_good();
	test_bad();
	test_opt();
	test_scoped_opts();
	test_split();
	test_scan();
	test_table();
	test_help();
	return done();
}
