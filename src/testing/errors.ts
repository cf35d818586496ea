/** Codes of the errors `redis-failover/testing` raises about a set's network. */
export type ReplicaSetNetworkErrorCode = 'ERR_NETWORK_UNAVAILABLE' | 'ERR_PARTITION_GROUPS';

/** Base of the network errors of `redis-failover/testing`: `code` is stable, `name` is the class. */
export class ReplicaSetNetworkError extends Error {
  readonly code: ReplicaSetNetworkErrorCode;

  constructor(code: ReplicaSetNetworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** `network: 'namespaces'` cannot run here: `missing` says what is lacking (root, `ip`, `nft`, Linux). */
export class NetworkUnavailableError extends ReplicaSetNetworkError {
  readonly missing: string[];

  constructor(missing: string[], options?: { cause?: unknown }) {
    super(
      'ERR_NETWORK_UNAVAILABLE',
      `redis-failover/testing: network: 'namespaces' needs Linux, root, ip (iproute2) and nft (nftables); ` +
        `missing here: ${missing.join(', ')}`,
      options,
    );
    this.missing = missing;
  }
}

/** `partition()`/`isolate()` named an address that is not a member, or a member in two groups. */
export class PartitionGroupsError extends ReplicaSetNetworkError {
  /** The offending entry, as the caller wrote it. */
  readonly address: string;

  constructor(address: string, message: string) {
    super('ERR_PARTITION_GROUPS', `redis-failover/testing: partition: ${message}`);
    this.address = address;
  }
}

/**
 * No `redis-server` to run: `REDISMS_SYSTEM_BINARY` names none, there is none on `PATH`, and
 * redis-memory-server is not installed (or could not build one). The message says how to get one.
 */
export class RedisServerNotFoundError extends Error {
  readonly code = 'ERR_NO_REDIS_SERVER';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
