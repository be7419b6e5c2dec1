// Reference renderer for the chattemplate tests: renders each case with
// @huggingface/jinja (the Jinja engine of transformers.js, which applies
// transformers' trim_blocks/lstrip_blocks rules) and prints the results.
//
// stdin:  [{"config": "/path/tokenizer_config.json", "template": "..." | null,
//           "vars": {...}, "now": "2024-07-26T14:05:09Z" | null}, ...]
// stdout: [{"out": "..."} | {"error": "..."}, ...]
//
// Like transformers, the special tokens of the config (string or AddedToken
// {"content"}; null ones left out) become template variables, "vars" are
// laid over them, and a null "template" means the config's chat_template.
//
// When "now" is set, strftime_now formats that fixed UTC instant, so the Go
// side can inject the same clock. Only the directives below are supported;
// any other throws so that a test cannot pass through an unchecked path.
const fs = require("fs");
const { Template, Environment } = require("@huggingface/jinja");

// Template.render declares its global strftime_now (the real clock) and
// refuses a context variable of the same name, so a fixed clock is put in
// at the moment the global is declared.
let fixedClock = null;
const declareVariable = Environment.prototype.declareVariable;
Environment.prototype.declareVariable = function (name, value) {
  if (name === "strftime_now" && fixedClock !== null) {
    value = new Environment().set("clock", fixedClock);
  }
  return declareVariable.call(this, name, value);
};

const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
const content = (t) => (typeof t === "string" ? t : t.content);

function configVars(cfg) {
  const vars = {};
  for (const name of SPECIAL) {
    if (cfg[name] != null) vars[name] = content(cfg[name]);
  }
  const extra = cfg.additional_special_tokens;
  if (Array.isArray(extra) && extra.length > 0) vars.additional_special_tokens = extra.map(content);
  return vars;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
  "August", "September", "October", "November", "December"];

function fixedStrftime(date, format) {
  const pad2 = (n) => String(n).padStart(2, "0");
  return format.replace(/%./g, (tok) => {
    switch (tok) {
      case "%Y": return String(date.getUTCFullYear());
      case "%m": return pad2(date.getUTCMonth() + 1);
      case "%d": return pad2(date.getUTCDate());
      case "%b": return MONTHS[date.getUTCMonth()];
      case "%B": return LONG_MONTHS[date.getUTCMonth()];
      case "%H": return pad2(date.getUTCHours());
      case "%M": return pad2(date.getUTCMinutes());
      case "%S": return pad2(date.getUTCSeconds());
      case "%%": return "%";
      default: throw new Error("render.js: unsupported strftime directive " + tok);
    }
  });
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const results = cases.map((c) => {
    try {
      const cfg = JSON.parse(fs.readFileSync(c.config, "utf8"));
      const vars = Object.assign(configVars(cfg), c.vars);
      fixedClock = null;
      if (c.now) {
        const date = new Date(c.now);
        fixedClock = (format) => fixedStrftime(date, format);
      }
      const source = c.template == null ? cfg.chat_template : c.template;
      if (typeof source !== "string") throw new Error("render.js: no string chat_template in " + c.config);
      return { out: new Template(source).render(vars) };
    } catch (e) {
      return { error: String(e && e.message ? e.message : e) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
