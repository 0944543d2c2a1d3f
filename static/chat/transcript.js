/**
 * The transcript (role=log): messages grouped by sender and minute (one name, avatar and time
 * per group), a line for each new day ("Today", "Yesterday", a date), files, system lines and
 * cards (forms), plus the typing line. What arrives live slides in (not with reduced motion).
 * Screen readers get each message once with its sender: a group's head names it for its first
 * message, and each later message carries the name as hidden text. Keeps a plain-text copy of
 * every line for the transcript download.
 */
import { appendLinkified, avatar, clock, dayOf, el, formatDate, httpHref, link, linkTo, timeElement } from './util.js';
import { list, t } from './i18n.js';

/** @typedef {{id?: string|null, own: boolean, from?: string, name: string, avatar?: string|null, time?: Date|null, pending?: boolean}} BubbleOptions */

/** A latitude or longitude (a number or a numeric string) within ±bound, else null. */
function coordinate(value, bound) {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isFinite(n) && Math.abs(n) <= bound ? n : null;
}

/** "Today", "Yesterday", else the date in the page's language. @param {Date} date */
function dayName(date) {
  const day = dayOf(date);
  const yesterday = new Date();
  yesterday.setDate(yesterday.getDate() - 1);
  if (day === dayOf(new Date())) return t('date.today');
  if (day === dayOf(yesterday)) return t('date.yesterday');
  const sameYear = date.getFullYear() === new Date().getFullYear();
  return formatDate(date, sameYear ? { weekday: 'long', day: 'numeric', month: 'long' } : { dateStyle: 'long' });
}

export class Transcript {
  /** @param {HTMLElement} root @param {HTMLElement} typingLine */
  constructor(root, typingLine) {
    Object.assign(this, { root, typingLine, own: new Map(), lines: [], group: null, day: '', live: true });
  }

  get isEmpty() { return !this.root.firstChild; }
  has(id) { return this.own.has(id); }

  clear() {
    this.root.replaceChildren();
    this.own.clear();
    this.lines = [];
    this.group = null;
    this.day = '';
    this.setTyping([]);
  }

  /** Appends a node, keeping the view at the bottom when it was there. */
  append(node) {
    const r = this.root;
    const atBottom = r.scrollHeight - r.scrollTop - r.clientHeight < 64;
    if (this.live && node.classList) node.classList.add('wc-in');
    r.append(node);
    if (atBottom) this.scrollToEnd();
    return node;
  }

  /**
   * A line naming the day before the first thing said on it. The first one goes on top, above
   * lines that carry no time of their own (a queue position), which belong to that day.
   * @param {Date} time
   */
  dayLine(time) {
    const day = dayOf(time);
    if (day === this.day) return;
    const first = !this.day;
    this.day = day;
    this.group = null;
    const line = el('p', 'wc-day');
    line.append(el('span', 'wc-day-text', dayName(time)));
    if (first) this.root.prepend(line);
    else this.append(line);
  }

  /** At once, never smoothly: a smooth scroll still under way would fail the next line's
   * keep-at-bottom check (a reload redraws the whole history in one go). */
  scrollToEnd() { this.root.scrollTo({ top: this.root.scrollHeight, behavior: 'instant' }); }

  /** Keeps the newest line in view when the log gets shorter (a phone's keyboard coming up,
   * the message box growing, zoom) if the visitor was at the end at its previous height (a
   * scroll event comes a frame late, measured against a height already changed). Once per page. */
  keepAtEnd() {
    if (this.endKeeper) return;
    const r = this.root;
    let height = r.clientHeight;
    this.endKeeper = new ResizeObserver(() => {
      if (r.scrollHeight - r.scrollTop - height < 64) this.scrollToEnd();
      height = r.clientHeight;
    });
    this.endKeeper.observe(r);
  }

  /**
   * A system line ("Alice joined"); kind styles it: warning, error, end, progress. A line without
   * a time of its own shows the time it appears, and none when it is redrawn later.
   * @param {string} text @param {string} [kind] @param {Date|null} [time]
   */
  system(text, kind, time = null) {
    const progress = kind === 'progress';
    if (time && !progress) this.dayLine(time);
    const p = el('p', kind ? `wc-system wc-system--${kind}` : 'wc-system');
    p.append(el('span', 'wc-system-text', text));
    const shown = time || (this.live ? new Date() : null);
    if (shown && !progress) p.append(' ', timeElement(shown));
    if (!progress) this.lines.push({ time: shown || new Date(), text });
    return this.append(p);
  }

  /** A message bubble: `text` as text, or `html`, an agent's markup as the server's sanitiser
   * (webchat/relay/richtext.py, the trust boundary) left it, in a div (it may hold paragraphs
   * and lists). @param {BubbleOptions} opts @param {string} text @param {string} [html] */
  message(opts, text, html) {
    const p = el(html ? 'div' : 'p', 'wc-text');
    p.dir = 'auto'; // each message in its own direction (Arabic page, English message)
    if (html) p.innerHTML = html;
    else appendLinkified(p, text);
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
    const label = t(opts.own ? 'location.shared' : 'location.place'); // "My location" is the visitor's own
    const map = ev.url === undefined || ev.url === null || ev.url === ''
      ? place && `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}`
      : httpHref(ev.url);
    p.append(map ? link(map, label) : el('span', 'wc-place', place ? `${label}: ${lat}, ${lon}` : label));
    return this.bubble(opts, p, `${label}: ${ev.latitude}, ${ev.longitude}`);
  }

  /** A card, e.g. a form, between the messages; in `reserved` (see reserve) if given. */
  card(node, reserved) {
    if (reserved?.isConnected) {
      reserved.append(node);
      reserved.hidden = false;
      return reserved;
    }
    this.group = null;
    const box = el('div', 'wc-card');
    box.append(node);
    return this.append(box);
  }

  /** An empty, hidden card in the transcript's order now, for content that comes later (a form
   * whose code or markup is still loading), so later messages stay below it. */
  reserve() {
    this.group = null;
    const box = el('div', 'wc-card');
    box.hidden = true;
    return this.append(box);
  }

  scrollIfNear() {
    const r = this.root;
    if (r.scrollHeight - r.scrollTop - r.clientHeight < 400) this.scrollToEnd();
  }

  /**
   * One message, added to the sender's group when that is the last thing in the transcript and
   * its minute is this one's, else opening a new group (a pending message counts as now).
   * @param {BubbleOptions} opts @param {Node} content @param {string} plain
   */
  bubble({ id, own, from, name, avatar: photo, time, pending }, content, plain) {
    const when = time || new Date();
    this.dayLine(when);
    const sender = own ? '' : `${from || ''}\n${name}`;
    const minute = Math.floor(when.getTime() / 60000);
    let group = this.group;
    const fresh = !group || group.sender !== sender || group.minute !== minute || this.root.lastChild !== group.node;
    if (fresh) group = this.newGroup(own, sender, minute, name, photo, time);
    const row = el('div', `wc-msg ${own ? 'wc-msg--own' : 'wc-msg--agent'}${pending ? ' wc-msg--pending' : ''}`);
    const body = el('div', 'wc-bubble');
    // The group's head names the sender once on screen; later messages say it to screen readers.
    if (group.body.childElementCount > 1) body.append(el('span', 'wc-visually-hidden', `${name}: `));
    body.append(content, el('p', 'wc-note', pending ? t('msg.sending') : ''));
    row.append(body);
    row.group = group;
    const line = { time: when, who: name, text: plain };
    this.lines.push(line);
    if (own && id) { this.own.set(id, row); row.line = line; }
    if (fresh) {
      group.body.append(row);
      this.append(group.node);
    } else {
      const r = this.root;
      const atBottom = r.scrollHeight - r.scrollTop - r.clientHeight < 64;
      if (this.live) row.classList.add('wc-in');
      group.body.append(row);
      if (atBottom) this.scrollToEnd();
    }
    return row;
  }

  /** A group: the avatar (agents), and a head with the name and the time of its first message. */
  newGroup(own, sender, minute, name, photo, time) {
    const node = el('div', `wc-group ${own ? 'wc-group--own' : 'wc-group--agent'}`);
    const body = el('div', 'wc-group-body');
    const head = el('p', 'wc-meta');
    head.append(el('span', own ? 'wc-name wc-visually-hidden' : 'wc-name', name));
    if (time) head.append(' ', timeElement(time));
    body.append(head);
    if (!own) node.append(avatar(name, photo));
    node.append(body);
    this.group = { node, body, head, sender, minute };
    return this.group;
  }

  /** Settles one of the visitor's bubbles: sent (with the server's time) or failed (with a reason). */
  mark(id, sent, { time, reason } = {}) {
    const row = this.own.get(id);
    if (!row) return;
    row.classList.remove('wc-msg--pending', 'wc-msg--failed');
    if (!sent) row.classList.add('wc-msg--failed');
    row.querySelector('.wc-note').textContent = sent ? '' : reason ? `${t('msg.notSent')}: ${reason}` : t('msg.notSent');
    // The group's time is its first message's, as the server recorded it.
    const head = row.group && row.group.body.children[1] === row ? row.group.head : null;
    if (time && head && !head.querySelector('time')) head.append(' ', timeElement(time));
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
