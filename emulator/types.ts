/**
 * Public types of the Mixpanel API emulator. Code against these; `index.ts` re-exports them.
 *
 * The emulator is a test double: only tests, the CLI and the bench import it.
 */

/** A JSON value as the emulator stores it. Integers beyond 2^53 are `bigint` (written back exactly). */
export type EmulatorJson =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly EmulatorJson[]
  | { readonly [key: string]: EmulatorJson };

export type Region = 'US' | 'EU' | 'IN';

/** One Mixpanel project as the emulator serves it. */
export interface EmulatorProject {
  readonly id: number;
  readonly region: Region;
  /** IANA zone. For legacy projects: how `time` is stored and how export dates are read. */
  readonly timezone: string;
  /** Created before 2023-01-01: `time` stored as project-local wall clock read as UTC. */
  readonly legacyLocalTime: boolean;
  /** Project secret: Basic auth username with empty password. */
  readonly apiSecret: string;
  /** Project token: ingestion payloads (`properties.token`, `$token`), or Basic username on `/import`. */
  readonly token: string;
  readonly serviceAccount: { readonly username: string; readonly secret: string };
}

/** What the hourly Query-API budget counts (see `EmulatorOptions.queryBudgetCounts`). */
export type QueryBudgetCounts = 'queries' | 'pages';

/** Per-project limits, Mixpanel's numbers by default. `Infinity` disables a limit. */
export interface RateLimits {
  /** Raw export: 60 per hour. */
  readonly exportPerHour: number;
  /** Raw export: 3 per second. */
  readonly exportPerSecond: number;
  /** Raw export: 100 concurrent. */
  readonly exportConcurrent: number;
  /** Query API (engage, cohorts, funnels, annotations, revenue): 60 per hour. */
  readonly queryPerHour: number;
  /** Query API: 5 concurrent. */
  readonly queryConcurrent: number;
  /** Ingestion (`/import`): uncompressed JSON bytes per minute per project (about 2 GB). */
  readonly ingestBytesPerMinute: number;
  /** Length of the "minute" window in ms (60_000). */
  readonly minuteWindowMs: number;
  /** Length of the "hour" window in ms (3_600_000); tests may shorten it. */
  readonly hourWindowMs: number;
  /** Length of the "second" window in ms (1000). */
  readonly secondWindowMs: number;
}

export interface EmulatorOptions {
  /** TCP port, 0 (default) = any free port. */
  readonly port?: number;
  /** Listen address, default 127.0.0.1. */
  readonly host?: string;
  /** Seed of the generated data (default 1). Same seed + same clock → same data in any process. */
  readonly seed?: number;
  /** Generated events per day per project (0 = none, default). */
  readonly eventsPerDay?: number;
  /** Days of generated history before the start clock (default 14). */
  readonly days?: number;
  /** Generated user profiles per project (default 0). */
  readonly profiles?: number;
  /** Generated cohorts per project (default 0). */
  readonly cohorts?: number;
  /** Clock (epoch ms), default `Date.now`. Events become visible when it passes their `mp_processing_time_ms`. */
  readonly now?: () => number;
  /**
   * Projects. Each entry overrides the defaults of project i (project 0: id 1000, US, UTC, not legacy,
   * secret `emulator-api-secret`, token `emulator-token`, service account
   * `emulator.000000.mp-service-account` / `emulator-sa-secret`; project i > 0 gets id 1000 + i and
   * secrets suffixed with `-i`). Default: one project.
   */
  readonly projects?: readonly Partial<EmulatorProject>[];
  /** Rate limits (partial overrides of Mixpanel's numbers). */
  readonly limits?: Partial<RateLimits>;
  /**
   * Clock of the rate-limit windows (default `Date.now`: real time, whatever `now` says, so a frozen data
   * clock does not freeze the per-second window).
   */
  readonly rateLimitClock?: () => number;
  /** Engage `session_id` lifetime (default 10 minutes of emulator clock). */
  readonly engageSessionTtlMs?: number;
  /**
   * What the hourly Query-API budget counts: `queries` (default, as Mixpanel documents it: an Engage page with a
   * `session_id` continues its query and is not counted; it still takes a concurrency slot) or `pages` (every
   * request counts, the stricter reading some clients assume).
   */
  readonly queryBudgetCounts?: QueryBudgetCounts;
  /** Add hostile fixtures (see `EmulatorData.addHostileFixtures`) to every project at start. */
  readonly hostile?: boolean;
  /** Serve HTTPS with this key/cert (PEM) instead of HTTP (the `mixpanel` npm client needs https for `/import`). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
}

/** An event as sent to `/import` or `/track`. */
export interface IngestEvent {
  readonly event: string;
  readonly properties: { readonly [key: string]: EmulatorJson };
}

/** An event as the export returns it (parsed losslessly: 19-digit integers are `bigint`). */
export interface ExportedEvent {
  readonly event: string;
  readonly properties: { readonly [key: string]: EmulatorJson };
}

export interface ExportQuery {
  readonly projectId?: number;
  /** Inclusive `yyyy-mm-dd` in the interpreting zone (UTC, or the project zone for legacy projects). */
  readonly fromDate: string;
  readonly toDate: string;
  readonly event?: readonly string[];
  readonly where?: string;
  readonly limit?: number;
  /** Default true (the export's default is false: whole seconds). */
  readonly timeInMs?: boolean;
  /** Visibility clock, default the emulator's clock. */
  readonly nowMs?: number;
}

export interface ProfileRecord {
  readonly distinctId: string;
  readonly properties: { readonly [key: string]: EmulatorJson };
}

/** A profile update as `/engage` and `/groups` accept it (one operation per object, like Mixpanel). */
export type ProfileOperation =
  | { readonly $set: { readonly [key: string]: EmulatorJson } }
  | { readonly $set_once: { readonly [key: string]: EmulatorJson } }
  | { readonly $add: { readonly [key: string]: number } }
  | { readonly $append: { readonly [key: string]: EmulatorJson } }
  | { readonly $union: { readonly [key: string]: readonly EmulatorJson[] } }
  | { readonly $remove: { readonly [key: string]: EmulatorJson } }
  | { readonly $unset: readonly string[] }
  | { readonly $delete: null | '' };

export interface CohortInfo {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  /** Current number of members. */
  readonly count: number;
  readonly is_visible: 0 | 1;
  /** `YYYY-MM-DD HH:MM:SS` */
  readonly created: string;
  readonly project_id: number;
  readonly data_group_id: number | null;
}

export interface NewCohort {
  readonly id?: number;
  readonly name: string;
  readonly description?: string;
  readonly isVisible?: boolean;
  /** `YYYY-MM-DD HH:MM:SS`; default: the clock. */
  readonly created?: string;
  /** Group cohort: its members are group ids of this data group. */
  readonly dataGroupId?: number | null;
  readonly members?: readonly string[];
}

export interface ProjectSelector {
  /** Default: the first project. */
  readonly projectId?: number;
}

/** Seed and inspect the store without HTTP. Every method defaults to the first project. */
export interface EmulatorData {
  /**
   * Ingest events as `/import` would (no validation): they get `mp_processing_time_ms` =
   * `processingTimeMs` (default: the clock) and become exportable once the clock reaches it.
   * `time` may be in seconds or ms.
   */
  importEvents(events: readonly IngestEvent[], options?: ProjectSelector & { readonly processingTimeMs?: number }): void;
  /** What `/api/2.0/export` would return (generated + ingested events), parsed. */
  exportEvents(query: ExportQuery): ExportedEvent[];
  /** The JSONL lines `/api/2.0/export` would return, exact text. */
  exportLines(query: ExportQuery): string[];
  /** Distinct `$insert_id` values among `exportEvents(query)` (events without one are counted once each). */
  countDistinctInsertIds(query: ExportQuery): number;

  /** Replace a profile's properties (creates it). Updates `$last_seen` to the clock unless `ignoreTime`. */
  setProfile(distinctId: string, properties: { readonly [key: string]: EmulatorJson }, options?: ProjectSelector & { readonly ignoreTime?: boolean }): void;
  /** Apply one profile operation (`$set`, `$set_once`, `$add`, …) like `/engage`. */
  updateProfile(distinctId: string, operation: ProfileOperation, options?: ProjectSelector & { readonly ignoreTime?: boolean }): void;
  deleteProfile(distinctId: string, options?: ProjectSelector): void;
  getProfile(distinctId: string, options?: ProjectSelector): ProfileRecord | undefined;
  /** All user profiles (generated + set), in engage order. */
  listProfiles(options?: ProjectSelector): ProfileRecord[];

  addCohort(cohort: NewCohort, options?: ProjectSelector): CohortInfo;
  setCohortMembers(cohortId: number, distinctIds: readonly string[], options?: ProjectSelector): void;
  getCohortMembers(cohortId: number, options?: ProjectSelector): string[];
  listCohorts(options?: ProjectSelector): CohortInfo[];
  removeCohort(cohortId: number, options?: ProjectSelector): void;
  /** Make engage `filter_by_cohort` on this cohort answer 404 `Missing Datagroup`. */
  deleteCohortDataGroup(cohortId: number, options?: ProjectSelector): void;

  /** Replace (or add) group profiles of `data_group_id`, keyed by group id. */
  setGroupProfiles(dataGroupId: number, profiles: readonly ProfileRecord[], options?: ProjectSelector): void;
  listGroupProfiles(dataGroupId: number, options?: ProjectSelector): ProfileRecord[];
  /** The `data_group_id` of a `$group_key` (assigned on first use by `/groups`). */
  dataGroupIdForKey(groupKey: string, options?: ProjectSelector): number;

  /** Add the hostile fixtures (events + profiles); returns what was added. */
  addHostileFixtures(options?: ProjectSelector & { readonly processingTimeMs?: number }): { readonly events: number; readonly profiles: number };
}

/** Route names used by the log, the faults and the rate limits. */
export type EmulatorRoute =
  | 'export'
  | 'engage'
  | 'cohorts'
  | 'funnels'
  | 'funnels-list'
  | 'annotations'
  | 'engage-revenue'
  | 'import'
  | 'track'
  | 'engage-ingest'
  | 'groups'
  | 'unknown';

export interface LogEntry {
  /** 1-based sequence number. */
  readonly seq: number;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly route: EmulatorRoute;
  readonly projectId: number | undefined;
  /** Query string, form body and JSON body parameters merged (JSON values as text). No credentials. */
  readonly params: Readonly<Record<string, string>>;
  /** HTTP status sent (0 until headers are written; stays 0 if the connection was reset first). */
  status: number;
  readonly atMs: number;
  /** Name of the fault that fired on this request, if any. */
  fault: string | undefined;
  /** `/track`, `/engage`, `/groups`: records answered `1` but dropped for a token of no project here (as Mixpanel does). */
  droppedForToken?: number;
}

export interface RequestLog {
  readonly entries: readonly LogEntry[];
  forRoute(route: EmulatorRoute): LogEntry[];
  clear(): void;
}

/**
 * What a fault does. Status faults apply to any route; the stream faults to `export`; the engage faults to
 * `engage`.
 */
export type FaultAction =
  /** Answer with this status. Body: given (object → JSON) or Mixpanel's body for the route family. */
  | { readonly kind: 'status'; readonly status: number; readonly body?: string | object; readonly retryAfterSeconds?: number }
  /** Wait before sending headers (then serve normally). */
  | { readonly kind: 'slow-headers'; readonly delayMs: number }
  /** Export: send N lines, then a bare `terminated early` line, then end cleanly. */
  | { readonly kind: 'terminated-early'; readonly afterLines: number }
  /** Export: destroy the socket after N body bytes (as sent on the wire). */
  | { readonly kind: 'reset'; readonly afterBytes: number }
  /** Export with gzip: end the HTTP body cleanly after N compressed bytes (the gzip stream is incomplete). */
  | { readonly kind: 'gzip-cut'; readonly afterBytes: number }
  /** Engage: the session expires when page K is requested (400 with the query error body). */
  | { readonly kind: 'engage-session-expired'; readonly page: number }
  /** 402 "no API plan" with the route family's body. */
  | { readonly kind: 'no-plan' }
  /** Engage `filter_by_cohort` on this cohort: 404 `Missing Datagroup`. */
  | { readonly kind: 'missing-datagroup'; readonly cohortId: number };

export interface FaultSpec {
  readonly route: EmulatorRoute | 'any';
  readonly action: FaultAction;
  /** Fire on the nth matching request counted from when the fault was added (1-based, default 1). */
  readonly nth?: number;
  /** How many times to fire (default 1; Infinity = every matching request from the nth on). */
  readonly times?: number;
  /** Only requests of this project. */
  readonly projectId?: number;
  /** Extra match on the merged params. */
  readonly when?: (params: Readonly<Record<string, string>>) => boolean;
  /** Name for the log (default: the action kind). */
  readonly name?: string;
}

export interface FaultHandle {
  /** How many times it fired. */
  readonly fired: number;
  /** How many matching requests it has seen. */
  readonly seen: number;
  remove(): void;
}

export interface EmulatorFaults {
  add(spec: FaultSpec): FaultHandle;
  /** Shorthand: `status` on `route`, e.g. `faults.status('export', 429, { retryAfterSeconds: 2 })`. */
  status(route: EmulatorRoute | 'any', status: number, options?: { readonly body?: string | object; readonly retryAfterSeconds?: number; readonly nth?: number; readonly times?: number }): FaultHandle;
  clear(): void;
  readonly active: number;
}

export interface Emulator {
  /** Base URL (`http://127.0.0.1:PORT`), the value for `MIXPANEL_BASE_URL`. */
  readonly url: string;
  readonly port: number;
  /** The first project. */
  readonly project: EmulatorProject;
  readonly projects: readonly EmulatorProject[];
  readonly limits: RateLimits;
  readonly faults: EmulatorFaults;
  readonly log: RequestLog;
  readonly data: EmulatorData;
  /** The clock the emulator uses (epoch ms). */
  now(): number;
  close(): Promise<void>;
}
