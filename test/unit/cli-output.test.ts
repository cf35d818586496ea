import { describe, expect, it } from 'vitest';
import { colorEnabled, Output, table, visibleLength, type Stream } from '../../src/cli/output.js';

function fakeStream(isTTY = false): Stream & { text: () => string } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(text: string, callback?: () => void) {
      chunks.push(text);
      callback?.();
      return true;
    },
    text: () => chunks.join(''),
  };
}

describe('colour', () => {
  it('only on a terminal; NO_COLOR and --no-color turn it off, FORCE_COLOR on', () => {
    expect(colorEnabled(fakeStream(true), {})).toBe(true);
    expect(colorEnabled(fakeStream(false), {})).toBe(false);
    expect(colorEnabled(fakeStream(true), { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(fakeStream(true), { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled(fakeStream(true), {}, true)).toBe(false);
    expect(colorEnabled(fakeStream(true), { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled(fakeStream(false), { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled(fakeStream(false), { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
  });

  it('styles are plain text without colour', () => {
    const plain = new Output(fakeStream(), fakeStream(), {});
    expect(plain.style.red('x')).toBe('x');
    const tty = new Output(fakeStream(true), fakeStream(), {});
    expect(tty.style.red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(tty.errStyle.enabled).toBe(false);
  });
});

describe('Output', () => {
  it('replaces every secret it knows with *** on stdout and stderr', () => {
    const stdout = fakeStream();
    const stderr = fakeStream();
    const out = new Output(stdout, stderr, {});
    out.addSecret('hunter2-pw');
    out.addSecret('abc'); // too short to scrub without garbling everything
    out.out('AUTH hunter2-pw failed for abc');
    out.err('error: hunter2-pw');
    out.raw('hunter2-pw');
    expect(stdout.text()).toBe('AUTH *** failed for abc\n***');
    expect(stderr.text()).toBe('error: ***\n');
  });

  it('a status line only on a terminal, cleared before the next line', () => {
    const pipe = fakeStream();
    const out = new Output(pipe, fakeStream(), {});
    out.status('writes 12');
    out.out('done');
    expect(pipe.text()).toBe('done\n');
    const tty = fakeStream(true);
    const live = new Output(tty, fakeStream(), {});
    live.status('writes 12');
    live.out('done');
    expect(tty.text()).toBe('\r\x1b[Kwrites 12\r\x1b[Kdone\n');
  });
});

describe('table', () => {
  it('pads columns to the widest cell, by visible width (colour codes take none)', () => {
    const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
    expect(visibleLength(red('down'))).toBe(4);
    expect(table([['ADDRESS', 'STATE', 'X'], ['127.0.0.1:6379', red('down'), '']])).toEqual(['ADDRESS         STATE  X', `127.0.0.1:6379  ${red('down')}`]);
  });
});
