#!/usr/bin/env bash
# API fuzzing: schemathesis against a live server on a fresh SQLite database seeded with the
# town-scale demo, as the administrator and as township staff. Fails on any 5xx and on any
# response the OpenAPI schema does not describe (status code, content type, body), and on a
# method a path lacks that does not answer 405.
#
# The operations come from the served schema, so new endpoints are covered without a list.
# Bounded and repeatable: a fixed number of examples per operation and a fixed seed; each login
# has its own server and its own copy of the seeded database, and the logins run side by side.
# The server runs with production settings (DEBUG off, collected static files), so the error
# pages and headers checked are the ones a deployment serves; tracebacks go to its log.
#
# Stateful testing is included: it chains create -> values -> submit -> approve -> return /
# unlock with the ids the API answered, so repeated and out-of-order workflow steps must answer
# 4xx, never 5xx.
#
#   scripts/api-fuzz.sh            (or: make api-fuzz)
#   API_FUZZ_EXAMPLES=50 API_FUZZ_SEED=1 API_FUZZ_LOGINS=demo_admin scripts/api-fuzz.sh
set -euo pipefail

cd "$(dirname "$0")/.."

BIN=.venv/bin
EXAMPLES=${API_FUZZ_EXAMPLES:-20}
SEED=${API_FUZZ_SEED:-20260301}
LOGINS=${API_FUZZ_LOGINS:-demo_admin demo_zhen_a}
PHASES=${API_FUZZ_PHASES:-examples,coverage,fuzzing,stateful}
# A hang is a failure too: no login's run may take longer than this (the coverage phase alone
# takes about 6 min per login for the 114 operations on this machine).
TIMEOUT=${API_FUZZ_TIMEOUT:-1200}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method

WORK_DIR=$(mktemp -d)
SERVER_PIDS=()
cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

if [[ ! -f static/vendor/.installed ]]; then
    echo "front-end assets are missing: run make assets (or make api-fuzz)" >&2
    exit 1
fi

# SQLite and tasks in-process, whatever the caller exported; production settings over plain
# HTTP on the loopback address.
unset CELERY_BROKER_URL REDIS_URL
export DEBUG=false ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(64))')
export SECRET_KEY STATIC_ROOT="$WORK_DIR/static" MEDIA_ROOT="$WORK_DIR/media"
# Fuzzed credentials must not lock the demo logins out half-way through the run.
export AXES_FAILURE_LIMIT=1000
# No crash cache: a failure found by an earlier run must not be replayed into this one.
printf '[cache]\nenabled = false\n' >"$WORK_DIR/schemathesis.toml"

export DATABASE_URL="sqlite:///$WORK_DIR/seeded.sqlite3"
"$BIN/python" manage.py collectstatic --noinput >/dev/null
"$BIN/python" manage.py migrate --noinput >/dev/null
"$BIN/python" manage.py seed_demo --scale town >/dev/null
PASSWORD=$("$BIN/python" manage.py shell -c 'from branches.demo.users import DEMO_PASSWORD; print(DEMO_PASSWORD)' 2>/dev/null | tail -n 1)
echo "seeded the town-scale demo; fuzzing as: $LOGINS"

free_port() {
    "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

is_up() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/api/v1/") != 000 ]]
}

declare -A PORTS
for login in $LOGINS; do
    cp "$WORK_DIR/seeded.sqlite3" "$WORK_DIR/$login.sqlite3"
    PORTS[$login]=$(free_port)
    DATABASE_URL="sqlite:///$WORK_DIR/$login.sqlite3" \
        "$BIN/python" manage.py runserver --noreload "127.0.0.1:${PORTS[$login]}" \
        >"$WORK_DIR/$login.server.log" 2>&1 &
    SERVER_PIDS+=($!)
done
for login in $LOGINS; do
    for _ in $(seq 1 30); do
        is_up "${PORTS[$login]}" && break
        sleep 1
    done
    if ! is_up "${PORTS[$login]}"; then
        echo "runserver on port ${PORTS[$login]} did not become ready in 30 s" >&2
        cat "$WORK_DIR/$login.server.log" >&2
        exit 1
    fi
done

fuzz() {
    local login=$1 base="http://127.0.0.1:${PORTS[$1]}" token
    token=$(curl -sf -X POST "$base/api/v1/auth/token/" -H 'Content-Type: application/json' \
        -d "{\"username\": \"$login\", \"password\": \"$PASSWORD\"}" |
        "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    curl -sf -H "Authorization: Token $token" "$base/api/schema/?format=json" \
        >"$WORK_DIR/$login.schema.json"
    timeout "$TIMEOUT" "$BIN/schemathesis" --config-file "$WORK_DIR/schemathesis.toml" \
        run "$WORK_DIR/$login.schema.json" \
        --url "$base" \
        --header "Authorization: Token $token" \
        --checks "$CHECKS" \
        --phases "$PHASES" \
        --max-examples "$EXAMPLES" \
        --seed "$SEED" \
        --generation-database none \
        --request-timeout 30 \
        --no-color
}

declare -A RUNS
for login in $LOGINS; do
    fuzz "$login" >"$WORK_DIR/$login.out" 2>&1 &
    RUNS[$login]=$!
done

status=0
for login in $LOGINS; do
    result=passed
    if ! wait "${RUNS[$login]}"; then
        result=FAILED
        status=1
    fi
    echo
    echo "---- schemathesis as $login ($EXAMPLES examples per operation, seed $SEED): $result ----"
    cat "$WORK_DIR/$login.out"
    if [[ $result == FAILED ]]; then
        echo
        echo "---- server log as $login (tracebacks of any 5xx) ----"
        grep -v '^\[' "$WORK_DIR/$login.server.log" |
            grep -Ev '^(Bad Request|Not Found|Forbidden|Unauthorized|Conflict|Method Not Allowed|Unsupported Media Type|Too Many Requests|AXES|Task )' |
            tail -200 || true
    fi
done

if [[ $status -ne 0 ]]; then
    echo "schemathesis found failures (see above)" >&2
fi
exit $status
