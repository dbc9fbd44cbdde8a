/** The composition root: starts and connects the components. Only `cli/`, `stress/` and `bench/` import it. */
export { startStack, type Stack, type StackOptions } from './stack.js';
export { componentEnv } from './component-env.js';
export { activeBlacklist, actorLogins, blacklistStoreIn, startAclDefence, type AclDefence } from './acl-defence.js';
export { acquireHomeLock, readLockHolder, holderAlive, LOCK_FILE, type HomeLock, type LockHolder } from './home-lock.js';
export { stopLeftovers, findLeftovers, writeChildPidFile, removeChildPidFile, REAPER, TARGET_PID_DIR, type ChildPidFile } from './child-pid-files.js';
export { startOrphanReaper, type OrphanReaper } from './orphan-reaper.js';
export * from './errors.js';
export { claimStackIdentity, StackIdentityTakenError, type StackIdentity } from './stack-identity.js';
