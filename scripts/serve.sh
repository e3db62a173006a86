#!/usr/bin/env bash
# Serve a whole class: N stabviz servers on loopback ports behind nginx on one port, sticky per browser.
#   scripts/serve.sh [--replicas N] [--port P] [--address A] [--state-dir DIR] [--allocator jemalloc|glibc]
# N defaults to the number of cores, P to 8501, A to 0.0.0.0. Ctrl-C (or TERM) stops everything it started,
# by process id. Needs nginx (scripts/install.sh --serve installs Debian's); no root: nginx runs on P > 1024
# from a config generated into DIR (a temp dir unless given; it keeps the logs and replicas.pids).
# Why each setting: docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."
replicas=$(nproc); port=8501; address=0.0.0.0; state=""; allocator=jemalloc
while (( $# )); do
  case "$1" in
    --replicas) replicas=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --address) address=$2; shift 2 ;;
    --state-dir) state=$2; shift 2 ;;
    --allocator) allocator=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "serve.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || { echo "serve.sh: --replicas must be a positive integer" >&2; exit 2; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$nginx_bin" ]] || { echo "serve.sh: nginx not found; run: bash scripts/install.sh --serve" >&2; exit 1; }
keep_state=1
if [[ -z "$state" ]]; then state=$(mktemp -d -t stabviz-serve.XXXXXX); keep_state=0; fi
mkdir -p "$state/tmp"
state=$(cd "$state" && pwd)
: > "$state/replicas.pids"

preload=""
if [[ "$allocator" == jemalloc ]]; then
  # Debian's libjemalloc2: in the 5000-set soak it levelled off sooner and 57 MiB lower than glibc (bench/README.md)
  preload=$(ls /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2 2>/dev/null | head -1 || true)
  [[ -n "$preload" ]] || echo "serve.sh: libjemalloc2 not installed, using glibc's allocator" \
    "(bash scripts/install.sh --serve)" >&2
fi

pids=(); sleeper=""
stop() {
  trap - INT TERM EXIT
  local pid
  [[ -z "$sleeper" ]] || kill "$sleeper" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  (( keep_state )) || rm -rf "$state"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/_stcore/health" 2>/dev/null | grep -qx ok; }

ports=($(python - "$replicas" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
))
for p in "${ports[@]}"; do
  # every process runs in the repository root, so all read the same .streamlit/config.toml
  LD_PRELOAD="$preload" STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    python -m streamlit run app.py --server.port "$p" --server.address 127.0.0.1 --server.headless true \
    >"$state/replica-$p.log" 2>&1 &
  pids+=($!)
  echo "$! $p" >> "$state/replicas.pids"
done

upstreams=""
for p in "${ports[@]}"; do upstreams+="    server 127.0.0.1:$p max_fails=3 fail_timeout=10s;"$'\n'; done
cat > "$state/nginx.conf" <<EOF
worker_processes 1;
pid $state/nginx.pid;
error_log $state/error.log warn;
events { worker_connections 4096; }
http {
  client_body_temp_path $state/tmp/body; proxy_temp_path $state/tmp/proxy;
  fastcgi_temp_path $state/tmp/fastcgi; uwsgi_temp_path $state/tmp/uwsgi; scgi_temp_path $state/tmp/scgi;
  # one cookie per browser names its process: a new browser gets a random id (\$request_id), nginx hashes it
  map \$cookie_stabviz_route \$stabviz_route { "" \$request_id; default \$cookie_stabviz_route; }
  map \$http_upgrade \$connection_upgrade { default upgrade; "" close; }
  log_format stabviz '\$time_iso8601 \$stabviz_route \$upstream_addr \$status "\$request" \$request_time';
  access_log $state/access.log stabviz;
  upstream stabviz {
    hash \$stabviz_route consistent;
$upstreams  }
  server {
    listen $address:$port;
    client_max_body_size 200m;
    location / {
      proxy_pass http://stabviz;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_read_timeout 1d;  # a lecture's idle WebSocket must not be cut after nginx's default 60 s
      proxy_send_timeout 1d;
      proxy_buffering off;
      add_header Set-Cookie "stabviz_route=\$stabviz_route; Path=/; HttpOnly; SameSite=Lax";
    }
  }
}
EOF

deadline=$((SECONDS + ${SERVE_TIMEOUT:-180}))
for i in "${!ports[@]}"; do
  until healthy "${ports[$i]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "serve.sh: replica on ${ports[$i]} exited:" >&2
      tail -5 "$state/replica-${ports[$i]}.log" >&2; exit 1; }
    (( SECONDS < deadline )) || { echo "serve.sh: replica on ${ports[$i]} not healthy in time" >&2; exit 1; }
    sleep 0.5
  done
done
"$nginx_bin" -p "$state" -c "$state/nginx.conf" -e "$state/error.log" -g "daemon off;" &
pids+=($!)
echo "$! nginx" >> "$state/replicas.pids"
until healthy "$port"; do
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "serve.sh: nginx exited:" >&2; cat "$state/error.log" >&2; exit 1; }
  (( SECONDS < deadline )) || { echo "serve.sh: nginx not healthy in time" >&2; exit 1; }
  sleep 0.2
done
echo "stabviz ready: http://$address:$port/ ($replicas replicas on ports ${ports[*]}," \
  "allocator $([[ -n "$preload" ]] && echo jemalloc || echo glibc), state in $state)"

# Watch: every 10 s each replica's health; if a process exits, stop everything and fail loudly.
while true; do
  sleep 10 & sleeper=$!; wait "$sleeper"  # wait, unlike a foreground sleep, lets the TERM trap run at once
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "serve.sh: process ${pids[$i]} exited; stopping" >&2; exit 1; }
  done
  for p in "${ports[@]}"; do healthy "$p" || echo "serve.sh: replica on $p failed its health check" >&2; done
done
