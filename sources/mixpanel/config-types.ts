/** The parsed, validated Mixpanel connection configuration (see `config.ts` for the parser from env). */

export type MixpanelRegion = 'US' | 'EU' | 'IN';

export type MixpanelAuth =
  | { readonly kind: 'service_account'; readonly username: string; readonly secret: string; readonly projectId: number }
  | { readonly kind: 'api_secret'; readonly secret: string; readonly projectId?: number };

export interface MixpanelConfig {
  readonly auth: MixpanelAuth;
  readonly region: MixpanelRegion;
  /** IANA zone of the project (for legacy projects: how `time` is stored and how dates are read). Default UTC. */
  readonly projectTimezone: string;
  /** Projects created before 2023-01-01 store `time` in project-local time and read dates in the project zone. */
  readonly legacyLocalTime: boolean;
  /** How far back the first run of an incremental table reaches. Default 30 days. */
  readonly historicalDays: number;
  /**
   * One Mixpanel-compatible server for every API (the emulator, a proxy). Paths stay `/api/2.0/export`,
   * `/api/query/...`. When unset, the regional Mixpanel hosts are used.
   */
  readonly baseUrl?: string;
  /** User-Agent header of every call (MIXPANEL_USER_AGENT); default `mixpanel-lakeflow/<version>`. */
  readonly userAgent?: string;
  /** Worker threads parsing export bodies (MIXPANEL_PARSE_WORKERS); 0 = parse on the main thread; default: cores − 1, at most 4. */
  readonly parseWorkers?: number;
}
