/** The composition root: starts and connects the components. Only `cli/`, `stress/` and `bench/` import it. */
export { startStack, type Stack, type StackOptions } from './stack.js';
export { componentEnv } from './component-env.js';
export { activeBlacklist, actorLogins, blacklistStoreIn, startAclDefence, type AclDefence } from './acl-defence.js';
