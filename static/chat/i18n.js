/**
 * The visitor's strings: rendered into the page by the server (English filling any gap) as a
 * JSON block, so no request and no flash of another language.
 */

/** @type {Record<string, string>} */
const strings = (() => {
  try { return JSON.parse(document.getElementById('wc-strings').textContent); } catch { return {}; }
})();

/** Strings a module loaded later brings (calls.js). @param {Record<string, string>} more */
export function addStrings(more) { Object.assign(strings, more); }

const RTL = /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Adlam}]/u;
const LTR = /(?![\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Adlam}])\p{L}/u;

/** A value (a name) written the other way from the page is isolated (FSI…PDI), so that its own
 * punctuation stays with it: "Alice (EN)" in an Arabic sentence, not "(Alice (EN". */
function isolated(value) {
  const text = String(value);
  const other = document.documentElement.dir === 'rtl' ? LTR : RTL;
  return typeof value === 'string' && other.test(text) ? `\u2068${text}\u2069` : text;
}

/**
 * The string `key` with `{name}` placeholders filled from `values`.
 * @param {string} key @param {Record<string, *>} [values]
 * @returns {string}
 */
export function t(key, values = {}) {
  const s = typeof strings[key] === 'string' ? strings[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in values ? isolated(values[name]) : m));
}

/** A list of names joined the language's way ("Alice and Bob"). @param {string[]} names */
export function list(names) {
  try { return new Intl.ListFormat(document.documentElement.lang, { type: 'conjunction' }).format(names); }
  catch { return names.join(', '); }
}
