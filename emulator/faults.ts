/** Scriptable per-request fault injection. */
import type { EmulatorFaults, EmulatorRoute, FaultAction, FaultHandle, FaultSpec } from './types.js';

interface ActiveFault {
  readonly spec: FaultSpec;
  seen: number;
  fired: number;
  removed: boolean;
}

export interface FaultRequest {
  readonly route: EmulatorRoute;
  readonly projectId: number | undefined;
  readonly params: Readonly<Record<string, string>>;
}

function cohortIdOf(params: Readonly<Record<string, string>>): number | undefined {
  const raw = params['filter_by_cohort'];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v === 'object' && v !== null && 'id' in v) return Number((v as { id: unknown }).id);
  } catch {
    return undefined;
  }
  return undefined;
}

/** Whether an action can apply to the request at all (so `nth` counts only relevant requests). */
function applies(action: FaultAction, req: FaultRequest): boolean {
  switch (action.kind) {
    case 'engage-session-expired':
      return req.route === 'engage' && Number(req.params['page'] ?? '0') === action.page;
    case 'missing-datagroup':
      return req.route === 'engage' && cohortIdOf(req.params) === action.cohortId;
    case 'terminated-early':
    case 'reset':
    case 'gzip-cut':
      return req.route === 'export';
    default:
      return true;
  }
}

export class FaultRegistry implements EmulatorFaults {
  private faults: ActiveFault[] = [];

  get active(): number {
    return this.faults.filter((f) => !f.removed && f.fired < (f.spec.times ?? 1)).length;
  }

  add(spec: FaultSpec): FaultHandle {
    const f: ActiveFault = { spec, seen: 0, fired: 0, removed: false };
    this.faults.push(f);
    return {
      get fired() {
        return f.fired;
      },
      get seen() {
        return f.seen;
      },
      remove: () => {
        f.removed = true;
        this.faults = this.faults.filter((x) => x !== f);
      },
    };
  }

  status(route: EmulatorRoute | 'any', status: number, options: { readonly body?: string | object; readonly retryAfterSeconds?: number; readonly nth?: number; readonly times?: number } = {}): FaultHandle {
    const action: FaultAction = {
      kind: 'status',
      status,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
    };
    return this.add({ route, action, ...(options.nth === undefined ? {} : { nth: options.nth }), ...(options.times === undefined ? {} : { times: options.times }) });
  }

  clear(): void {
    for (const f of this.faults) f.removed = true;
    this.faults = [];
  }

  /** The faults that fire for this request (each counts the request as seen). */
  take(req: FaultRequest): { readonly action: FaultAction; readonly name: string }[] {
    const out: { action: FaultAction; name: string }[] = [];
    for (const f of this.faults) {
      const s = f.spec;
      if (f.removed) continue;
      if (s.route !== 'any' && s.route !== req.route) continue;
      if (s.projectId !== undefined && s.projectId !== req.projectId) continue;
      if (!applies(s.action, req)) continue;
      if (s.when !== undefined && !s.when(req.params)) continue;
      f.seen++;
      if (f.seen >= (s.nth ?? 1) && f.fired < (s.times ?? 1)) {
        f.fired++;
        out.push({ action: s.action, name: s.name ?? s.action.kind });
      }
    }
    return out;
  }
}
