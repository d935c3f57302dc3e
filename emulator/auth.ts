/** Mixpanel authentication: project secret, service account (+ project_id), project token on `/import`. */
import type { EmulatorProject } from './types.js';

export type AuthOutcome =
  | { readonly ok: true; readonly project: EmulatorProject; readonly via: 'secret' | 'service_account' | 'token' }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

interface BasicCredentials {
  readonly user: string;
  readonly pass: string;
}

/** `Basic base64(user:pass)`, `Basic base64(secret)` or the un-encoded `Basic user:secret`. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic\s+(.+)$/i.exec(header.trim());
  if (m === null) return undefined;
  const raw = (m[1] as string).trim();
  const decoded = raw.includes(':') ? raw : Buffer.from(raw, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? { user: decoded, pass: '' } : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

export function authenticate(
  header: string | undefined,
  projectIdParam: string | undefined,
  projects: readonly EmulatorProject[],
  options: { readonly allowToken: boolean },
): AuthOutcome {
  const creds = parseBasic(header);
  if (creds === undefined || creds.user === '') return { ok: false, status: 401, message: 'Unable to authenticate request: missing credentials (HTTP Basic auth)' };
  const wantedId = projectIdParam === undefined || projectIdParam === '' ? undefined : Number(projectIdParam);
  if (creds.pass === '') {
    const bySecret = projects.find((p) => p.apiSecret === creds.user);
    const byToken = options.allowToken ? projects.find((p) => p.token === creds.user) : undefined;
    const project = bySecret ?? byToken;
    if (project === undefined) return { ok: false, status: 401, message: 'Unauthorized, invalid project secret. See docs for more information: https://developer.mixpanel.com/reference/authentication#project-secret' };
    if (wantedId !== undefined && wantedId !== project.id) return { ok: false, status: 401, message: `Unauthorized, invalid project secret for project_id: ${projectIdParam}` };
    return { ok: true, project, via: bySecret !== undefined ? 'secret' : 'token' };
  }
  const saProjects = projects.filter((p) => p.serviceAccount.username === creds.user && p.serviceAccount.secret === creds.pass);
  if (saProjects.length === 0) return { ok: false, status: 401, message: 'Invalid service account credentials' };
  if (wantedId === undefined || !Number.isInteger(wantedId)) return { ok: false, status: 401, message: 'project_id is required when authenticating with a service account' };
  const project = saProjects.find((p) => p.id === wantedId);
  if (project === undefined) return { ok: false, status: 403, message: `Service account does not have access to project ${projectIdParam}` };
  return { ok: true, project, via: 'service_account' };
}
