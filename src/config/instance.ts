/**
 * Instances (docs/instances.md): VCTX_INSTANCE=NAME selects a second,
 * independent vctx on the same kernel; unset or empty is the default
 * instance, whose paths are the ones vctx always had.  A named instance's
 * paths are the default's with "@NAME" appended (/etc/vservers@NAME,
 * /vservers@NAME, /run/vservers@NAME; libvctx: the cgroup tree vctx@NAME,
 * /sys/fs/bpf/vctx@NAME, /run/vctx@NAME).  Its name follows the server-name
 * rule (kernel/tables/vctx-tables.json), which libvctx checks too.
 */
import { serverNameProblem } from './name.js';

/** the variable that names the instance */
export const INSTANCE_ENV = 'VCTX_INSTANCE';

/** a bad VCTX_INSTANCE: a usage error (exit 2) */
export class InstanceError extends Error {}

/**
 * The instance @env selects: '' for the default one.
 * @throws InstanceError when VCTX_INSTANCE is not a valid name
 */
export function instanceName(env: Record<string, string | undefined> = process.env): string {
  const v = env[INSTANCE_ENV];
  if (v === undefined || v === '') return '';
  const why = serverNameProblem(v);
  if (why) throw new InstanceError(`${INSTANCE_ENV}=${JSON.stringify(v)}: ${why} (an instance name follows the server-name rule)`);
  return v;
}

/** what a named instance appends to each default path: '' or '@NAME' */
export function instanceSuffix(instance: string): string {
  return instance === '' ? '' : `@${instance}`;
}
