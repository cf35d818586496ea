import { describe, expect, it } from 'vitest';
import { CommandTimeoutError, NoMasterError, NoNodeError } from '../../src/errors.js';

describe('CommandTimeoutError', () => {
  it('says what it waited for and why that node could not be used, each reason once', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });
    const why = new NoMasterError('the master 127.0.0.1:6390 is not connected', { cause: refused });
    const e = new CommandTimeoutError('set', 500, { cause: why });
    expect(e).toMatchObject({ name: 'CommandTimeoutError', code: 'ERR_COMMAND_TIMEOUT', cause: why });
    expect(e.message).toBe('SET waited 500 ms for a node and was not sent (commandTimeoutMs): the master 127.0.0.1:6390 is not connected: connect ECONNREFUSED 127.0.0.1:6390');
    // A discovery error already naming the node's error is not repeated.
    const discovery = new NoNodeError('No member of the replica set answered (127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1)', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
    expect(new CommandTimeoutError('get', 100, { cause: discovery }).message).toBe(
      'GET waited 100 ms for a node and was not sent (commandTimeoutMs): No member of the replica set answered (127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1)',
    );
    expect(new CommandTimeoutError('get', 100).message).toBe('GET waited 100 ms for a node and was not sent (commandTimeoutMs)');
  });
});
