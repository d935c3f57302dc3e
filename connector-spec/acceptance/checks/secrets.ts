/**
 * No secret in a log line, a stats warning, an error (message, stack, cause, context) or a cursor. Drives the
 * full read and the error paths: an unknown table and bad table options.
 */
import type { TableContext } from '../context.js';
import { UNKNOWN_TABLE } from '../context.js';
import { fail, preview } from '../failures.js';
import { safeText } from '../logger.js';
import { DEFAULT_BAD_OPTIONS } from './schema.js';
import { thrownBy, type TableCheck } from './check.js';

/** The forms a secret leaks in: raw, base64 (Basic auth), base64 of "secret:" and URL-encoded. */
export function secretForms(secret: string): string[] {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return [...new Set([secret, b64(secret), b64(`${secret}:`).replace(/=+$/, ''), encodeURIComponent(secret)])];
}

function errorText(error: unknown, depth = 0): string {
  if (!(error instanceof Error)) return safeText(error);
  const extra = safeText({ ...error });
  const cause = depth < 5 && error.cause !== undefined ? ` cause: ${errorText(error.cause, depth + 1)}` : '';
  return `${error.name}: ${error.message} ${error.stack ?? ''} ${extra}${cause}`;
}

/** Run `call` (sync throw, rejection, or an error on the first iteration of a returned generator). */
async function errorOf(call: () => unknown): Promise<unknown> {
  return thrownBy(async () => {
    const result = call();
    if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
      const generator = result as AsyncGenerator<unknown, unknown, undefined>;
      try {
        await generator.next();
      } finally {
        await generator.return(null);
      }
    } else {
      await result;
    }
  });
}

export const noSecretLeaks: TableCheck = {
  id: 'no secret leaks',
  scope: 'table',
  async run(ctx: TableContext) {
    const secrets = ctx.run.options.secrets ?? [];
    if (secrets.length === 0) fail(`${ctx.name}: no secrets option: pass the credentials createSource uses, or skip "${ctx.name} > no secret leaks" with a reason`);
    if (secrets.some((s) => s.length < 4)) fail(`${ctx.name}: secrets must be at least 4 characters (a shorter one matches by chance)`);
    const haystacks: { where: string; text: string }[] = [];
    const { sequence, logger, stats } = await ctx.fullRead();
    sequence.calls.forEach((c, i) => haystacks.push({ where: `the cursor of call ${i + 1}`, text: safeText(c.output) }));
    logger.lines.forEach((l, i) => haystacks.push({ where: `log line ${i + 1} of the full read`, text: l.text }));
    stats.warnings.forEach((w, i) => haystacks.push({ where: `stats warning ${i + 1}`, text: w }));
    const handle = await ctx.run.newSource();
    const { source } = handle;
    const configured = ctx.run.options.badTableOptions;
    const bad = typeof configured === 'function' ? configured(ctx.name) : (configured ?? DEFAULT_BAD_OPTIONS);
    const errors: [string, unknown][] = [
      ['getSchema(unknown table)', await errorOf(() => source.getSchema(UNKNOWN_TABLE, {}))],
      ['readTableMetadata(unknown table)', await errorOf(() => source.readTableMetadata(UNKNOWN_TABLE, {}))],
      ['readTable(unknown table)', await errorOf(() => source.readTable(UNKNOWN_TABLE, null, { logger: handle.logger }))],
      ['readTable(bad options)', await errorOf(() => source.readTable(ctx.name, null, { tableOptions: { ...ctx.tableOptions, ...bad }, logger: handle.logger }))],
    ];
    for (const [where, error] of errors) haystacks.push({ where: `the error of ${where}`, text: errorText(error) });
    handle.logger.lines.forEach((l, i) => haystacks.push({ where: `log line ${i + 1} of the error paths`, text: l.text }));
    const leaks: string[] = [];
    secrets.forEach((secret, s) => {
      for (const form of secretForms(secret)) {
        for (const h of haystacks) if (h.text.includes(form)) leaks.push(`secret #${s + 1} in ${h.where}: ${h.text.split(form).join('***').slice(0, 160)}`);
      }
    });
    if (leaks.length > 0) fail(`${ctx.name}: secrets leak: ${preview(leaks, 3)}`);
  },
};
