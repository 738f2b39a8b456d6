#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on 127.0.0.1 for the Galera specs (npm run test:galera).
#   .ci/galera.sh start        bootstrap node 1, join nodes 2 and 3 by rsync SST, wait for size 3
#   .ci/galera.sh stop         stop the three nodes (clean shutdown)
#   .ci/galera.sh kill N       kill -9 node N (the "database node dies" spec)
#   .ci/galera.sh restart N    start node N again after a kill; it rejoins by IST when it can
#   .ci/galera.sh wait-synced N   wait until node N answers and reports Synced
# Node N: SQL port 331N, gcomm 457N, IST 458N, SST 459N, datadir $GALERA_DIR/nodeN.
# The servers run from a copy of the binary, so that CI's plain MariaDB on 3306, started with
# `start-stop-daemon --exec /usr/sbin/mariadbd --oknodo`, is never mistaken for one of them. They
# run as `mysql`: the rsync SST daemon a root mariadbd starts writes as `nobody` and fails.
set -uo pipefail

DIR=${GALERA_DIR:-/var/tmp/relay-galera}
BIN=$DIR/galera-mariadbd
PROVIDER=/usr/lib/galera/libgalera_smm.so
CLUSTER=gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573

die() { echo "galera: $*" >&2; exit 1; }
sql() { mariadb --socket="$DIR/node$1/mysqld.sock" -uroot -N -B -e "$2" 2>/dev/null; }

config() {
  local n=$1
  cat >"$DIR/node$n.cnf" <<EOF
[mariadbd]
user=mysql
datadir=$DIR/node$n/data
socket=$DIR/node$n/mysqld.sock
pid-file=$DIR/node$n/mysqld.pid
log-error=$DIR/node$n/error.log
port=331$n
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
max_connections=400
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=relay_ci
wsrep_cluster_address=$CLUSTER
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:457$n
wsrep_node_incoming_address=127.0.0.1:331$n
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:459$n
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:457$n;ist.recv_addr=127.0.0.1:458$n;gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S"
wsrep_slave_threads=2
EOF
}

launch() {
  local n=$1
  shift
  # setsid: the server outlives this script and is not in CI's process group.
  setsid "$BIN" --defaults-file="$DIR/node$n.cnf" "$@" </dev/null >>"$DIR/node$n/stdout.log" 2>&1 &
  echo $! >"$DIR/node$n/launched.pid"
}

synced() { [ "$(sql "$1" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_local_state_comment'")" = Synced ]; }

wait_synced() {
  local n=$1 deadline=$((SECONDS + ${2:-180}))
  until synced "$n"; do
    [ $SECONDS -lt $deadline ] || die "node $n not Synced (see $DIR/node$n/error.log)"
    kill -0 "$(cat "$DIR/node$n/launched.pid")" 2>/dev/null || die "node $n exited (see $DIR/node$n/error.log)"
    sleep 0.5
  done
}

# The pid this script started it with, else the server's own pid file.
pid_of() { cat "$DIR/node$1/launched.pid" 2>/dev/null || cat "$DIR/node$1/mysqld.pid" 2>/dev/null; }

stop_node() {
  local n=$1 pid
  pid=$(pid_of "$n") || return 0
  # Forgotten once it has gone, so a later stop never signals a process that reuses the pid.
  rm -f "$DIR/node$n/launched.pid"
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
}

case "${1:-}" in
start)
  for n in 1 2 3; do stop_node "$n"; done
  rm -rf "$DIR"
  mkdir -p "$DIR"
  cp /usr/sbin/mariadbd "$BIN"
  for n in 1 2 3; do
    mkdir -p "$DIR/node$n/data"
    config "$n"
  done
  chown -R mysql:mysql "$DIR"
  mariadb-install-db --defaults-file="$DIR/node1.cnf" --user=mysql --auth-root-authentication-method=normal \
    --skip-test-db >"$DIR/install.log" 2>&1 || die "mariadb-install-db failed (see $DIR/install.log)"
  launch 1 --wsrep-new-cluster
  wait_synced 1
  # The specs connect over TCP as root without a password, as to CI's plain MariaDB.
  sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" ||
    die "could not let root in over TCP"
  launch 2
  wait_synced 2
  launch 3
  wait_synced 3
  echo "galera: cluster of $(sql 1 "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='wsrep_cluster_size'") up on 3311-3313"
  ;;
stop)
  for n in 3 2 1; do stop_node "$n"; done
  echo "galera: stopped"
  ;;
kill)
  pid=$(pid_of "$2") || die "node $2 has no pid file"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$DIR/node$2/launched.pid"
  ;;
restart)
  launch "$2"
  wait_synced "$2"
  ;;
wait-synced)
  wait_synced "$2" "${3:-180}"
  ;;
*)
  die "usage: $0 start|stop|kill N|restart N|wait-synced N"
  ;;
esac
