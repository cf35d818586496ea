/** What replaces a secret wherever one would be printed (URLs, CLI output). */
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
