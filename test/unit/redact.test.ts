import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/redact.js';

describe('redactUrl', () => {
  it.each([
    ['redis://:password@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred', 'redis://:***@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred'],
    ['rediss://app:s3cret@h:1/2', 'rediss://app:***@h:1/2'],
    ['redis://:p@ss/w#rd@h:1', 'redis://:***@h:1'],
    ['redis://:p%40ss@[::1]:6379', 'redis://:***@[::1]:6379'],
    ['redis+sentinel://s:1/m?sentinelPassword=x&readFrom=replica', 'redis+sentinel://s:1/m?sentinelPassword=***&readFrom=replica'],
    ['redis://h?password=x', 'redis://h?password=***'],
    ['redis://app@h:1', 'redis://app@h:1'],
    ['redis://h:1/0', 'redis://h:1/0'],
    ['127.0.0.1:6379', '127.0.0.1:6379'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
