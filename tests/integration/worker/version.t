#!/bin/sh
# kakehi-worker -V names the TLS library that is really linked: the answer
# comes from the library at run time, so a build that compiled against one
# library's headers but linked another would show it.
. "$(dirname "$0")/../lib.sh"

v=$(kakehi-worker -V)
tap_like "$v" '^kakehi-worker [0-9.]+ \(TLS: ' "-V prints the version and the TLS library"
tls=$(sed -n 's/^TLS := //p' "$(dirname "$0")/../../../config.mak" 2>/dev/null)
case "$tls" in
	boringssl) tap_like "$v" 'TLS: BoringSSL, API [0-9]+\)' "the default build runs with BoringSSL" ;;
	openssl) tap_like "$v" 'TLS: OpenSSL 3' "an OpenSSL build runs with OpenSSL 3" ;;
	*) tap_diag "config.mak names no TLS library; library check skipped" ;;
esac
tap_done
