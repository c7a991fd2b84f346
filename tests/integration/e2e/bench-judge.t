#!/bin/sh
# bench/run's verdict on the keep-alive HTTPS rate target (issue 10: kakehi
# at least 1.10 x HAProxy), from each proxy's CPU busy share: a proxy
# under 0.90 was held back by the load generator, so its rate is only a
# floor of what it can serve. Met stands when only kakehi was held back,
# a miss when only HAProxy was; both held back, or the floor on the wrong
# side, is not judged.
. "$(dirname "$0")/../lib.sh"

judge() {	# judge MET KAKEHI_BUSY HAPROXY_BUSY: the verdict's first words
	python3 - "$(dirname "$0")/../../../bench/run" "$@" <<'PY'
import sys
from importlib.machinery import SourceFileLoader
run = SourceFileLoader("bench_run", sys.argv[1]).load_module()
met = sys.argv[2] == "met"
v = run.judge_rate(met, {"kakehi": float(sys.argv[3]), "haproxy": float(sys.argv[4]),
                         "nginx": None})
print(v.split(" (")[0])
PY
}

tap_is "$(judge met 0.95 0.97)" "met" "both proxies CPU-bound: the ratio decides (met)"
tap_is "$(judge missed 0.95 0.97)" "NOT met" "both proxies CPU-bound: the ratio decides (missed)"
tap_is "$(judge met 0.88 0.96)" "met" "kakehi held back and still past the target: met"
tap_is "$(judge missed 0.88 0.96)" "not judged" "kakehi held back and short of it: not judged"
tap_is "$(judge missed 0.95 0.80)" "NOT met" "HAProxy held back and kakehi still short: missed"
tap_is "$(judge met 0.95 0.80)" "not judged" "HAProxy held back and kakehi past it: not judged"
tap_is "$(judge met 0.50 0.50)" "not judged" "both held back: not judged"
tap_done
