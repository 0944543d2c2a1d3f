/**
 * Small helpers shared by the chat modules: DOM, ids, times, safe text with links, fetch.
 * Everything that came from a chat is inserted as text (textContent, text nodes), never HTML.
 */

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;

/**
 * The visitor token: the socket and uploads must show it (see webchat/visitor.py). When the
 * server saw no cookie (a browser blocking cookies, and maybe storage, in frames) the visitor's
 * earlier token is kept: the one the loader keeps in the host page's first-party storage and
 * hands over in the frame's URL fragment (taken only when framed, and only allowed origins may
 * frame this page), or else one this frame stored; otherwise the page's own.
 */
function pickToken() {
  const app = document.getElementById('wc-app');
  const rendered = app?.dataset.token || '';
  const handed = window.parent !== window ? new URLSearchParams(location.hash.slice(1)).get('t') : '';
  let stored = '';
  try { stored = localStorage.getItem('webchat.token') || ''; } catch { /* storage blocked */ }
  const token = app?.dataset.newVisitor === 'true' ? handed || stored || rendered : rendered;
  try { localStorage.setItem('webchat.token', token); } catch { /* storage blocked */ }
  return token;
}
export const TOKEN = pickToken();

/** A same-origin URL carrying the token, for when the browser withholds our cookie. */
export function withToken(path) {
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(TOKEN)}`;
}

/**
 * A new element with an optional class and text (as text, never HTML).
 * @param {string} tag @param {string} [className] @param {*} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A random v4 UUID; crypto.randomUUID exists only in secure contexts. @returns {string} */
export function uuid() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** An event `timestamp` (UNIX seconds as a string; milliseconds tolerated) as a Date, or null. */
export function parseTime(ts) {
  const n = Number(ts);
  return ts && Number.isFinite(n) && n > 0 ? new Date(n > 1e11 ? n : n * 1000) : null;
}

/** "14:05" in the page's language. @param {Date} date */
export function clock(date) {
  return date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: '2-digit', minute: '2-digit' });
}

/** A <time> element for `date`. @param {Date} date */
export function timeElement(date) {
  const t = el('time', 'wc-time', clock(date));
  t.dateTime = date.toISOString();
  return t;
}

/** The text of an event: `msg_text` (plain) if present, else `msg` with `<br>` as newlines. */
export function messageText(ev) {
  const raw = typeof ev.msg_text === 'string' ? ev.msg_text : typeof ev.msg === 'string' ? ev.msg : '';
  return raw.replace(/<br\s*\/?>/gi, '\n');
}

/** Appends `text` to `parent` as text nodes, with http(s) URLs as links. No other markup. */
export function appendLinkified(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0].replace(/[.,;:!?'"]+$/, '');
    if (url.endsWith(')') && !url.includes('(')) url = url.replace(/[).,;:!?'"]+$/, '');
    let href = null;
    try { href = new URL(url); } catch { /* not a URL after all: stays text */ }
    if (!href || (href.protocol !== 'http:' && href.protocol !== 'https:')) continue;
    parent.append(text.slice(last, match.index), link(href.href, url));
    last = match.index + url.length;
  }
  parent.append(text.slice(last));
}

/** A link that opens in a new tab and tells the target nothing about us. */
export function link(href, text, className = 'wc-link') {
  const a = el('a', className, text);
  Object.assign(a, { href, rel: 'noopener noreferrer', target: '_blank' });
  return a;
}

/** GET a JSON document of our server. @param {string} url */
export async function fetchJSON(url) {
  const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Saves `text` as a file through a temporary blob: link. */
export function download(name, text, type = 'text/plain;charset=utf-8') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(el('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
