import { describe, expect, it } from 'vitest';
import { judge, MAX_RESENDS, type AttemptFacts } from '../../src/dispatch/judge.js';

const lost = new Error('Connection is closed.');
const retriesSpent = Object.assign(new Error('Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.'), {
  name: 'MaxRetriesPerRequestError',
});
const readonlyReply = new Error("READONLY You can't write against a read only replica.");
const readonlyInScript = new Error("READONLY You can't write against a read only replica. script: 1234, on @user_script:1.");
const loading = new Error('LOADING Redis is loading the dataset in memory');
const wrongType = new Error('WRONGTYPE Operation against a key holding the wrong kind of value');

const read: AttemptFacts = { readOnly: true, atMaster: false, tries: 1, pinned: false };
const write: AttemptFacts = { readOnly: false, atMaster: true, tries: 1, pinned: false };

describe('judge()', () => {
  it('a read whose connection died is sent again, at most MAX_RESENDS times', () => {
    expect(judge(lost, read)).toBe('resend-read');
    expect(judge(retriesSpent, read)).toBe('resend-read');
    expect(judge(lost, { ...read, tries: MAX_RESENDS })).toBe('resend-read');
    expect(judge(lost, { ...read, tries: MAX_RESENDS + 1 })).toBe('pass-through');
  });

  it('a write whose connection died may have been applied: never resent', () => {
    expect(judge(lost, write)).toBe('maybe-applied');
    expect(judge(retriesSpent, { ...write, tries: 3 })).toBe('maybe-applied');
  });

  it('a write that met READONLY waits for the real master (it was not applied), also inside a script error', () => {
    expect(judge(readonlyReply, write)).toBe('hold-for-master');
    expect(judge(readonlyInScript, write)).toBe('hold-for-master');
    expect(judge(readonlyReply, { ...write, tries: MAX_RESENDS + 1 })).toBe('pass-through');
  });

  it('a replica that cannot serve a read now (LOADING) hands it to the master; the master’s own answer stands', () => {
    expect(judge(loading, read)).toBe('resend-on-master');
    expect(judge(loading, { ...read, atMaster: true })).toBe('pass-through');
    expect(judge(loading, write)).toBe('pass-through');
  });

  it('Redis reply errors pass through', () => {
    expect(judge(wrongType, read)).toBe('pass-through');
    expect(judge(wrongType, write)).toBe('pass-through');
  });

  it('inside a WATCH…EXEC session nothing moves: a lost connection may have taken the writes', () => {
    const pinned = { ...read, pinned: true };
    expect(judge(lost, pinned)).toBe('maybe-applied');
    expect(judge(readonlyReply, { ...write, pinned: true })).toBe('pass-through');
    expect(judge(loading, pinned)).toBe('pass-through');
  });
});
