#!/usr/bin/env bash
# Load benchmark: our runtimes, nginx (1 worker, sendfile), h2o (1 thread) and Python's
# http.server, each pinned to one core and driven by wrk from the other core, on loopback, in
# one run. Workloads: a 1 KiB and a 1 MiB file over keep-alive, a listing of 200 files
# (nginx's autoindex, h2o's dirlisting), the 1 KiB file with `Connection: close`, and the 1 KiB
# file over keep-alive HTTPS (one self-signed P-256 certificate made here with openssl for every
# server; each server listens for TLS on its port + 1000; Python only from 3.14, else 0).
# Prints requests/s per server and workload (the median of ROUNDS rounds, each measuring every
# server back to back), and each ratio to nginx, h2o and python.
#
#   bench/load.sh                 # all servers, 3 rounds of 10 s per measurement
#   DURATION=5 RUNTIMES="std mio" bench/load.sh
#   WORKERS=2 SERVER_CPU=0,1 CLIENT_CPU=0,1 WRK_THREADS=2 bench/load.sh   # two cores each
#
# Our servers log every request (to /dev/null), as the others do not; the row `mio-quiet` is
# mio with `--quiet`, so the cost of the access log reads off the two mio rows.
#
# Installs wrk, nginx-light and h2o from Debian if missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
RUNTIMES=${RUNTIMES:-"std smol mio"}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# Worker processes or threads of every server, and wrk's threads.
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-1}

need() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    command -v h2o >/dev/null || [ -x /usr/sbin/h2o ] || missing+=(h2o)
    command -v curl >/dev/null || missing+=(curl)
    if [ ${#missing[@]} -gt 0 ]; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}
need
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
H2O=$(command -v h2o || echo /usr/sbin/h2o)

cargo build --release -q -p http-server
BIN=$PWD/target/release/http-server

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

root=$work/www
mkdir -p "$root"
# nginx workers run as an unprivileged user: let them in.
chmod 755 "$work" "$root"
head -c 1024 /dev/urandom >"$root/small.bin"
head -c $((1024 * 1024)) /dev/urandom >"$root/large.bin"
mkdir -p "$root/dir"
for i in $(seq -w 1 200); do head -c $((10#$i * 37)) /dev/zero >"$root/dir/file-$i.txt"; done
chmod -R a+rX "$root"
# One certificate for every TLS listener.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem" "$work/cert.pem"
TLS_OFFSET=1000
# name | path | extra wrk arguments
WORKLOADS=("1KiB small.bin" "1MiB large.bin" "listing dir/" "1KiB-close small.bin close" "1KiB-tls small.bin tls")

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}

start_ours() { # runtime[-quiet] port
    local extra=() runtime=${1%-quiet}
    # As many reactors as nginx has workers (std has a thread per connection).
    [ "$runtime" != std ] && extra=(--workers "$WORKERS")
    [ "$runtime" != "$1" ] && extra+=(--quiet)
    taskset -c "$SERVER_CPU" "$BIN" "$2" -b 127.0.0.1 -d "$root" -p HTTP/1.1 --runtime "$runtime" "${extra[@]}" \
        >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$2"
    # The same server over TLS, beside it (idle while the other is measured).
    taskset -c "$SERVER_CPU" "$BIN" $(($2 + TLS_OFFSET)) -b 127.0.0.1 -d "$root" -p HTTP/1.1 --runtime "$runtime" \
        "${extra[@]}" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >/dev/null 2>&1 &
    pids+=($!)
    wait_port $(($2 + TLS_OFFSET))
}

start_nginx() { # port
    mkdir -p "$work/nginx"
    cat >"$work/nginx.conf" <<CONF
worker_processes $WORKERS;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server { listen 127.0.0.1:$1; root $root; location /dir/ { autoindex on; } }
    server {
        listen 127.0.0.1:$(($1 + TLS_OFFSET)) ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        root $root;
    }
}
CONF
    taskset -c "$SERVER_CPU" "$NGINX" -c "$work/nginx.conf" -p "$work/nginx"
    wait_port "$1"
}

start_h2o() { # port
    # h2o run as root writes its pid file after dropping to nobody.
    mkdir -p "$work/h2o" && chmod 1777 "$work/h2o"
    cat >"$work/h2o.conf" <<CONF
num-threads: $WORKERS
access-log: /dev/null
error-log: $work/h2o-error.log
pid-file: $work/h2o/h2o.pid
listen:
  host: 127.0.0.1
  port: $1
listen:
  host: 127.0.0.1
  port: $(($1 + TLS_OFFSET))
  ssl:
    certificate-file: $work/cert.pem
    key-file: $work/key.pem
hosts:
  default:
    paths:
      /:
        file.dir: $root
        file.dirlisting: ON
CONF
    taskset -c "$SERVER_CPU" "$H2O" -c "$work/h2o.conf" >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$1"
}

start_python() { # port
    taskset -c "$SERVER_CPU" python3 -m http.server "$1" -b 127.0.0.1 -d "$root" -p HTTP/1.1 >/dev/null 2>&1 &
    pids+=($!)
    wait_port "$1"
    # HTTPS from Python 3.14 on; older ones have no --tls-cert (their row reads 0).
    if python3 -c 'import sys; sys.exit(sys.version_info < (3, 14))'; then
        taskset -c "$SERVER_CPU" python3 -m http.server $(($1 + TLS_OFFSET)) -b 127.0.0.1 -d "$root" \
            -p HTTP/1.1 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >/dev/null 2>&1 &
        pids+=($!)
        wait_port $(($1 + TLS_OFFSET))
    fi
}

check() { # url -> fails unless it answers 200 (every server, before timing)
    local code
    code=$(curl -s --cacert "$work/cert.pem" -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || echo 000)
    [ "$code" = 200 ] || { echo "$1 answered $code" >&2; return 1; }
}

measure() { # port path [close|tls] -> requests/s (0 when any response was not a 2xx)
    local extra=() url="http://127.0.0.1:$1/$2"
    [ "${3:-}" = close ] && extra=(-H "Connection: close")
    [ "${3:-}" = tls ] && url="https://127.0.0.1:$(($1 + TLS_OFFSET))/$2"
    check "$url" || { echo 0; return; }
    taskset -c "$CLIENT_CPU" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "${extra[@]}" "$url" 2>/dev/null |
        awk '/Non-2xx/ {bad = 1} /Requests\/sec/ {r = $2} END {print (bad ? 0 : r)}'
}

declare -A rps samples port_of
port=18080
servers=(nginx h2o python)
for r in $RUNTIMES; do servers+=("$r"); done
[[ " $RUNTIMES " == *" mio "* ]] && servers+=(mio-quiet)
# Every server runs for the whole measurement (idle while another one is measured), so that
# within a round each workload meets every server within a minute.
for server in "${servers[@]}"; do
    port=$((port + 1))
    port_of[$server]=$port
    case $server in
        nginx) start_nginx "$port" ;;
        h2o) start_h2o "$port" ;;
        python) start_python "$port" ;;
        *) start_ours "$server" "$port" ;;
    esac
done
# Rounds of every workload, the servers back to back within a workload; a server's figure is
# its median over the rounds. This VM's speed drifts by 10-15% within minutes: measured one
# server after another, a ratio would say as much about the minute as about the servers.
for _ in $(seq "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        read -r name path extra <<<"$w"
        for server in "${servers[@]}"; do
            # The quiet row is there for the cost of logging: 1 KiB keep-alive only.
            [[ $server == *-quiet && $name != 1KiB ]] && continue
            samples[$server/$name]+="$(measure "${port_of[$server]}" "$path" "${extra:-}") "
        done
    done
done
median() {
    tr ' ' '\n' | grep -v '^$' | sort -n |
        awk '{ v[NR] = $1 } END { print (NR == 0 ? 0 : NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
for key in "${!samples[@]}"; do
    rps[$key]=$(echo "${samples[$key]}" | median)
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s, $WORKERS worker(s) per server on cpu $SERVER_CPU, wrk on cpu $CLIENT_CPU, HTTP/1.1 keep-alive"
echo "median of $ROUNDS rounds (each round: every workload, the servers back to back)"
printf '\n%-10s %-11s %12s %10s %10s %10s\n' server workload "req/s" "vs nginx" "vs h2o" "vs python"
for server in "${servers[@]}"; do
    for w in "${WORKLOADS[@]}"; do
        read -r name _ <<<"$w"
        [[ $server == *-quiet && $name != 1KiB ]] && continue
        v=${rps[$server/$name]:-0}
        n=${rps[nginx/$name]:-0}
        h=${rps[h2o/$name]:-0}
        p=${rps[python/$name]:-0}
        awk -v s="$server" -v f="$name" -v v="$v" -v n="$n" -v h="$h" -v p="$p" 'BEGIN {
            printf "%-10s %-11s %12.0f %9.2fx %9.2fx %9.1fx\n", s, f, v, (n > 0 ? v / n : 0), (h > 0 ? v / h : 0), (p > 0 ? v / p : 0)
        }'
    done
done
