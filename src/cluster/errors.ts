import { NoNodeError } from '../errors.js';

/**
 * The seeds answered, but not as members of a Redis Cluster (cluster support off, or a plain
 * master): FailoverRedis is the client for those. Code `ERR_NOT_CLUSTER`; a `NoNodeError`, since
 * no cluster node was found.
 */
export class NotClusterError extends NoNodeError {
  readonly address: string;

  constructor(address: string, cause?: unknown) {
    super(`${address} is not a Redis Cluster member (cluster support disabled); for a master with replicas use FailoverRedis`, { cause }, 'ERR_NOT_CLUSTER');
    this.address = address;
  }
}
