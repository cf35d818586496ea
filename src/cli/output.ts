import { REDACTED } from '../redact.js';

export interface Stream {
  write(text: string, callback?: () => void): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/**
 * Colour only on a terminal, never with `NO_COLOR` set (https://no-color.org) or `--no-color`;
 * `FORCE_COLOR` turns it on where no terminal is (a CI log that renders ANSI).
 */
export function colorEnabled(stream: Stream, env: NodeJS.ProcessEnv, noColorFlag = false): boolean {
  if (noColorFlag) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

export function makeStyle(enabled: boolean): Style {
  const sgr = (open: number, close: number) => (text: string) => (enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { enabled, bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The width of `text` on screen (escape sequences take none). */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/**
 * Every line the CLI prints goes through here: secrets are replaced by `***` as a last guard
 * (the code never prints one on purpose), and a transient status line (the demo's live counter,
 * on a terminal only) is cleared before a line is printed over it.
 */
export class Output {
  readonly style: Style;
  readonly errStyle: Style;
  readonly #stdout: Stream;
  readonly #stderr: Stream;
  readonly #secrets: string[] = [];
  #transient = false;

  constructor(stdout: Stream, stderr: Stream, env: NodeJS.ProcessEnv, noColor = false) {
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.style = makeStyle(colorEnabled(stdout, env, noColor));
    this.errStyle = makeStyle(colorEnabled(stderr, env, noColor));
  }

  /** stdout is a terminal: live redraws are possible. */
  get interactive(): boolean {
    return this.#stdout.isTTY === true;
  }

  get columns(): number {
    return this.#stdout.columns ?? 120;
  }

  /**
   * A string never to print. Very short ones are not scrubbed: replacing every `a` of the
   * output would garble it, and nothing prints a password on purpose anyway.
   */
  addSecret(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= 4 && !this.#secrets.includes(secret)) {
      this.#secrets.push(secret);
      this.#secrets.sort((a, b) => b.length - a.length);
    }
  }

  scrub(text: string): string {
    return this.#secrets.reduce((out, secret) => out.split(secret).join(REDACTED), text);
  }

  out(line = ''): void {
    this.#clearTransient();
    this.#stdout.write(`${this.scrub(line)}\n`);
  }

  err(line: string): void {
    this.#clearTransient();
    this.#stderr.write(`${this.scrub(line)}\n`);
  }

  /** Raw text to stdout (screen redraws); scrubbed too. */
  raw(text: string): void {
    this.#stdout.write(this.scrub(text));
  }

  /** A line that the next one replaces, on a terminal only; elsewhere nothing is printed. */
  status(line: string): void {
    if (!this.interactive) return;
    this.#stdout.write(`\r\x1b[K${this.scrub(line)}`);
    this.#transient = true;
  }

  #clearTransient(): void {
    if (!this.#transient) return;
    this.#stdout.write('\r\x1b[K');
    this.#transient = false;
  }

  /** Resolves once what was written so far has been handed to the OS. */
  flush(): Promise<void> {
    this.#clearTransient();
    const drain = (stream: Stream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
    return Promise.all([drain(this.#stdout), drain(this.#stderr)]).then(() => undefined);
  }
}

/** Columns padded to their widest cell (by visible width); the last column is not padded. */
export function table(rows: readonly (readonly string[])[], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell) + gap)))
      .join('')
      .trimEnd(),
  );
}
