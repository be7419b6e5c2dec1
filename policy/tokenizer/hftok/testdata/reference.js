// Reference encoder/decoder for hftok's tests: the Rust Hugging Face
// tokenizers library through its Node binding (npm "tokenizers").
//
// stdin:  {"tokenizer": path, "texts": [string]}
// stdout: {"encode": [[id]], "encodeSpecial": [[id]], "idLists": [[id]],
//          "decode": [string], "decodeText": [string]}
// encode uses addSpecialTokens=false, encodeSpecial the default
// (post-processor applied). idLists are the sequences decoded (with
// skipSpecialTokens false, then true): each encodeSpecial result, its two
// halves (which cut multi-byte characters) and 200 lists of pseudo-random
// ids from a fixed-seed generator, a few past the end of the vocabulary,
// which in a byte-level vocabulary make invalid UTF-8.
const { Tokenizer } = require('tokenizers');

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const tok = Tokenizer.fromFile(req.tokenizer);
  const plain = await tok.encodeBatch(req.texts, { addSpecialTokens: false });
  const special = await tok.encodeBatch(req.texts, { addSpecialTokens: true });
  const out = {
    encode: plain.map((e) => e.getIds()),
    encodeSpecial: special.map((e) => e.getIds()),
    idLists: [],
  };
  for (const ids of out.encodeSpecial) {
    const h = ids.length >> 1;
    out.idLists.push(ids, ids.slice(0, h), ids.slice(h));
  }
  const n = tok.getVocabSize(true) + 3;
  let seed = 12345;
  const rand = (m) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % m;
  };
  for (let i = 0; i < 200; i++) {
    const l = [];
    for (let j = 1 + rand(12); j > 0; j--) l.push(rand(n));
    out.idLists.push(l);
  }
  out.decode = await tok.decodeBatch(out.idLists, false);
  out.decodeText = await tok.decodeBatch(out.idLists, true);
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
