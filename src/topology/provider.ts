import type { HandoverOptions, SwitchoverResult } from '../failover/switchover.js';
import type { HostPort } from './address.js';
import type { Address, Topology, TopologySource } from './types.js';

/**
 * Where the picture of the replica set comes from, and who changes it. The rest of the client
 * never asks which: `nodes` reads `INFO replication` from the members and changes roles itself,
 * `sentinel` asks the Sentinels and leaves the changes to them.
 */
export interface TopologyProvider {
  readonly source: TopologySource;
  /** Read the whole picture now. Rejects only when no source at all could be read. */
  discover(previous: Topology | null): Promise<Topology>;
  /** Subscribe to push signals ("the picture may have changed"), where the source has them. */
  watch?(onSignal: (reason: string) => void): void;
  /**
   * A planned handover of the master role with no acknowledged write lost. `onStart` gets, once
   * the request is checked and before any server changes, the reason the `failover` event will
   * give. Resolves once the new master is in place (the client's routing follows on its refresh).
   */
  handover(topology: Topology, options: HandoverOptions, onStart: (reason: string) => void): Promise<SwitchoverResult>;
  /** The runbook's manual promotion: `address` (a replica) becomes the master, the others follow it. */
  promote(address: Address, topology: Topology): Promise<void>;
  /** Make `address` (an old master back, a replica following the wrong node) follow the master. */
  demote(address: Address, topology: Topology): Promise<void>;
  /**
   * Where the source has judges of its own (Sentinels): how many of them answer within `timeoutMs`
   * now and vouch for `master` (name it, not down, no failover under way). The fence asks before
   * holding writes to a master cut from its replicas, and before letting them go again.
   */
  judgesConfirming?(master: Address, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Apply `natMap` to an address a node announced. */
export type AddressMapper = (announced: HostPort) => HostPort;
