// Reference encoder/decoder for hftok's tests: the Rust Hugging Face
// tokenizers library through its Node binding (npm "tokenizers").
//
// stdin: {"tokenizer": path, "texts": [string], "idLists": [[id]]}
// stdout: {"encode": [[id]], "encodeSpecial": [[id]],
//          "decode": [string], "decodeText": [string]}
// where encode uses addSpecialTokens=false, encodeSpecial the default
// (post-processor applied), and decode/decodeText decode each of idLists
// with skipSpecialTokens false/true.
const { Tokenizer } = require('tokenizers');

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const tok = Tokenizer.fromFile(req.tokenizer);
  const out = { encode: [], encodeSpecial: [], decode: [], decodeText: [] };
  for (const text of req.texts) {
    out.encode.push((await tok.encode(text, null, { addSpecialTokens: false })).getIds());
    out.encodeSpecial.push((await tok.encode(text, null, { addSpecialTokens: true })).getIds());
  }
  for (const ids of req.idLists) {
    out.decode.push(await tok.decode(ids, false));
    out.decodeText.push(await tok.decode(ids, true));
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
