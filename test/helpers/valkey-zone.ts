import type { Redis } from 'ioredis';
import { defaultConnectionFactory, type ConnectionFactory } from '../../src/pool/node-pool.js';

/**
 * A connection factory whose connections to `address` answer `INFO` as a Valkey 8.1 server with
 * `availability-zone <zone>` set does: `availability_zone:<zone>` in the server section. Redis 7.0,
 * which these tests run, has no such field; the rest of the reply is the server's own.
 */
export function reportingZone(address: string, zone: string): ConnectionFactory {
  return (node, purpose, options) => {
    const conn = defaultConnectionFactory(node, purpose, options);
    if (`${node.host}:${node.port}` !== address) return conn;
    const info = conn.info.bind(conn) as (...sections: string[]) => Promise<string>;
    (conn as unknown as { info: (...sections: string[]) => Promise<string> }).info = async (...sections: string[]) => {
      const text = await info(...sections);
      return text.includes('# Server') ? text.replace('# Server\r\n', `# Server\r\navailability_zone:${zone}\r\n`) : text;
    };
    return conn as Redis;
  };
}
