import { describe, expect, it } from 'vitest';
import { callRates, parseClientList, parseCommandstats, parseCpuSeconds, perClient, total } from '../../bench/fleet.js';

describe('fleet bench arithmetic', () => {
  it('reads calls per command from INFO commandstats (CRLF)', () => {
    const text = '# Commandstats\r\ncmdstat_ping:calls=12,usec=30,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n';
    expect(parseCommandstats(text)).toEqual({ ping: 12, info: 3 });
    expect(parseCommandstats('')).toEqual({});
  });

  it('adds used_cpu_sys and used_cpu_user', () => {
    expect(parseCpuSeconds('# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:0.25\r\nused_cpu_sys_children:9\r\n')).toBeCloseTo(1.75);
  });

  it('counts connections by name, without replication links, Sentinels and the counter', () => {
    const text = [
      'id=3 addr=127.0.0.1:1 laddr=x fd=8 name=redis-failover:control age=1 idle=0 flags=N db=0',
      'id=4 addr=127.0.0.1:2 laddr=x fd=9 name=redis-failover:data age=1 idle=0 flags=N db=0',
      'id=5 addr=127.0.0.1:3 laddr=x fd=10 name= age=1 idle=0 flags=S db=0',
      'id=6 addr=127.0.0.1:4 laddr=x fd=11 name=sentinel-1a2b3c4d-cmd age=1 idle=0 flags=N db=0',
      'id=7 addr=127.0.0.1:5 laddr=x fd=12 name=fleet-bench-counter age=1 idle=0 flags=N db=0',
      'id=8 addr=127.0.0.1:6 laddr=x fd=13 name= age=1 idle=0 flags=N db=0',
      'id=9 addr=127.0.0.1:7 laddr=x fd=14 name=redis-failover:data age=1 idle=0 flags=N db=0',
      '',
    ].join('\n');
    expect(parseClientList(text)).toEqual({ 'redis-failover:control': 1, 'redis-failover:data': 2, '(unnamed)': 1 });
  });

  it('rates over a window, per client over a baseline, totals', () => {
    const rates = callRates({ ping: 10, info: 5 }, { ping: 60, info: 10, role: 4 }, 2);
    expect(rates).toEqual({ ping: 25, info: 2.5, role: 2 });
    expect(perClient(rates, { info: 0.5, role: 3 }, 10)).toEqual({ ping: 2.5, info: 0.2 });
    expect(total({ ping: 2.5, info: 0.2, set: 9 }, new Set(['set']))).toBeCloseTo(2.7);
  });
});
