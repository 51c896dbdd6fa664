#!/usr/bin/env bash
# Start a local Airflow 3 (api-server + scheduler + dag-processor) for the DAGs in dags/.
#
#   - everything binds 127.0.0.1 only (the scheduler's log server is off: --skip-serve-logs;
#     the api-server reads task logs straight from $AIRFLOW_HOME/logs);
#   - SQLite metadata DB and LocalExecutor with parallelism 4 (2-core friendly), examples off;
#   - AIRFLOW_HOME defaults to .build/airflow (gitignored);
#   - login: user "admin"; its password is generated once into
#     $AIRFLOW_HOME/simple_auth_manager_passwords.json (mode 600) and printed at start.
#
# Runs in the foreground; Ctrl-C (or SIGTERM) stops all three processes. If one of them dies,
# the others are stopped too and the script exits non-zero.
#
# Environment:
#   AIRFLOW_PORT          port of the UI/API (default 8080)
#   MLOPS_AIRFLOW_HOME    AIRFLOW_HOME to use (default <repo>/.build/airflow)
#   AIRFLOW_PARALLELISM   LocalExecutor slots (default 4)
#   AIRFLOW_VENV          venv with Airflow (default <repo>/.venv-airflow)
#   AIRFLOW_CONN_* / AIRFLOW_VAR_*   passed through (alert webhook, KFP host, runner...)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

VENV=${AIRFLOW_VENV:-$repo_root/.venv-airflow}
if [ ! -x "$VENV/bin/airflow" ]; then
  bash "$repo_root/infra/scripts/setup-airflow.sh"
fi
PORT=${AIRFLOW_PORT:-8080}
HOST=127.0.0.1
export AIRFLOW_HOME=${MLOPS_AIRFLOW_HOME:-$repo_root/.build/airflow}
mkdir -p "$AIRFLOW_HOME/logs"
chmod 700 "$AIRFLOW_HOME"

# Secrets shared by the three processes (a different random value per process would make the
# scheduler's task tokens invalid at the api-server). Generated once, never in the repo.
secrets_file="$AIRFLOW_HOME/secrets.env"
if [ ! -s "$secrets_file" ]; then
  (umask 077 && "$VENV/bin/python" - >"$secrets_file" <<'PY'
import base64, os, secrets
print("AIRFLOW__API_AUTH__JWT_SECRET=" + secrets.token_urlsafe(32))
print("AIRFLOW__API__SECRET_KEY=" + secrets.token_urlsafe(32))
print("AIRFLOW__CORE__FERNET_KEY=" + base64.urlsafe_b64encode(os.urandom(32)).decode())
PY
  )
fi
set -a
# shellcheck disable=SC1090
. "$secrets_file"
set +a

passwords_file="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
if [ ! -s "$passwords_file" ]; then
  (umask 077 && "$VENV/bin/python" -c 'import json, secrets; print(json.dumps({"admin": secrets.token_urlsafe(12)}))' >"$passwords_file")
fi

export AIRFLOW__CORE__DAGS_FOLDER="$repo_root/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW_PARALLELISM:-4}
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__API__HOST=$HOST
export AIRFLOW__API__PORT=$PORT
export AIRFLOW__API__BASE_URL="http://$HOST:$PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://$HOST:$PORT/execution/"
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$passwords_file"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
# New DAGs start paused (Airflow's default): starting Airflow never launches a pipeline by
# itself. Unpause a DAG with its toggle in the UI (or `airflow dags unpause <id>`).
# The DAGs import components/ from the repo root (dags/mlops_airflow does this too; this is belt and braces).
export PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$VENV/bin:$PATH"

log() { echo "[airflow-local] $*" >&2; }

if "$VENV/bin/python" - "$HOST" "$PORT" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(0)  # in use
sys.exit(1)
PY
then
  log "port $PORT on $HOST is already in use (set AIRFLOW_PORT=...)"
  exit 1
fi

log "AIRFLOW_HOME=$AIRFLOW_HOME"
log "migrating the metadata DB"
airflow db migrate >"$AIRFLOW_HOME/logs/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/logs/db-migrate.log" >&2; exit 1; }

pids=()
stop_all() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  log "stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

airflow api-server --host "$HOST" --port "$PORT" >"$AIRFLOW_HOME/logs/api-server.log" 2>&1 &
pids+=($!)
airflow scheduler --skip-serve-logs >"$AIRFLOW_HOME/logs/scheduler.log" 2>&1 &
pids+=($!)
airflow dag-processor >"$AIRFLOW_HOME/logs/dag-processor.log" 2>&1 &
pids+=($!)

log "waiting for http://$HOST:$PORT (logs: $AIRFLOW_HOME/logs/*.log)"
for _ in $(seq 1 180); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://$HOST:$PORT/api/v2/monitor/health', timeout=2)" 2>/dev/null; then
    break
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "a process exited during start-up; last log lines:"
      tail -n 15 "$AIRFLOW_HOME"/logs/{api-server,scheduler,dag-processor}.log >&2 || true
      exit 1
    fi
  done
  sleep 1
done

password=$("$VENV/bin/python" -c "import json,sys; print(json.load(open(sys.argv[1]))['admin'])" "$passwords_file")
cat <<EOF

  Airflow is up:  http://$HOST:$PORT
  Login:          admin / $password
                  (password file: $passwords_file)
  DAGs folder:    $repo_root/dags
  Stop:           Ctrl-C

EOF
echo "AIRFLOW_LOCAL_READY http://$HOST:$PORT"

# Exit (and stop the rest) as soon as any of the three processes ends.
wait -n "${pids[@]}"
rc=$?
log "a process exited (rc=$rc); stopping the others"
exit "$rc"
