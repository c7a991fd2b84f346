#!/usr/bin/env python3
# tlsfindings.py JSONFILE: judges a testssl.sh scan (its flat JSON, written
# with --jsonfile) of an HTTPS listener. Prints one line per finding of
# severity LOW or above about the server's TLS configuration, and one per
# scan warning, as "SEVERITY id: finding"; then, for each check the scan
# should have made and did not report, "missing id". Findings that do not
# concern the TLS configuration are excluded by id below, each with why.
# Exits 0 when nothing was printed, 1 otherwise, 100 on bad usage or a file
# that is not testssl's JSON.
#
# Calibrated once against HAProxy 2.6 with its default TLS settings and the
# same certificate (doc/testing.html): exactly cipherlist_AVERAGE, LUCKY13
# (both from its CBC suites) and HSTS (not offered) are printed there.
import fnmatch
import json
import sys

RANKS = {"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}

# id pattern: why it says nothing about the listener's TLS configuration.
EXCLUDED = {
    "cert_*": "the test certificate itself (kk-mkcerts: a private root, short serial "
              "numbers, no CRL or OCSP URI, no CT): an operator's choice of certificate",
    "certs_list_ordering_problem": "judged against testssl's own trust store, in which "
                                   "the private test root is not",
    "DNS_CAArecord": "a DNS record of the name; the test resolves nothing",
    "security_headers": "X-Frame-Options, Content-Security-Policy and the like come from "
                        "the backend's response, not from TLS",
    "engine_problem": "a warning about the local openssl binary (no GOST engine), "
                      "not about the server",
}

# One check per area the test is meant to cover: protocols, cipher
# categories, forward secrecy, server preference, the vulnerabilities, HSTS.
# A scan that did not report one of them proves nothing about it. "A|B":
# either id (testssl reports HSTS_time when the header is there, HSTS when
# it is not).
REQUIRED = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3",
            "cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW",
            "cipherlist_3DES_IDEA", "cipherlist_AVERAGE", "cipherlist_STRONG",
            "PFS", "cipher_order",
            "heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego",
            "secure_client_renego", "CRIME_TLS", "BREACH", "POODLE_SSL", "fallback_SCSV",
            "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13", "RC4",
            "HSTS_time|HSTS"]


def excluded(fid):
    return any(fnmatch.fnmatchcase(fid, pat) for pat in EXCLUDED)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: tlsfindings.py JSONFILE\n")
        return 100
    try:
        with open(sys.argv[1]) as f:
            findings = json.load(f)
        ids = {x["id"] for x in findings}
    except (OSError, ValueError, TypeError, KeyError) as e:
        sys.stderr.write("tlsfindings.py: %s is not testssl's flat JSON: %s\n"
                         % (sys.argv[1], e))
        return 100
    bad = 0
    for x in findings:
        sev = x.get("severity", "")
        if (RANKS.get(sev) or sev == "WARN") and not excluded(x["id"]):
            print("%s %s: %s" % (sev, x["id"], x.get("finding", "")))
            bad += 1
    for alts in REQUIRED:
        if not ids.intersection(alts.split("|")):
            print("missing %s" % alts)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
