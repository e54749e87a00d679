/**
 * vctx-exporter's --listen: ADDR:PORT, apart from the command (which starts
 * serving when loaded) so that tests can call it.
 */
import { isIP } from 'node:net';

/**
 * The default address: loopback only, port 10095.  The exporter range of
 * Prometheus's default port allocations (9100-9999) is used up; see
 * docs/metrics.md.
 */
export const DEFAULT_LISTEN = '127.0.0.1:10095';

/** ADDR:PORT as --listen takes it (host '' for every address), or what is wrong with it */
export function parseListen(s: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const why = 'ADDR:PORT (e.g. 127.0.0.1:10095, [::1]:10095 or :10095) with a port from 1 to 65535';
  if (!m) return `--listen '${s}': not ${why}`;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `--listen '${s}': port ${m[3]} is not from 1 to 65535`;
  if (m[1] !== undefined && isIP(host) !== 6) return `--listen '${s}': '${host}' is not an IPv6 address`;
  if (m[2] !== undefined && host !== '' && isIP(host) !== 4) return `--listen '${s}': '${host}' is not an IPv4 address (IPv6 goes in brackets)`;
  return { host, port };
}
