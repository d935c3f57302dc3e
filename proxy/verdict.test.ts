/** Mixpanel's answer → a verdict per record, for every answer form in mixpanel-api-notes.md §6 (issue 19 finding 12). */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { recordVerdicts, type RecordVerdict, type UpstreamAnswer } from './verdict.js';

const answer = (status: number, body: string | Buffer, headers: [string, string][] = []): UpstreamAnswer => ({
  ok: true,
  status,
  headers,
  body: typeof body === 'string' ? Buffer.from(body) : body,
});
const ok: RecordVerdict = { accepted: true, error: null };

describe('recordVerdicts', () => {
  const cases: [string, UpstreamAnswer, number, RecordVerdict[]][] = [
    ['text 1', answer(200, '1', [['Content-Type', 'text/plain']]), 2, [ok, ok]],
    ['text 0 (HTTP 200): a batch over 2,000, an update with two operations', answer(200, '0'), 2, [
      { accepted: false, error: 'Mixpanel answered 0 (nothing in the request was valid; ask with verbose=1 for the reason)' },
      { accepted: false, error: 'Mixpanel answered 0 (nothing in the request was valid; ask with verbose=1 for the reason)' },
    ]],
    ['text 1 with a trailing newline', answer(200, '1\n'), 1, [ok]],
    ['verbose success', answer(200, '{"status": 1, "error": null}'), 1, [ok]],
    ['verbose refusal', answer(200, '{"error": "Engage API error: exactly one operation is required", "status": 0}'), 2, [
      { accepted: false, error: 'Engage API error: exactly one operation is required' },
      { accepted: false, error: 'Engage API error: exactly one operation is required' },
    ]],
    ['verbose refusal without a message', answer(200, '{"status": 0}'), 1, [{ accepted: false, error: 'Mixpanel answered status 0' }]],
    ['verbose=2: a refusal with HTTP 400', answer(400, '{"error": "Engage API error: $distinct_id, missing or empty", "status": 0}'), 1, [
      { accepted: false, error: 'HTTP 400: Engage API error: $distinct_id, missing or empty' },
    ]],
    ['JSONP 1', answer(200, 'cb(1);', [['content-type', 'text/javascript']]), 1, [ok]],
    ['JSONP verbose refusal', answer(200, 'window.mp_cb({"status":0,"error":"token, missing or empty"})'), 1, [{ accepted: false, error: 'token, missing or empty' }]],
    ['gzip-compressed verbose answer', answer(200, gzipSync('{"status":0,"error":"too many events"}'), [['Content-Encoding', 'gzip']]), 1, [{ accepted: false, error: 'too many events' }]],
    ['a pixel gif (img=1) says nothing', answer(200, Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'), [['Content-Type', 'image/gif']]), 1, [{ accepted: null, error: null }]],
    ['an unknown 200 body says nothing', answer(200, '<html>hello</html>'), 1, [{ accepted: null, error: null }]],
    ['an empty 200 body says nothing', answer(200, ''), 1, [{ accepted: null, error: null }]],
    ['/import OK', answer(200, '{"code":200,"num_records_imported":3,"status":"OK"}'), 3, [ok, ok, ok]],
    ['/import status 1', answer(200, '{"code":200,"num_records_imported":1,"status":1}'), 1, [ok]],
    ['/import per-record failures: the others were imported', answer(400, JSON.stringify({
      code: 400, error: 'some data points in the request failed validation',
      failed_records: [{ index: 1, $insert_id: 'b', field: 'properties.time', message: "'properties.time' is invalid: must be after 1971-01-01" }, { index: 3, insert_id: 'd', message: 'bad' }],
      num_records_imported: 2, status: 'Bad Request',
    })), 4, [ok, { accepted: false, error: "properties.time: 'properties.time' is invalid: must be after 1971-01-01" }, ok, { accepted: false, error: 'bad' }]],
    ['/import: every record failed', answer(400, '{"code":400,"error":"failed validation","failed_records":[{"index":0,"message":"x"}],"num_records_imported":0,"status":"Bad Request"}'), 2, [
      { accepted: false, error: 'x' },
      { accepted: false, error: 'failed validation' },
    ]],
    ['401 with an error body', answer(401, '{"error": "Invalid credentials", "status": "error"}'), 1, [{ accepted: false, error: 'HTTP 401: Invalid credentials' }]],
    ['413 from the proxy path', answer(413, '{"code":413,"error":"request exceeds max limit of 2097152 bytes","status":"Request Entity Too Large"}'), 1, [{ accepted: false, error: 'HTTP 413: request exceeds max limit of 2097152 bytes' }]],
    ['503 with no body', answer(503, ''), 2, [{ accepted: false, error: 'HTTP 503' }, { accepted: false, error: 'HTTP 503' }]],
    ['refused connection: never sent', { ok: false, timeout: false, error: 'ECONNREFUSED' }, 1, [{ accepted: false, error: 'Mixpanel unreachable: ECONNREFUSED' }]],
    ['DNS failure: never sent', { ok: false, timeout: false, error: 'ENOTFOUND' }, 1, [{ accepted: false, error: 'Mixpanel unreachable: ENOTFOUND' }]],
    ['reset mid-answer: unknown', { ok: false, timeout: false, error: 'ECONNRESET' }, 1, [{ accepted: null, error: 'Mixpanel unreachable: ECONNRESET' }]],
    ['timeout: unknown', { ok: false, timeout: true, error: 'no answer within 30000 ms' }, 1, [{ accepted: null, error: 'no answer from Mixpanel (no answer within 30000 ms); it may or may not have the records' }]],
  ];

  it.each(cases)('%s', (_name, upstream, count, expected) => {
    expect(recordVerdicts(upstream, count)).toEqual(expected);
  });

  it('clips a long error text', () => {
    const [v] = recordVerdicts(answer(200, JSON.stringify({ status: 0, error: 'e'.repeat(2000) })), 1);
    expect(v!.accepted).toBe(false);
    expect(v!.error).toHaveLength(501);
  });
});
