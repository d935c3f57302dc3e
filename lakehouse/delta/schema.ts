/**
 * Arrow ↔ Delta schema (`metaData.schemaString`, Spark's JSON schema).
 * Writing maps the Arrow types our tables use: Utf8→string, Int64→long, Int32→integer, Int16→short,
 * Int8→byte, Float64→double, Float32→float, Bool→boolean, Timestamp (any unit, any zone)→timestamp,
 * Date→date, Map<Utf8,Utf8>→map<string,string>; nullability is kept. Anything else is refused.
 * Reading maps every Delta type the golden tables use: timestamps become Timestamp(MICROSECOND, 'UTC'),
 * dates DateDay, plus struct, array, map, decimal, binary, short, byte and timestamp_ntz.
 */
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Map_,
  Schema,
  Struct,
  TimeUnit,
  Timestamp,
  Type,
  Utf8,
} from 'apache-arrow';
import { ConfigError, InternalError } from '../../connector-spec/index.js';
import { LAKEHOUSE_UNSUPPORTED_TYPE } from '../errors.js';

export interface DeltaStructField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
}
export interface DeltaStructType {
  readonly type: 'struct';
  readonly fields: readonly DeltaStructField[];
}
export interface DeltaArrayType {
  readonly type: 'array';
  readonly elementType: DeltaType;
  readonly containsNull: boolean;
}
export interface DeltaMapType {
  readonly type: 'map';
  readonly keyType: DeltaType;
  readonly valueType: DeltaType;
  readonly valueContainsNull: boolean;
}
/** A primitive type name (`string`, `long`, `decimal(10,2)`, …) or a nested type. */
export type DeltaType = string | DeltaStructType | DeltaArrayType | DeltaMapType;

export class SchemaParseError extends Error {}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseType(value: unknown, where: string): DeltaType {
  if (typeof value === 'string') return value;
  if (!isObj(value)) throw new SchemaParseError(`${where}: type is neither a name nor an object`);
  switch (value['type']) {
    case 'struct':
      return parseStruct(value, where);
    case 'array':
      return { type: 'array', elementType: parseType(value['elementType'], `${where}.element`), containsNull: value['containsNull'] !== false };
    case 'map':
      return {
        type: 'map',
        keyType: parseType(value['keyType'], `${where}.key`),
        valueType: parseType(value['valueType'], `${where}.value`),
        valueContainsNull: value['valueContainsNull'] !== false,
      };
    default:
      if (typeof value['type'] === 'string') return value['type'];
      throw new SchemaParseError(`${where}: unknown type ${JSON.stringify(value['type'])}`);
  }
}

function parseStruct(value: Obj, where: string): DeltaStructType {
  const fields = value['fields'];
  if (!Array.isArray(fields)) throw new SchemaParseError(`${where}: struct without fields`);
  return {
    type: 'struct',
    fields: fields.map((field: unknown, i) => {
      if (!isObj(field) || typeof field['name'] !== 'string') throw new SchemaParseError(`${where}: field ${i} has no name`);
      const name = field['name'];
      return {
        name,
        type: parseType(field['type'], where === '' ? name : `${where}.${name}`),
        nullable: field['nullable'] !== false,
        metadata: isObj(field['metadata']) ? field['metadata'] : {},
      };
    }),
  };
}

/** Parse `schemaString`; throws SchemaParseError. */
export function parseDeltaSchema(schemaString: string): DeltaStructType {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schemaString);
  } catch (error) {
    throw new SchemaParseError(`schemaString is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObj(parsed) || parsed['type'] !== 'struct') throw new SchemaParseError('schemaString is not a struct');
  return parseStruct(parsed, '');
}

export function deltaSchemaString(schema: DeltaStructType): string {
  return JSON.stringify(schema);
}

// ---- Arrow → Delta (writing) ----

function unsupportedArrow(column: string, type: DataType): InternalError {
  return new InternalError(
    `column ${column} has Arrow type ${String(type)}, which the lakehouse does not write to Delta ` +
      '(supported: Utf8, Int64, Int32, Int16, Int8, Float64, Float32, Bool, Timestamp, Date, Map<Utf8, Utf8>). ' +
      'Fix: lower the column to a supported type in the table schema.',
    { code: LAKEHOUSE_UNSUPPORTED_TYPE, context: { column, arrowType: String(type) } },
  );
}

function arrowTypeToDelta(type: DataType, column: string): DeltaType {
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Int: {
      const int = type as Int64 | Int32 | Int16 | Int8;
      if (!int.isSigned) break;
      if (int.bitWidth === 64) return 'long';
      if (int.bitWidth === 32) return 'integer';
      if (int.bitWidth === 16) return 'short';
      return 'byte';
    }
    case Type.Float: {
      const float = type as Float64 | Float32;
      if (float.precision === 2) return 'double';
      if (float.precision === 1) return 'float';
      break;
    }
    case Type.Bool:
      return 'boolean';
    case Type.Timestamp:
      return 'timestamp';
    case Type.Date:
      return 'date';
    case Type.Map: {
      const entries = (type as Map_).children[0]?.type as Struct | undefined;
      const key = entries?.children[0];
      const value = entries?.children[1];
      if (key && value && key.type.typeId === Type.Utf8 && value.type.typeId === Type.Utf8) {
        return { type: 'map', keyType: 'string', valueType: 'string', valueContainsNull: true };
      }
      break;
    }
    default:
      break;
  }
  throw unsupportedArrow(column, type);
}

/** The Delta schema of an Arrow schema (InternalError naming the column for an unsupported type). */
export function arrowToDeltaSchema(schema: Schema): DeltaStructType {
  return {
    type: 'struct',
    fields: schema.fields.map((field) => ({ name: field.name, type: arrowTypeToDelta(field.type, field.name), nullable: field.nullable, metadata: {} })),
  };
}

// ---- Delta → Arrow (reading) ----

const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

function unsupportedDelta(table: string, column: string, type: string): ConfigError {
  return new ConfigError(
    `Delta table ${table}: column ${column} has Delta type ${type}, which mixpanel-lakeflow cannot read. ` +
      'Fix: read this table with Spark or delta-rs, or cast the column to a supported type.',
    { code: LAKEHOUSE_UNSUPPORTED_TYPE, context: { table, column, deltaType: type } },
  );
}

function deltaTypeToArrow(type: DeltaType, table: string, column: string): DataType {
  if (typeof type === 'string') {
    switch (type) {
      case 'string':
        return new Utf8();
      case 'long':
        return new Int64();
      case 'integer':
        return new Int32();
      case 'short':
        return new Int16();
      case 'byte':
        return new Int8();
      case 'double':
        return new Float64();
      case 'float':
        return new Float32();
      case 'boolean':
        return new Bool();
      case 'binary':
        return new Binary();
      case 'date':
        return new DateDay();
      case 'timestamp':
        return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
      case 'timestamp_ntz':
        return new Timestamp(TimeUnit.MICROSECOND);
      default: {
        const m = DECIMAL.exec(type);
        if (m) return new Decimal(Number(m[2]), Number(m[1]), 128);
        throw unsupportedDelta(table, column, type);
      }
    }
  }
  switch (type.type) {
    case 'struct':
      return new Struct(type.fields.map((f) => new Field(f.name, deltaTypeToArrow(f.type, table, `${column}.${f.name}`), f.nullable)));
    case 'array':
      return new List(new Field('element', deltaTypeToArrow(type.elementType, table, `${column}.element`), type.containsNull));
    case 'map':
    {
      const entries = new Struct<{ key: DataType; value: DataType }>([
        new Field('key', deltaTypeToArrow(type.keyType, table, `${column}.key`), false),
        new Field('value', deltaTypeToArrow(type.valueType, table, `${column}.value`), type.valueContainsNull),
      ]);
      return new Map_<DataType, DataType>(new Field('entries', entries, false));
    }
  }
}

function fieldMetadata(metadata: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of Object.keys(metadata)) {
    const value = metadata[key];
    out.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return out;
}

/** The Arrow schema of a Delta schema; `table` names the table in a ConfigError for a type we cannot read. */
export function deltaToArrowSchema(schema: DeltaStructType, table: string): Schema {
  return new Schema(schema.fields.map((f) => new Field(f.name, deltaTypeToArrow(f.type, table, f.name), f.nullable, fieldMetadata(f.metadata))));
}

/** Top-level and nested fields whose metadata holds `key` (e.g. `delta.invariants`), as dotted names. */
export function fieldsWithMetadata(schema: DeltaStructType, key: string): string[] {
  const found: string[] = [];
  const visit = (type: DeltaType, prefix: string): void => {
    if (typeof type === 'string') return;
    if (type.type === 'struct') {
      for (const f of type.fields) {
        const name = prefix === '' ? f.name : `${prefix}.${f.name}`;
        if (Object.hasOwn(f.metadata, key)) found.push(name);
        visit(f.type, name);
      }
    } else if (type.type === 'array') visit(type.elementType, `${prefix}.element`);
    else {
      visit(type.keyType, `${prefix}.key`);
      visit(type.valueType, `${prefix}.value`);
    }
  };
  visit(schema, '');
  return found;
}
