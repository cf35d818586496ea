import type { HostPort } from './address.js';
import type { Topology, TopologySource } from './types.js';

/**
 * Where the picture of the replica set comes from. The rest of the client never asks which:
 * `nodes` reads `INFO replication` from the members, `sentinel` asks the Sentinels.
 */
export interface TopologyProvider {
  readonly source: TopologySource;
  /** Read the whole picture now. Rejects only when no source at all could be read. */
  discover(previous: Topology | null): Promise<Topology>;
  /** Subscribe to push signals ("the picture may have changed"), where the source has them. */
  watch?(onSignal: (reason: string) => void): void;
  close(): Promise<void>;
}

/** Apply `natMap` to an address a node announced. */
export type AddressMapper = (announced: HostPort) => HostPort;
