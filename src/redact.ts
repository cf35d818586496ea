/** What replaces a secret wherever commands, options or URLs are printed. */
export const REDACTED = '***';

/** The parts of `scheme://[userinfo@]hosts[/path][?query]`, or null for a string without `scheme://`. */
interface UrlParts {
  /** Lower-cased, without `://`. */
  scheme: string;
  userinfo: string | null;
  hostAndPath: string;
  query: string | null;
}

/**
 * Splits a URL the way `resolveOptions` reads it. Redaction and parsing share this one rule so
 * that they never disagree about where a password ends: userinfo runs to the last `@` before the
 * first `?`, so `@`, `/`, `:` and `#` in a password work unencoded; `?` must be written `%3F`.
 */
export function splitUrl(url: string): UrlParts | null {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!scheme) return null;
  const rest = url.slice(scheme[0].length);
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const at = beforeQuery.lastIndexOf('@');
  return {
    scheme: scheme[1]!.toLowerCase(),
    userinfo: at < 0 ? null : beforeQuery.slice(0, at),
    hostAndPath: beforeQuery.slice(at + 1),
    query: q < 0 ? null : rest.slice(q + 1),
  };
}

const SECRET_QUERY_PARAM = /pass/i;

/**
 * The URL with its password, and any query parameter whose name says password, replaced by `***`.
 * The user name stays. A string that is not a URL is returned unchanged.
 */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  const head = url.slice(0, url.indexOf('://') + 3);
  let userinfo = '';
  if (parts.userinfo !== null) {
    const colon = parts.userinfo.indexOf(':');
    userinfo = `${colon < 0 ? parts.userinfo : `${parts.userinfo.slice(0, colon)}:${REDACTED}`}@`;
  }
  let query = '';
  if (parts.query !== null) {
    const params = parts.query.split('&').map((param) => {
      const eq = param.indexOf('=');
      return eq >= 0 && SECRET_QUERY_PARAM.test(param.slice(0, eq)) ? `${param.slice(0, eq + 1)}${REDACTED}` : param;
    });
    query = `?${params.join('&')}`;
  }
  return `${head}${userinfo}${parts.hostAndPath}${query}`;
}

const text = (arg: unknown): string => (Buffer.isBuffer(arg) ? arg.toString() : String(arg)).toLowerCase();

const CONFIG_SECRETS = new Set(['requirepass', 'masterauth', 'tls-key-file-pass', 'tls-client-key-file-pass']);

/**
 * The arguments of a command fit to print (logs, events, errors): passwords replaced by `***`.
 * Covers `AUTH`, `HELLO … AUTH user pass`, `CONFIG SET requirepass|masterauth …`,
 * `MIGRATE … AUTH pass | AUTH2 user pass`, `SENTINEL SET <master> auth-pass …`,
 * `SENTINEL CONFIG SET sentinel-pass …` and `ACL SETUSER … >pass`. Other commands are returned
 * unchanged (as a copy).
 * @param name the command name, any case
 */
export function redactCommandArgs<T>(name: string, args: readonly T[]): (T | string)[] {
  const out: (T | string)[] = [...args];
  const hide = (i: number): void => {
    if (i < out.length) out[i] = REDACTED;
  };
  const sub = args.length > 0 ? text(args[0]) : '';
  switch (name.toLowerCase()) {
    case 'auth':
      // AUTH pass | AUTH user pass
      for (let i = args.length === 1 ? 0 : 1; i < args.length; i++) hide(i);
      break;
    case 'hello':
      // HELLO [protover [AUTH user pass] [SETNAME name]]: walk the clauses, since a name may be "auth".
      for (let i = 1; i < args.length; i++) {
        const word = text(args[i]);
        if (word === 'auth') hide((i += 2));
        else if (word === 'setname') i++;
      }
      break;
    case 'config':
      if (sub === 'set') {
        for (let i = 1; i + 1 < args.length; i += 2) if (CONFIG_SECRETS.has(text(args[i]))) hide(i + 1);
      }
      break;
    case 'migrate':
      // MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pass] [AUTH2 user pass] [KEYS key…]:
      // options start after the five fixed arguments and end at KEYS, whose keys may be named "auth".
      for (let i = 5; i < args.length; i++) {
        const word = text(args[i]);
        if (word === 'keys') break;
        if (word === 'auth') hide(++i);
        else if (word === 'auth2') hide((i += 2));
      }
      break;
    case 'sentinel':
      if (sub === 'set') {
        for (let i = 2; i + 1 < args.length; i += 2) if (text(args[i]) === 'auth-pass') hide(i + 1);
      } else if (sub === 'config' && args.length > 1 && text(args[1]) === 'set') {
        for (let i = 2; i + 1 < args.length; i += 2) if (text(args[i]) === 'sentinel-pass') hide(i + 1);
      }
      break;
    case 'acl':
      if (sub === 'setuser') {
        // Rules `>pass` (add a password) and `#sha256` (add a hash) carry the secret after their sigil.
        for (let i = 2; i < args.length; i++) {
          const rule = Buffer.isBuffer(args[i]) ? (args[i] as Buffer).toString() : String(args[i]);
          if (rule.startsWith('>') || rule.startsWith('#')) out[i] = `${rule[0]}${REDACTED}`;
        }
      }
      break;
  }
  return out;
}
