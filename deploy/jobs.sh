#!/bin/sh
# The job runner: `tillpoint server run-jobs` (expire cards, holds, deals; finish contests) every
# JOBS_INTERVAL_SECONDS, and `tillpoint server billing-run` (renewals, retries, grace
# periods) every BILLING_INTERVAL_SECONDS. Both are safe to run again and from several
# processes at once, so a restart or a second runner does no harm.
#
# After each round it touches $HEARTBEAT; the container's health check asks that it is
# recent. A failed round is logged and retried at the next interval.
set -u
JOBS_INTERVAL_SECONDS=${JOBS_INTERVAL_SECONDS:-300}
BILLING_INTERVAL_SECONDS=${BILLING_INTERVAL_SECONDS:-3600}
HEARTBEAT=${HEARTBEAT:-/tmp/tillpoint-jobs.heartbeat}
last_billing=0

trap 'exit 0' TERM INT
while :; do
    ok=1
    tillpoint server run-jobs || ok=0
    now=$(date +%s)
    if [ $((now - last_billing)) -ge "$BILLING_INTERVAL_SECONDS" ]; then
        # Exit 1 means some businesses were not billed (each is printed): the run itself
        # worked, and the next one tries them again.
        tillpoint server billing-run
        status=$?
        if [ "$status" -le 1 ]; then last_billing=$now; else ok=0; fi
    fi
    if [ "$ok" = 1 ]; then touch "$HEARTBEAT"; fi
    sleep "$JOBS_INTERVAL_SECONDS" &
    wait $!
done
