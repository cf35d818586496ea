/**
 * Runs in a child process of its own (`node --expose-gc`), bundled by memory.ts so that no
 * TypeScript loader sits in the measured process. Arguments: what to hold — nothing, one plain
 * ioredis client per node, one FailoverRedis for the set, or a peer's equivalent — then a JSON
 * `{ nodes, sentinels, name }`, master first. Prints one JSON line: process.memoryUsage() after
 * GC, with the clients still connected.
 */
const [kind, json] = process.argv.slice(2) as [string, string];
const { nodes, sentinels, name } = JSON.parse(json) as { nodes: string[]; sentinels: string[]; name: string };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const hostPort = (address: string) => ({ host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) });

interface KV {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

async function work(writer: KV, readers: KV[]): Promise<void> {
  // Enough traffic for every lazy structure (command tables, parsers, buffers) to exist.
  for (let i = 0; i < 1000; i++) {
    await writer.set(`bench:mem:${i}`, 'v'.repeat(32));
    await readers[i % readers.length]!.get(`bench:mem:${i}`);
  }
}

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let close = async (): Promise<void> => undefined;
  if (kind === 'ioredis') {
    const { Redis } = await import('ioredis');
    const clients = nodes.map((n) => new Redis(hostPort(n)));
    await Promise.all(clients.map((c) => c.ping()));
    await work(clients[0]!, clients.slice(1));
    close = async () => void (await Promise.all(clients.map((c) => c.quit())));
  } else if (kind === 'failover') {
    const { FailoverRedis } = await import('../src/index.js');
    const redis = new FailoverRedis({ nodes: [nodes[0]!] });
    await redis.connect();
    await work(redis, [redis]);
    close = async () => void (await redis.quit());
  } else if (kind === 'node-redis') {
    const { createClient } = await import('redis');
    const clients = nodes.map((n) => createClient({ socket: hostPort(n) }));
    clients.forEach((c) => c.on('error', () => undefined));
    await Promise.all(clients.map((c) => c.connect()));
    await work(clients[0]!, clients.slice(1));
    close = async () => void clients.forEach((c) => c.destroy());
  } else if (kind === 'node-redis-sentinel') {
    const { createSentinel } = await import('redis');
    const sentinel = createSentinel({ name, sentinelRootNodes: sentinels.map(hostPort), replicaPoolSize: 1 });
    sentinel.on('error', () => undefined);
    await sentinel.connect();
    await work(sentinel, [sentinel]);
    close = async () => void sentinel.destroy();
  } else if (kind === 'glide') {
    const { GlideClient } = await import('@valkey/valkey-glide');
    const client = await GlideClient.createClient({ addresses: nodes.map(hostPort), readFrom: 'preferReplica' });
    await work(client, [client]);
    close = async () => client.close();
  } else if (kind !== 'empty') {
    throw new Error(`unknown kind ${kind}`);
  }
  // A little over one topology refresh (2 s): the periodic work has run at least once.
  await sleep(2500);
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50);
  }
  const usage = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ kind, ...usage })}\n`);
  await close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
