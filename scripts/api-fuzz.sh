#!/usr/bin/env bash
# API fuzzing: schemathesis against a live server on a fresh SQLite database seeded with the
# town-scale demo, as the administrator and as township staff. Fails on any 5xx and on any
# response the OpenAPI schema does not describe (status code, content type, body), and on a
# method a path lacks that does not answer 405.
#
# The server runs with production settings (DEBUG off, collected static files), so the error
# pages and headers checked are the ones a deployment serves; tracebacks go to its log.
#
# The operations come from the served schema, so new endpoints are covered without a list.
# Bounded: a fixed number of examples per operation, a fixed seed, a time budget per login.
#
#   scripts/api-fuzz.sh            (or: make api-fuzz)
#   API_FUZZ_EXAMPLES=50 API_FUZZ_MAX_TIME=120 scripts/api-fuzz.sh
set -euo pipefail

cd "$(dirname "$0")/.."

BIN=.venv/bin
EXAMPLES=${API_FUZZ_EXAMPLES:-20}
SEED=${API_FUZZ_SEED:-20260301}
# Per login; the fuzzing and stateful phases stop when it is spent.
MAX_TIME=${API_FUZZ_MAX_TIME:-60}
LOGINS=${API_FUZZ_LOGINS:-demo_admin demo_zhen_a}
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method
# Stateful is included: it chains create -> values -> submit -> approve with the ids the
# API answered, so repeated and out-of-order workflow steps must answer 4xx, never 5xx.
PHASES=${API_FUZZ_PHASES:-examples,coverage,fuzzing,stateful}

WORK_DIR=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

if [[ ! -f static/vendor/.installed ]]; then
    echo "front-end assets are missing: run make assets (or make api-fuzz)" >&2
    exit 1
fi

# SQLite on a new file and tasks in-process, whatever the caller exported; production settings
# over plain HTTP on the loopback address.
unset CELERY_BROKER_URL REDIS_URL
export DATABASE_URL="sqlite:///$WORK_DIR/fuzz.sqlite3"
export DEBUG=false ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(64))')
export SECRET_KEY STATIC_ROOT="$WORK_DIR/static"
# Fuzzed credentials must not lock the demo logins out half-way through the run.
export AXES_FAILURE_LIMIT=1000
# No crash cache: a failure found by an earlier run must not be replayed into this one.
printf '[cache]\nenabled = false\n' >"$WORK_DIR/schemathesis.toml"

"$BIN/python" manage.py collectstatic --noinput >/dev/null
"$BIN/python" manage.py migrate --noinput >/dev/null
"$BIN/python" manage.py seed_demo --scale town
PASSWORD=$("$BIN/python" manage.py shell -c 'from branches.demo.users import DEMO_PASSWORD; print(DEMO_PASSWORD)' 2>/dev/null | tail -n 1)

PORT=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
"$BIN/python" manage.py runserver --noreload "127.0.0.1:$PORT" >"$WORK_DIR/server.log" 2>&1 &
SERVER_PID=$!
is_up() {
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/") != 000 ]]
}
for _ in $(seq 1 30); do
    is_up && break
    sleep 1
done
if ! is_up; then
    echo "runserver on port $PORT did not become ready in 30 s" >&2
    cat "$WORK_DIR/server.log" >&2
    exit 1
fi

token_for() {
    curl -sf -X POST "$BASE/api/v1/auth/token/" -H 'Content-Type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" |
        "$BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

status=0
for login in $LOGINS; do
    echo
    echo "---- schemathesis as $login: $EXAMPLES examples per operation, seed $SEED, at most ${MAX_TIME}s ----"
    token=$(token_for "$login")
    curl -sf -H "Authorization: Token $token" "$BASE/api/schema/?format=json" >"$WORK_DIR/schema.json"
    if ! "$BIN/schemathesis" --config-file "$WORK_DIR/schemathesis.toml" run "$WORK_DIR/schema.json" \
        --url "$BASE" \
        --header "Authorization: Token $token" \
        --checks "$CHECKS" \
        --phases "$PHASES" \
        --max-examples "$EXAMPLES" \
        --max-time "$MAX_TIME" \
        --seed "$SEED" \
        --generation-database none \
        --request-timeout 30 \
        --no-color; then
        status=1
    fi
done

if [[ $status -ne 0 ]]; then
    echo
    echo "---- server log (tracebacks of any 5xx) ----"
    grep -v '^\[' "$WORK_DIR/server.log" | tail -200 || true
    echo "schemathesis found failures (see above)" >&2
fi
exit $status
