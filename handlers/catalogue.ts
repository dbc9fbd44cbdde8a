/**
 * The actions Homeostat's handlers provide. The playbook loader refuses a playbook that names
 * an action outside this list.
 */
export const ACTION_CATALOGUE = [
  'process.restart',
  'target.health',
  'notify.send',
  'acl.assess',
  'acl.quiet',
  'bus.blacklist',
  'bus.unblacklist',
  'bus.ping',
  'process.top',
  'process.throttle',
  'process.kill_runaway',
  'process.kill',
  'process.renice',
  'resource.cpu',
] as const;
export type ActionName = (typeof ACTION_CATALOGUE)[number];
