/** Help texts: what each command does, its options, its exit codes, and examples to copy. */

const CONNECTION = `Connection options:
  --password <pw>           AUTH password. Better: set REDIS_PASSWORD in the environment,
                            which keeps it out of the process list (like REDISCLI_AUTH)
  --user <name>             ACL user name
  --tls                     connect with TLS (to the Sentinels too)
  --sentinel                the addresses are Sentinels; needs --name
  --name <master>           the master name the Sentinels monitor (e.g. mymaster)
  --sentinel-password <pw>  the Sentinels' own password (or REDIS_SENTINEL_PASSWORD)
  --connect-timeout <ms>    how long to wait for each node to connect (default 3000)
  A redis://, rediss://, redis+sentinel:// or rediss+sentinel:// URL may stand for the addresses.`;

const OUTPUT = `  --no-color                no colours (NO_COLOR is honoured; colours only on a terminal anyway)
  -h, --help                this help`;

export const MAIN_HELP = `redis-failover — look after a Redis master with replicas, with or without Sentinel

Usage: redis-failover <command> [options]

Commands:
  status       one table of every node (role, link, offset, lag, …) and what is wrong;
               one per shard for a Redis Cluster node
  watch        the same table(s), live, with a timeline of failover events
  promote      make a replica the master and repoint the others (when the master is dead)
  switchover   hand the master over to a replica on purpose, losing no acknowledged write
  demote       make a node (an old master back) a replica of the current master
  demo         a throwaway replica set under traffic: kill the master, watch the failover

Run 'redis-failover <command> --help' for a command's options and examples.

${CONNECTION}

Exit codes: 0 healthy or done, 1 degraded or failed, 2 unreachable or a usage error.

Examples:
  redis-failover status 10.0.0.1:6379
  redis-failover watch --sentinel 10.0.0.5:26379 --name mymaster
  npm run demo`;

export const HELP: Record<string, string> = {
  status: `Usage: redis-failover status <host:port>... [options]
       redis-failover status --sentinel <host:port>... --name <master> [options]

Reads INFO replication from every member of the replica set (found from any one of them, or
from the Sentinels) and prints one table: address, role, up/down, the master each replica
follows, link status, replication offset, lag in bytes and in seconds, replica priority,
connected replicas. Then what is wrong: no master, a replication cycle (nodes following each
other, none master: promote one), two masters, a replica following a node that is not the
master, a replica lagging, syncing or with its link down, a node down.
The master's row says master*. A ZONE column shows each node's availability zone once one is
known: the zone a Valkey 8.1+ server reports (availability_zone), else the one --zones gives.

Given a Redis Cluster node (INFO cluster says cluster_enabled:1), it reads the whole cluster
(CLUSTER SHARDS, then INFO replication of every node) and prints one table per shard (its
slots, its master and replicas: up/down, link, offset, lag in bytes), then what is wrong: slots
no master serves, a shard master or replica down, a shard with no replica, a replica whose link
is down, syncing or lagging. --max-lag-seconds does not apply there.

Options:
  --json                    the same content as JSON, for scripts
  --max-lag-bytes <n>       a replica further behind the master is lagging (default 1048576)
  --max-lag-seconds <n>     a replica the master last heard from longer ago is lagging (default 10)
  --zones <host:port=zone>,…  the nodes' availability zones, for servers that cannot report them
${OUTPUT}

${CONNECTION}

Exit codes: 0 healthy, 1 degraded (warnings printed), 2 unreachable or a usage error.

Examples:
  redis-failover status 10.0.0.1:6379
  REDIS_PASSWORD=… redis-failover status 10.0.0.1:6379 10.0.0.2:6379
  redis-failover status --sentinel 10.0.0.5:26379 10.0.0.6:26379 --name mymaster
  redis-failover status 10.0.0.1:6379 --json | jq '.warnings[].message'
  redis-failover status 10.0.0.1:7000       # any node of a Redis Cluster: a table per shard
  redis-failover status --user ops rediss://10.0.0.1:6380 || echo "needs a look"`,

  watch: `Usage: redis-failover watch <host:port>... [options]
       redis-failover watch --sentinel <host:port>... --name <master> [options]

The status table, refreshed live, with a timeline of what happens: nodes going down and coming
back, the master confirmed down by its replicas, promotions, replicas repointed, old masters
demoted, failovers and how long they took. It only watches: it never promotes or repoints.
On a Redis Cluster node: the shard tables of status, live, with a timeline of shard failovers
(old master → new, and how long after the old master was seen down), nodes down and back (and
for how long), old masters rejoining as replicas, problems appearing and clearing. The cluster
elects its masters; watch never asks it to. --max-lag-seconds does not apply there.
On a terminal the screen is redrawn; otherwise the timeline is printed line by line (and the
tables at the start and after each failover). Ctrl-C ends it.

Options:
  --interval <ms>           how often to re-read every node (default 1000)
  --max-lag-bytes <n>       as for status (default 1048576)
  --max-lag-seconds <n>     as for status (default 10)
${OUTPUT}

${CONNECTION}

Exit codes: 0 when ended with Ctrl-C, 2 when no node answers at the start, or a usage error.

Examples:
  redis-failover watch 10.0.0.1:6379
  redis-failover watch --sentinel 10.0.0.5:26379 --name mymaster --interval 500
  redis-failover watch 10.0.0.1:6379 --no-color > failover.log
  redis-failover watch 10.0.0.1:7000        # any node of a Redis Cluster`,

  promote: `Usage: redis-failover promote <host:port> [--nodes <host:port>,...] [options]

The runbook's manual failover, done right: REPLICAOF NO ONE on the replica <host:port>, then
REPLICAOF <it> on every other member that answers (the replicas, the old master, any other
node saying role:master), each followed by CONFIG REWRITE so the roles survive a restart. The
result is read back from every node's INFO replication and what changed is printed. Without
Sentinel only: with Sentinel, use switchover. It also repairs a set with no master, where the
nodes follow each other in a cycle (status shows REPLICATION_CYCLE).

The replica set is found from <host:port> and --nodes. With the master dead, its replicas can
only be found if you name them: pass them with --nodes so that they are repointed too.
While the master is up, promoting may lose the writes it acknowledged that <host:port> has not
received yet: use switchover for a planned handover, or --force.

Options:
  --nodes <host:port>,...   other members (repeat the flag or separate with commas)
  --force                   promote even though the master answers
  --wait <ms>               how long to wait for every replica to report its link up (default 10000)
${OUTPUT}

${CONNECTION}

Exit codes: 0 promoted and confirmed, 1 failed or not confirmed in time, 2 unreachable or a usage error.

Examples:
  redis-failover promote 10.0.0.3:6379 --nodes 10.0.0.2:6379
  REDIS_PASSWORD=… redis-failover promote 10.0.0.3:6379 --nodes 10.0.0.2:6379,10.0.0.4:6379`,

  switchover: `Usage: redis-failover switchover <host:port>... [--to <host:port>] [options]
       redis-failover switchover --sentinel <host:port>... --name <master> [options]

A planned handover with no acknowledged write lost: CLIENT PAUSE WRITE on the master until the
target has every byte, REPLICAOF NO ONE on the target, REPLICAOF on the old master and the other
replicas, CLIENT UNPAUSE (--method failover-command uses Redis's own FAILOVER TO, slower);
SENTINEL FAILOVER with Sentinel. The result is read back from every node's INFO replication and
what changed is printed.

Options:
  --to <host:port>          the replica to hand over to (default: the best one — lowest
                            replica-priority, then highest offset); not with Sentinel
  --timeout <ms>            how long the master may pause writes for the target to catch up (default 5000)
  --method <m>              pause-and-replicaof (default) or failover-command (Redis's FAILOVER TO)
  --wait <ms>               how long to wait for every member to follow the new master, link up
                            (default 15000; 30000 with Sentinel, which reconfigures the old master late)
${OUTPUT}

${CONNECTION}

Exit codes: 0 done and confirmed, 1 failed or not confirmed in time, 2 unreachable or a usage error.

Examples:
  redis-failover switchover 10.0.0.1:6379 --to 10.0.0.2:6379
  redis-failover switchover --sentinel 10.0.0.5:26379 --name mymaster`,

  demote: `Usage: redis-failover demote <host:port> --to <master host:port> [options]

The runbook's last step: REPLICAOF <master> on <host:port> — an old master that came back as a
master, or a replica following the wrong node. --to must be the replica set's current master
(the one its replicas follow); the command checks that before changing anything. The result is
read back from INFO replication and what changed is printed. Without Sentinel only: Sentinel
reconfigures returning masters itself.

Options:
  --to <host:port>          the current master (required)
  --nodes <host:port>,...   other members, to find the set from if --to does not answer
  --wait <ms>               how long to wait for the link to come up (default 10000)
${OUTPUT}

${CONNECTION}

Exit codes: 0 demoted and confirmed, 1 failed or not confirmed in time, 2 unreachable or a usage error.

Examples:
  redis-failover demote 10.0.0.1:6379 --to 10.0.0.3:6379
  REDIS_PASSWORD=… redis-failover demote 10.0.0.1:6379 --to 10.0.0.3:6379 --user ops`,

  demo: `Usage: redis-failover demo [--no-sentinel] [options]

Starts a throwaway replica set on 127.0.0.1 (a master, 2 replicas and 3 Sentinels, with the
redis-server on PATH or in REDISMS_SYSTEM_BINARY), sends writes and reads through FailoverRedis,
kills the master with SIGKILL, shows the failover and the time writes were paused, restarts the
old master and shows it rejoin as a replica, checks that every acknowledged write is on the new
master, prints a summary and stops everything. About 6 s without Sentinel, 18 s with.

Options:
  --no-sentinel             no Sentinels: the client itself promotes a replica (client mode)
${OUTPUT}

Exit codes: 0 the failover happened and no write acknowledged before the WAIT sync point was
lost, 1 otherwise.

Examples:
  npm run demo
  npm run demo -- --no-sentinel
  npx redis-failover demo --no-color | tee demo.log`,
};
