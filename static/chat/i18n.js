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

/**
 * The string `key` with `{name}` placeholders filled from `values`.
 * @param {string} key @param {Record<string, *>} [values]
 * @returns {string}
 */
export function t(key, values = {}) {
  const s = typeof strings[key] === 'string' ? strings[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in values ? String(values[name]) : m));
}

/** A list of names joined the language's way ("Alice and Bob"). @param {string[]} names */
export function list(names) {
  try { return new Intl.ListFormat(document.documentElement.lang, { type: 'conjunction' }).format(names); }
  catch { return names.join(', '); }
}
