/**
 * Server configuration: /etc/vservers/NAME.conf read (never run), checked
 * and typed; the capability table; the cross-file and file-system checks;
 * the template of a new server; the vctx directories.
 */
export * from './caps.js';
export * from './checks.js';
export * from './edit.js';
export * from './instance.js';
export * from './issues.js';
export * from './lexer.js';
export * from './load.js';
export * from './parse.js';
export * from './paths.js';
export * from './template.js';
export * from './types.js';
export * from './ulimit.js';
export * from './validate.js';
export {
  CONFIG_KEYS, KEY_SCHEMAS, canonicalIPv6, hostnameProblem, interfaceNameProblem, ipv4UnicastProblem, ipv6UnicastProblem,
  type IpRoot,
} from './values.js';
