/**
 * A local Mixpanel API emulator: `startEmulator()` serves export, engage, cohorts, funnels, annotations,
 * revenue and the ingestion endpoints on one loopback port, with Mixpanel's auth, regions, limits, error
 * bodies and scriptable faults. Types: `types.ts`.
 */
import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Emulator, EmulatorData, EmulatorOptions, EmulatorProject, ExportQuery, ExportedEvent, RateLimits } from './types.js';
import { DataGenerator } from './generator.js';
import { FaultRegistry } from './faults.js';
import { MIXPANEL_LIMITS, RateLimiter } from './rate-limits.js';
import { ProjectStore, storedEvent } from './store.js';
import type { Props } from './store.js';
import { RequestLogImpl, createRequestHandler } from './server.js';
import { planExport } from './routes-export.js';
import { exportLines } from './export-lines.js';
import { DAY_MS, isValidZone } from './time.js';
import { isRecord, parseJson } from './json.js';
import { hostileEvents, hostileProfiles } from './hostile.js';

export type * from './types.js';
export { GENERATOR_EPOCH_MS } from './generator.js';
export { MIXPANEL_LIMITS, NO_RATE_LIMITS } from './rate-limits.js';

export const DEFAULT_PROJECT: EmulatorProject = {
  id: 1000,
  region: 'US',
  timezone: 'UTC',
  legacyLocalTime: false,
  apiSecret: 'emulator-api-secret',
  token: 'emulator-token',
  serviceAccount: { username: 'emulator.000000.mp-service-account', secret: 'emulator-sa-secret' },
};

export const DEFAULT_SESSION_TTL_MS = 10 * 60_000;

function projectAt(i: number, override: Partial<EmulatorProject>): EmulatorProject {
  const base: EmulatorProject =
    i === 0
      ? DEFAULT_PROJECT
      : {
          id: 1000 + i,
          region: 'US',
          timezone: 'UTC',
          legacyLocalTime: false,
          apiSecret: `emulator-api-secret-${i}`,
          token: `emulator-token-${i}`,
          serviceAccount: { username: `emulator${i}.${i.toString(16).padStart(6, '0')}.mp-service-account`, secret: `emulator-sa-secret-${i}` },
        };
  const p: EmulatorProject = { ...base, ...override, serviceAccount: { ...base.serviceAccount, ...(override.serviceAccount ?? {}) } };
  if (!isValidZone(p.timezone)) throw new Error(`Emulator project ${p.id}: timezone ${JSON.stringify(p.timezone)} is not an IANA zone (e.g. "America/New_York")`);
  return p;
}

function parseExported(line: string): ExportedEvent {
  const v = parseJson(line);
  if (!isRecord(v) || typeof v['event'] !== 'string' || !isRecord(v['properties'])) throw new Error(`emulator produced a malformed export line: ${line.slice(0, 200)}`);
  return v as unknown as ExportedEvent;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const days = options.days ?? 14;
  const startMs = now();
  const windowStartMs = Math.floor(startMs / DAY_MS) * DAY_MS - days * DAY_MS;
  const overrides = options.projects ?? [{}];
  const projects = (overrides.length === 0 ? [{}] : overrides).map((o, i) => projectAt(i, o));
  const ids = new Set(projects.map((p) => p.id));
  if (ids.size !== projects.length) throw new Error('Emulator projects need distinct ids');

  const stores = projects.map((project, i) => {
    const wantsData = (options.eventsPerDay ?? 0) > 0 || (options.profiles ?? 0) > 0 || (options.cohorts ?? 0) > 0;
    const generator = wantsData
      ? new DataGenerator({
          seed: i === 0 ? seed : seed + i * 7919,
          eventsPerDay: options.eventsPerDay ?? 0,
          windowStartMs,
          profiles: options.profiles ?? 0,
          cohorts: options.cohorts ?? 0,
        })
      : null;
    return new ProjectStore(project, generator, now);
  });

  const limits: RateLimits = { ...MIXPANEL_LIMITS, ...(options.limits ?? {}) };
  const faults = new FaultRegistry();
  const log = new RequestLogImpl();
  const limiter = new RateLimiter(limits, options.rateLimitClock ?? Date.now, { queryBudgetCounts: options.queryBudgetCounts ?? 'queries' });
  const handler = createRequestHandler({ stores, faults, limiter, log, now, sessionTtlMs: options.engageSessionTtlMs ?? DEFAULT_SESSION_TTL_MS });

  const storeOf = (projectId: number | undefined): ProjectStore => {
    if (projectId === undefined) return stores[0] as ProjectStore;
    const s = stores.find((x) => x.project.id === projectId);
    if (s === undefined) throw new Error(`Emulator has no project ${projectId}; projects: ${stores.map((x) => x.project.id).join(', ')}`);
    return s;
  };

  const linesOf = (q: ExportQuery): string[] => {
    const store = storeOf(q.projectId);
    const params: Record<string, string> = { from_date: q.fromDate, to_date: q.toDate, time_in_ms: q.timeInMs === false ? 'false' : 'true' };
    if (q.event !== undefined) params['event'] = JSON.stringify(q.event);
    if (q.where !== undefined) params['where'] = q.where;
    if (q.limit !== undefined) params['limit'] = String(q.limit);
    const planned = planExport(store, params, q.nowMs ?? now());
    if (!planned.ok) throw new Error(`data.exportEvents: ${planned.message}`);
    return [...exportLines(store, planned.plan)];
  };

  const data: EmulatorData = {
    importEvents(events, opts = {}) {
      const store = storeOf(opts.projectId);
      const proc = opts.processingTimeMs ?? now();
      for (const e of events) store.addEvent(storedEvent(e.event, e.properties, proc));
    },
    exportEvents: (q) => linesOf(q).map(parseExported),
    exportLines: linesOf,
    countDistinctInsertIds(q) {
      const seen = new Set<string>();
      let without = 0;
      for (const e of linesOf(q).map(parseExported)) {
        const id = e.properties['$insert_id'];
        if (typeof id === 'string') seen.add(id);
        else without++;
      }
      return seen.size + without;
    },
    setProfile(distinctId, properties, opts = {}) {
      storeOf(opts.projectId).setProfile(distinctId, { ...properties } as Props, opts.ignoreTime === true);
    },
    updateProfile(distinctId, operation, opts = {}) {
      const [op, value] = Object.entries(operation)[0] ?? [];
      if (op === undefined) throw new Error('updateProfile needs one operation, e.g. { $set: { plan: "pro" } }');
      const err = storeOf(opts.projectId).applyProfileOperation(distinctId, op, value, opts.ignoreTime === true);
      if (err !== undefined) throw new Error(`updateProfile: ${err}`);
    },
    deleteProfile: (distinctId, opts = {}) => storeOf(opts.projectId).deleteProfile(distinctId),
    getProfile(distinctId, opts = {}) {
      const p = storeOf(opts.projectId).getProfile(distinctId);
      return p === undefined ? undefined : { distinctId, properties: p as ExportedEvent['properties'] };
    },
    listProfiles: (opts = {}) => storeOf(opts.projectId).listProfiles(),
    addCohort: (cohort, opts = {}) => storeOf(opts.projectId).addCohort(cohort),
    setCohortMembers: (cohortId, members, opts = {}) => storeOf(opts.projectId).setCohortMembers(cohortId, members),
    getCohortMembers: (cohortId, opts = {}) => [...(storeOf(opts.projectId).cohortMembers(cohortId) ?? [])],
    listCohorts: (opts = {}) => storeOf(opts.projectId).listCohorts(),
    removeCohort: (cohortId, opts = {}) => storeOf(opts.projectId).removeCohort(cohortId),
    deleteCohortDataGroup: (cohortId, opts = {}) => storeOf(opts.projectId).markCohortDataGroupDeleted(cohortId),
    setGroupProfiles(dataGroupId, profiles, opts = {}) {
      const m = storeOf(opts.projectId).groupProfiles(dataGroupId);
      for (const p of profiles) m.set(p.distinctId, { ...p.properties } as Props);
    },
    listGroupProfiles: (dataGroupId, opts = {}) =>
      [...storeOf(opts.projectId).groupProfiles(dataGroupId).entries()].map(([distinctId, properties]) => ({ distinctId, properties: properties as ExportedEvent['properties'] })),
    dataGroupIdForKey: (groupKey, opts = {}) => storeOf(opts.projectId).dataGroupIdForKey(groupKey),
    addHostileFixtures(opts = {}) {
      const store = storeOf(opts.projectId);
      const proc = opts.processingTimeMs ?? now();
      const events = hostileEvents(proc - 60_000);
      for (const e of events) store.addEvent(storedEvent(e.event, e.properties, proc));
      const profiles = hostileProfiles();
      for (const p of profiles) store.setProfile(p.distinctId, p.properties, true);
      return { events: events.length, profiles: profiles.length };
    },
  };

  if (options.hostile === true) for (const s of stores) data.addHostileFixtures({ projectId: s.project.id, processingTimeMs: startMs });

  const server: Server = options.tls === undefined ? createHttpServer(handler) : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  server.keepAliveTimeout = 5000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`,
    port,
    project: projects[0] as EmulatorProject,
    projects,
    limits,
    faults,
    log,
    data,
    now,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
