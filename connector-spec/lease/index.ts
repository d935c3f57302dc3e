/** Leases: locks that never need a person after a crash (the runner's state folder, the proxy's spool). */
export {
  DEFAULT_LEASE_MS,
  LEASE_ENV,
  acquireLease,
  describeExpiry,
  describeHolder,
  leaseMsFromEnv,
  parseLeaseSeconds,
  type AcquireLeaseOptions,
  type HolderFields,
  type Lease,
  type LeaseHeld,
  type LeaseHolderInfo,
} from './lease.js';
export { LEASE_FORMAT, parseHolder, type Holder, type LeaseRecord } from './lease-record.js';
export {
  createSystemIdentity,
  parseProcStat,
  parsePsLine,
  systemIdentity,
  type ProcessIdentity,
  type ProcessIdentitySource,
  type ProcessStatus,
  type SystemIdentityOptions,
} from './process-identity.js';
export { judgeHolder, judgeLocalHolder, locality, type HeldReason, type Locality, type StaleReason, type Verdict } from './takeover-rules.js';
