/** Encoding matrix (A4): every SDK encoding decodes to the same records; garbage and empty bodies do not. */
import { gzipSync, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeIngestBody, type IngestRequest } from './decode.js';

// JSON text with a 19-digit integer and "1.50": a JS object would lose both, so the fixture is text.
const line1 = '{"event":"Signed up","properties":{"time":1763900000.123,"distinct_id":"u-1","$insert_id":"ins-1","big":3928097563762691601,"ratio":1.50,"plan":"pro?&=+/"}}';
const line2 = '{"event":"Viewed","properties":{"time":1763900001,"distinct_id":"u-2","$insert_id":"ins-2","text":"é😀 <>"}}';
const json = `[${line1}, ${line2}]`;
const b64 = Buffer.from(json, 'utf8').toString('base64');
const expected = [line1, line2];

function req(partial: Partial<IngestRequest>): IngestRequest {
  return { method: 'POST', query: '', contentType: '', contentEncoding: '', body: Buffer.alloc(0), ...partial };
}

const form = 'application/x-www-form-urlencoded';
const cases: [string, IngestRequest][] = [
  ['form data=base64 (mixpanel-browser via a proxy)', req({ contentType: form, body: Buffer.from(`data=${encodeURIComponent(b64)}`) })],
  ['form data=base64 with + turned into spaces (unescaped form)', req({ contentType: form, body: Buffer.from(`data=${b64}`) })],
  ['form data=URL-safe base64', req({ contentType: form, body: Buffer.from(`data=${b64.replace(/\+/g, '-').replace(/\//g, '_')}`) })],
  ['form data=raw JSON (api_payload_format json, mixpanel-python)', req({ contentType: form, body: Buffer.from(`data=${encodeURIComponent(json)}&verbose=1&ip=0`) })],
  ['JSON array body', req({ contentType: 'application/json', body: Buffer.from(json) })],
  ['NDJSON body', req({ contentType: 'application/x-ndjson', body: Buffer.from(`${line1}\n${line2}\n`) })],
  ['text/plain sendBeacon data=', req({ contentType: 'text/plain;charset=UTF-8', body: Buffer.from(`data=${encodeURIComponent(b64)}`) })],
  ['gzip JSON body', req({ contentType: 'application/json', contentEncoding: 'gzip', body: gzipSync(json) })],
  ['gzip form body', req({ contentType: form, contentEncoding: 'gzip', body: gzipSync(`data=${encodeURIComponent(b64)}`) })],
  ['deflate JSON body', req({ contentType: 'application/json', contentEncoding: 'deflate', body: deflateSync(json) })],
  ['GET ?data=base64 (mixpanel node SDK)', req({ method: 'GET', query: `ip=0&verbose=0&data=${encodeURIComponent(b64)}` })],
  ['JSON body without a content type', req({ body: Buffer.from(json) })],
];

describe('decodeIngestBody', () => {
  it('the fixture exercises + and / in base64', () => {
    expect(b64).toMatch(/\+/);
    expect(b64).toMatch(/\//);
  });

  it.each(cases)('%s → the same records, numbers exact', (_name, request) => {
    const result = decodeIngestBody(request);
    expect(result).toEqual({ ok: true, records: expected });
  });

  it('a single object is one record', () => {
    const one = line2;
    expect(decodeIngestBody(req({ contentType: form, body: Buffer.from(`data=${Buffer.from(one).toString('base64')}`) }))).toEqual({ ok: true, records: [expected[1]] });
  });

  it.each([
    ['garbage form', req({ contentType: form, body: Buffer.from('data=%%%not-base64!!') })],
    ['base64 of non-JSON', req({ contentType: form, body: Buffer.from(`data=${Buffer.from('hello world').toString('base64')}`) })],
    ['form without data', req({ contentType: form, body: Buffer.from('verbose=1') })],
    ['truncated JSON', req({ contentType: 'application/json', body: Buffer.from('[{"event":"x"') })],
    ['gzip header on a plain body', req({ contentType: 'application/json', contentEncoding: 'gzip', body: Buffer.from(json) })],
    ['unknown content encoding', req({ contentType: 'application/json', contentEncoding: 'br', body: Buffer.from(json) })],
    ['binary noise', req({ contentType: 'application/octet-stream', body: Buffer.from([0, 159, 146, 150, 255]) })],
    ['empty POST body', req({ contentType: form })],
    ['empty GET', req({ method: 'GET', query: 'ip=1' })],
  ])('%s → not ok with a reason', (_name, request) => {
    const result = decodeIngestBody(request);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(5);
  });
});
