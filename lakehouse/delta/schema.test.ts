/** Arrow ↔ Delta schema mapping, both ways, and the refusal of a type the writer does not map. */
import { Binary, Bool, DateDay, DateMillisecond, Field, Float32, Float64, Int16, Int32, Int64, Int8, List, Map_, Schema, Struct, TimeUnit, Timestamp, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ConfigError, InternalError, utf8MapType } from '../../connector-spec/index.js';
import { arrowToDeltaSchema, deltaSchemaString, deltaToArrowSchema, fieldsWithMetadata, parseDeltaSchema } from './schema.js';

describe('Arrow → Delta', () => {
  it('maps every type the tables use, keeping nullability', () => {
    const schema = new Schema([
      new Field('s', new Utf8(), false),
      new Field('l', new Int64(), true),
      new Field('i', new Int32(), true),
      new Field('sh', new Int16(), true),
      new Field('b', new Int8(), true),
      new Field('d', new Float64(), true),
      new Field('f', new Float32(), true),
      new Field('ok', new Bool(), true),
      new Field('t_ms', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), true),
      new Field('t_us', new Timestamp(TimeUnit.MICROSECOND, 'Europe/Paris'), true),
      new Field('t_s', new Timestamp(TimeUnit.SECOND), true),
      new Field('day', new DateDay(), true),
      new Field('day_ms', new DateMillisecond(), true),
      new Field('props', utf8MapType(), true),
    ]);
    const delta = arrowToDeltaSchema(schema);
    expect(delta.fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['s', 'string', false],
      ['l', 'long', true],
      ['i', 'integer', true],
      ['sh', 'short', true],
      ['b', 'byte', true],
      ['d', 'double', true],
      ['f', 'float', true],
      ['ok', 'boolean', true],
      ['t_ms', 'timestamp', true],
      ['t_us', 'timestamp', true],
      ['t_s', 'timestamp', true],
      ['day', 'date', true],
      ['day_ms', 'date', true],
      ['props', { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true }, true],
    ]);
    // And back: timestamps as µs UTC, dates as days, the map as Map<Utf8, Utf8>.
    const back = deltaToArrowSchema(parseDeltaSchema(deltaSchemaString(delta)), 't');
    expect(back.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual([
      's:Utf8:false',
      'l:Int64:true',
      'i:Int32:true',
      'sh:Int16:true',
      'b:Int8:true',
      'd:Float64:true',
      'f:Float32:true',
      'ok:Bool:true',
      't_ms:Timestamp<MICROSECOND, UTC>:true',
      't_us:Timestamp<MICROSECOND, UTC>:true',
      't_s:Timestamp<MICROSECOND, UTC>:true',
      'day:Date32<DAY>:true',
      'day_ms:Date32<DAY>:true',
      'props:Map<{key:Utf8, value:Utf8}>:true',
    ]);
  });

  for (const [label, type] of [
    ['a list', new List(new Field('item', new Utf8()))],
    ['a struct', new Struct([new Field('a', new Utf8())])],
    ['binary', new Binary()],
    ['a map of longs', new Map_<Utf8, Int64>(new Field('entries', new Struct<{ key: Utf8; value: Int64 }>([new Field('key', new Utf8(), false), new Field('value', new Int64())]), false))],
  ] as const) {
    it(`refuses ${label}, naming the column`, () => {
      expect(() => arrowToDeltaSchema(new Schema([new Field('col_x', type, true)]))).toThrow(InternalError);
      expect(() => arrowToDeltaSchema(new Schema([new Field('col_x', type, true)]))).toThrow(/column col_x has Arrow type/);
    });
  }
});

describe('Delta → Arrow', () => {
  it('reads nested types, decimals and timestamp_ntz; refuses a type it cannot read with a ConfigError', () => {
    const schema = parseDeltaSchema(
      JSON.stringify({
        type: 'struct',
        fields: [
          { name: 'n', type: { type: 'struct', fields: [{ name: 'x', type: 'decimal(10,2)', nullable: false, metadata: {} }] }, nullable: true, metadata: { comment: 'c', 'delta.invariants': '{"expression":{"expression":"x > 0"}}' } },
          { name: 'a', type: { type: 'array', elementType: 'timestamp_ntz', containsNull: false }, nullable: true, metadata: {} },
          { name: 'bin', type: 'binary', nullable: true, metadata: {} },
        ],
      }),
    );
    const arrow = deltaToArrowSchema(schema, 't');
    expect(arrow.fields.map((f) => String(f.type))).toEqual(['Struct<{x:Decimal[10e+2]}>', 'List<Timestamp<MICROSECOND>>', 'Binary']);
    expect(arrow.fields[0]?.metadata.get('comment')).toBe('c');
    expect(fieldsWithMetadata(schema, 'delta.invariants')).toEqual(['n']);
    const variant = parseDeltaSchema('{"type":"struct","fields":[{"name":"v","type":"variant","nullable":true,"metadata":{}}]}');
    expect(() => deltaToArrowSchema(variant, 'lake/t')).toThrow(ConfigError);
    expect(() => deltaToArrowSchema(variant, 'lake/t')).toThrow(/lake\/t: column v has Delta type variant/);
  });
});
