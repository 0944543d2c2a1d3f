/**
 * The transcript (role=log): message bubbles, files, system lines and cards (forms), plus the
 * typing line. Keeps a plain-text copy of every line for the transcript download.
 */
import { appendLinkified, clock, el, httpHref, link, linkTo, timeElement } from './util.js';
import { list, t } from './i18n.js';

/** @typedef {{id?: string|null, own: boolean, name: string, avatar?: string|null, time?: Date|null, pending?: boolean}} BubbleOptions */

/** A latitude or longitude (a number or a numeric string) within ±bound, else null. */
function coordinate(value, bound) {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) && Math.abs(n) <= bound ? n : null;
}

export class Transcript {
  /** @param {HTMLElement} root @param {HTMLElement} typingLine */
  constructor(root, typingLine) {
    Object.assign(this, { root, typingLine, own: new Map(), lines: [] });
  }

  get isEmpty() { return !this.root.firstChild; }
  has(id) { return this.own.has(id); }

  clear() {
    this.root.replaceChildren();
    this.own.clear();
    this.lines = [];
    this.setTyping([]);
  }

  /** Appends a node, keeping the view at the bottom when it was there. */
  append(node) {
    const r = this.root;
    const atBottom = r.scrollHeight - r.scrollTop - r.clientHeight < 64;
    r.append(node);
    if (atBottom) this.scrollToEnd();
    return node;
  }

  scrollToEnd() { this.root.scrollTop = this.root.scrollHeight; }

  /** A system line ("Alice joined"); kind styles it: warning, error, end, progress. */
  system(text, kind, time = new Date()) {
    const p = el('p', kind ? `wc-system wc-system--${kind}` : 'wc-system');
    p.append(el('span', 'wc-system-text', text));
    if (time && kind !== 'progress') p.append(' ', timeElement(time));
    if (kind !== 'progress') this.lines.push({ time, text });
    return this.append(p);
  }

  /** A message bubble. @param {BubbleOptions} opts @param {string} text */
  message(opts, text) {
    const p = el('p', 'wc-text');
    p.dir = 'auto'; // each message in its own direction (Arabic page, English message)
    appendLinkified(p, text);
    return this.bubble(opts, p, text);
  }

  /** A shared file: a download link to /api/files/<file_id>, with a thumbnail for images. */
  file(opts, ev) {
    const name = ev.file_name || t('file.file');
    const path = `/api/files/${encodeURIComponent(ev.file_id)}`;
    const box = el('div', 'wc-file');
    if (ev.file_type === 'image') {
      const a = link(path, null, 'wc-thumb-link');
      const img = Object.assign(el('img', 'wc-thumb'), { alt: name, loading: 'lazy' });
      img.addEventListener('error', () => a.remove(), { once: true });
      img.addEventListener('load', () => this.scrollIfNear(), { once: true });
      linkTo(a, 'href', path).catch(() => a.remove());
      linkTo(img, 'src', path).catch(() => {});
      a.append(img);
      box.append(a);
    }
    const dl = link(path, name, 'wc-file-link');
    linkTo(dl, 'href', path).catch(() => {});
    dl.download = name;
    dl.setAttribute('aria-label', t('file.download', { name }));
    box.append(dl);
    return this.bubble(opts, box, `[${t('file.file')}: ${name}]`);
  }

  /** A shared place: a link to its http(s) map, or to one made of its coordinates when it names
   * none; a map URL of another scheme (javascript:, data:) is shown as text, never linked. */
  location(opts, ev) {
    const p = el('p', 'wc-text');
    const [lat, lon] = [coordinate(ev.latitude, 90), coordinate(ev.longitude, 180)];
    const place = lat !== null && lon !== null;
    const label = t('location.shared');
    const map = ev.url === undefined || ev.url === null || ev.url === ''
      ? place && `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}`
      : httpHref(ev.url);
    p.append(map ? link(map, label) : el('span', 'wc-place', place ? `${label}: ${lat}, ${lon}` : label));
    return this.bubble(opts, p, `${t('location.shared')}: ${ev.latitude}, ${ev.longitude}`);
  }

  /** A card, e.g. a form, between the messages. */
  card(node) {
    const box = el('div', 'wc-card');
    box.append(node);
    return this.append(box);
  }

  scrollIfNear() {
    const r = this.root;
    if (r.scrollHeight - r.scrollTop - r.clientHeight < 400) this.scrollToEnd();
  }

  /** @param {BubbleOptions} opts @param {Node} content @param {string} plain */
  bubble({ id, own, name, avatar, time, pending }, content, plain) {
    const row = el('div', `wc-msg ${own ? 'wc-msg--own' : 'wc-msg--agent'}${pending ? ' wc-msg--pending' : ''}`);
    if (avatar) {
      const img = Object.assign(el('img', 'wc-avatar'), { alt: '' });
      img.addEventListener('error', () => img.remove(), { once: true });
      linkTo(img, 'src', avatar).catch(() => img.remove());
      row.append(img);
    }
    const body = el('div', 'wc-bubble');
    const meta = el('p', 'wc-meta');
    meta.append(el('span', own ? 'wc-name wc-visually-hidden' : 'wc-name', name));
    if (time) meta.append(' ', timeElement(time));
    body.append(meta, content, el('p', 'wc-note', pending ? t('msg.sending') : ''));
    row.append(body);
    const line = { time: time || new Date(), who: name, text: plain };
    this.lines.push(line);
    if (own && id) { this.own.set(id, row); row.line = line; }
    return this.append(row);
  }

  /** Settles one of the visitor's bubbles: sent (with the server's time) or failed (with a reason). */
  mark(id, sent, { time, reason } = {}) {
    const row = this.own.get(id);
    if (!row) return;
    row.classList.remove('wc-msg--pending', 'wc-msg--failed');
    if (!sent) row.classList.add('wc-msg--failed');
    row.querySelector('.wc-note').textContent = sent ? '' : reason ? `${t('msg.notSent')}: ${reason}` : t('msg.notSent');
    const meta = row.querySelector('.wc-meta');
    if (time && !meta.querySelector('time')) meta.append(' ', timeElement(time));
    if (time && row.line) row.line.time = time;
  }

  /** The "Alice is typing…" line. @param {string[]} names */
  setTyping(names) {
    const text = !names.length ? '' : t(names.length > 1 ? 'chat.typingMany' : 'chat.typing', { names: list(names) });
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  /** The transcript as plain text, one line per message or event. @param {string} heading */
  toText(heading) {
    const out = [heading, ''];
    for (const { time, who, text } of this.lines) {
      const stamp = `[${time.toLocaleDateString(document.documentElement.lang || undefined)} ${clock(time)}]`;
      out.push(who ? `${stamp} ${who}: ${text}` : `${stamp} ${text}`);
    }
    return `${out.join('\n')}\n`;
  }
}
