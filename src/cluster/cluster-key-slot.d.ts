// The package ships no typings; this is the part of its API used here.
declare module 'cluster-key-slot' {
  /** Redis Cluster hash slot (CRC16 mod 16384, `{hashtag}` rules) of a key; strings are hashed as UTF-8. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The slot all keys share, or -1 if they do not share one. */
    function generateMulti(keys: Array<string | Buffer>): number;
  }
  export = calculateSlot;
}
