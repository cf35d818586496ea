/** A Node-style callback, as ioredis's methods take one. */
export type Callback<T> = (err: Error | null, result?: T) => void;

/** Node-style callback support for a promise-returning method (as ioredis does). */
export function asCallback<T>(promise: Promise<T>, callback?: Callback<T>): Promise<T> {
  if (typeof callback === 'function') {
    promise.then(
      (result) => process.nextTick(callback, null, result),
      (error: Error) => process.nextTick(callback, error),
    );
  }
  return promise;
}

export function noop(): void {}

/** `promise`, or a rejection with `message` after `ms` (the timer is cleared either way). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The message of a probe that timed out. */
export function noAnswer(who: string, ms: number): string {
  return `${who} did not answer within ${ms} ms`;
}

/** Resolves once `condition()` is true, looking every `intervalMs` (at once first). */
export async function whenTrue(condition: () => boolean, intervalMs: number): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
