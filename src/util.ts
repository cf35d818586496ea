/** Node-style callback support for a promise-returning method (as ioredis does). */
export function asCallback<T>(promise: Promise<T>, callback?: (err: Error | null, result?: T) => void): Promise<T> {
  if (typeof callback === 'function') {
    promise.then(
      (result) => process.nextTick(callback, null, result),
      (error: Error) => process.nextTick(callback, error),
    );
  }
  return promise;
}

export function noop(): void {}
