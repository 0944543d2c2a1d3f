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

/** The socket's URL carrying the token (a handshake has no headers of ours). */
export function withToken(path) {
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(TOKEN)}`;
}

/**
 * Links to chat files and agent photos never carry the token: the server mints each one its own
 * credential for that one file, valid for minutes (GET <path>/link, token in the header). One
 * per path, asked for again shortly before it expires. path → {url: Promise, until, value}.
 */
const minted = new Map();
function fileLink(path) {
  const known = minted.get(path);
  if (known && (known.until === 0 || known.until > Date.now())) return known;
  const entry = { until: 0, value: '' };
  entry.url = fetch(`${path}/link`, { headers: { 'X-Webchat-Token': TOKEN }, cache: 'no-store' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`link: ${r.status}`))))
    .then((body) => {
      entry.until = Date.now() + Math.max(body.expires_in - 30, body.expires_in / 2) * 1000;
      entry.value = body.url;
      return body.url;
    });
  entry.url.catch(() => minted.delete(path));
  minted.set(path, entry);
  return entry;
}

/**
 * Points `node[attr]` ('href' or 'src') at a fresh link to `path`; a link clicked after its
 * credential expired is renewed first, then followed. Rejects when no link can be had.
 * @param {HTMLElement} node @param {'href'|'src'} attr @param {string} path @returns {Promise<string>}
 */
export function linkTo(node, attr, path) {
  const point = () => fileLink(path).url.then((url) => { node[attr] = url; return url; });
  if (attr === 'href') {
    node.addEventListener('click', (e) => {
      const known = minted.get(path);
      if (known && known.until > Date.now() && node.getAttribute('href') === known.value) return;
      e.preventDefault();
      point().then(() => node.click(), () => {});
    });
  }
  return point();
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

/** Date formats of the page's language, made once each. */
const formats = new Map();
/** `date` formatted in the page's language. @param {Date} date @param {Intl.DateTimeFormatOptions} options */
export function formatDate(date, options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(document.documentElement.lang || undefined, options));
  return formats.get(key).format(date);
}

/** "7:54 PM" or "19:54", as the page's language writes the hour (no leading zero). @param {Date} date */
export function clock(date) {
  return formatDate(date, { hour: 'numeric', minute: '2-digit' });
}

/** The local calendar day of `date`, as a key ("2026-11-30"). @param {Date} date */
export function dayOf(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** A <time> element for `date`. @param {Date} date */
export function timeElement(date) {
  const t = el('time', 'wc-time', clock(date));
  t.dateTime = date.toISOString();
  return t;
}

/** Up to two initials of a name ("Alice Martin" → "AM"; one word, one letter). @param {string} name */
export function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter(Boolean);
  const first = (word) => (word ? [...word][0].toLocaleUpperCase() : '');
  return words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : first(words[0]);
}

/**
 * An agent's photo as a blob: URL, fetched once per page whatever the number of avatars showing
 * it (the photo route forbids caching, so every <img> would download it again). Rejects when the
 * agent has none: callers then keep the monogram.
 * @param {string} path @returns {Promise<string>}
 */
const photos = new Map();
export function photoURL(path) {
  if (!photos.has(path)) {
    const url = fileLink(path).url
      .then((link) => fetch(link, { cache: 'no-store' }))
      .then((r) => (r.ok && /^image\//.test(r.headers.get('Content-Type') || '') ? r.blob() : Promise.reject(new Error(`photo: ${r.status}`))))
      .then((blob) => URL.createObjectURL(blob));
    url.catch(() => photos.delete(path));
    photos.set(path, url);
  }
  return photos.get(path);
}

/**
 * A round avatar: the person's initials, covered by their photo once it has loaded (`path`:
 * see photoURL), so it is never an empty circle. Decorative: the name is said in text nearby.
 * @param {string} name @param {string|null} [path] @param {string} [className]
 */
export function avatar(name, path, className = 'wc-avatar') {
  const box = el('span', className);
  box.setAttribute('aria-hidden', 'true');
  box.append(el('span', 'wc-monogram', initials(name)));
  if (path) {
    photoURL(path).then((url) => {
      const img = Object.assign(el('img', 'wc-avatar-photo'), { alt: '', src: url });
      box.append(img);
    }, () => {});
  }
  return box;
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
    const href = httpHref(url);
    if (!href) continue; // not an http(s) URL after all: stays text
    parent.append(text.slice(last, match.index), link(href, url));
    last = match.index + url.length;
  }
  parent.append(text.slice(last));
}

/**
 * `url` as an absolute http(s) URL (a path is taken relative to `base`), or null: no other
 * scheme (javascript:, data:, vbscript:) may become a link.
 * @param {*} url @param {string} [base]
 */
export function httpHref(url, base) {
  if (typeof url !== 'string' || !url) return null;
  let parsed;
  try { parsed = new URL(url, base); } catch { return null; }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
}

/** A link that opens in a new tab and tells the target nothing about us; a target that is not
 * http(s) gets plain text instead. */
export function link(href, text, className = 'wc-link') {
  if (!httpHref(href, document.baseURI)) return el('span', null, text);
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
